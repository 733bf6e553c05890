"""Kubo's ``ipfs pin remote ...`` against a QOS node, replayed request for request.

No Kubo binary can be run on these machines, so this module re-enacts, in Python, the HTTP
requests Kubo's remote pinning client sends and the rules by which it decodes the answers,
and runs them in-process against the node's app. The Go code replayed (read from the stored
copies of the public repositories; file@commit):

* ``ipfs/kubo`` ``core/commands/pin/remotepin.go`` @ 25cb30078847a1613e2a40b49fe4d850d6766d5d
  (the commands: ``service add`` only normalises and stores the endpoint, no request;
  ``service ls --stat``; ``pin remote add`` with its status polling; ``ls``; ``rm``)
* ``ipfs/boxo`` ``pinning/remote/client/client.go`` @ 0808fbee9557c74c223071e37318ddbd8ac8e959
  (``Ls`` pagination, ``LsBatchSync``, ``Add``, ``GetStatusByID``, ``DeleteByID``; the
  ``User-Agent`` and the ``Authorization: Bearer`` default header; CIDs re-encoded base32)
* ``ipfs/boxo`` ``pinning/remote/client/openapi/api_pins.go`` @ 0808fbee...,
  ``openapi/client.go`` @ 04642ac317100a9e38710b48db50af2535b5e8ce (query encoding:
  ``url.Values.Encode``, lists as csv, times as ``time.RFC3339Nano``; JSON bodies by
  ``json.Encoder`` with a trailing newline; a body is decoded only when ``Content-Type``
  matches ``jsonCheck``; every status >= 300 is an error, a ``Failure`` decoded for 4xx/5xx)
* ``ipfs/boxo`` ``openapi/model_pin_status.go`` @ 514bc914d5777808b9b0167d363efcd1eda616d6,
  ``model_pin.go``, ``model_status.go`` @ 0808fbee..., ``model_pin_results.go`` @
  04642ac3..., ``pinning/remote/client/model.go`` @ 259c3593ffaa69c2bb7fb90389c2fac69772b0d9
  (plain ``json.Unmarshal``; ``status`` must be one of the four; ``created`` a Go
  ``time.Time``, i.e. strict RFC 3339; invalid ``delegates`` multiaddrs are dropped, and
  Kubo's ``pin remote add`` fails on a valid one that does not end in ``/p2p/<peer id>``)

The older ``ipfs/go-pinning-service-http-client``, which Kubo used before boxo, builds the
same requests (``client.go`` @ 07429f4cfe978532417e29a3a46d11e45abb07c5; its
``openapi/client.go`` @ 30439d833612e573c0a70e5c5dce35a583f247b3 also sends times as
RFC3339Nano). Running the real Kubo remains to be done where a binary exists (the command
sequence is in docs/files.md).
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import anyio
import httpx
import multiaddr
import pytest
from test_api_files_support import Env, files_env

from qos_ipfs.cid import CID
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

USER_AGENT = "go-pinning-service-http-client"  # boxo client.go: const UserAgent
PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"  # a valid libp2p peer id
KUBO_PEER = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK"
QOS_DELEGATE = f"/ip4/203.0.113.1/tcp/4001/p2p/{PEER}"
KUBO_ORIGINS = [f"/ip4/198.51.100.7/tcp/4001/p2p/{KUBO_PEER}", f"/ip6/::1/tcp/4001/p2p/{KUBO_PEER}"]
MISSING = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco"
STATUSES = ("queued", "pinning", "pinned", "failed")

# openapi/client.go
JSON_CHECK = re.compile(r"(?i:(?:application|text)/(?:vnd\.[^;]+\+)?json)")
# what Go's time.Time.UnmarshalJSON accepts (strict RFC 3339, Go >= 1.20)
GO_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|([+-])(\d\d):(\d\d))$"
)


class KuboError(Exception):
    """An error the ``ipfs`` command would print (the command fails)."""


# --------------------------------------------------------------------------- Go encoders


def go_query(params: dict[str, str]) -> str:
    """``url.Values.Encode``: keys sorted, ``url.QueryEscape`` (space as +, `,:` escaped)."""
    return "&".join(f"{quote_plus(k)}={quote_plus(params[k])}" for k in sorted(params))


def go_json(obj: dict[str, Any]) -> bytes:
    """``json.NewEncoder(buf).Encode(map)``: keys sorted, compact, HTML-escaped, newline."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text.encode() + b"\n"


def go_parse_time(text: object) -> int:
    """Nanoseconds of a JSON ``time.Time``; ``AssertionError`` where Go's decoding fails."""
    assert isinstance(text, str), f"created is not a JSON string: {text!r}"
    m = GO_RFC3339.match(text)
    assert m, f"Go's time.Time cannot parse {text!r}"
    y, mo, d, h, mi, s, frac, zone, sign, zh, zm = m.groups()
    datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))  # ranges, as Go checks them
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    if zone != "Z":
        assert int(zh) < 24, text
        assert int(zm) < 60, text
        secs -= (1 if sign == "+" else -1) * (int(zh) * 3600 + int(zm) * 60)
    return secs * 10**9 + int((frac or "")[:9].ljust(9, "0"))


def go_rfc3339nano(ns: int) -> str:
    """``t.Format(time.RFC3339Nano)`` of a UTC time: trailing zeros of the fraction cut."""
    secs, frac = divmod(ns, 10**9)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}{f'.{frac:09d}'.rstrip('0') if frac else ''}Z"


# --------------------------------------------------------------------------- Go decoders


@dataclass(frozen=True)
class GoPinStatus:
    requestid: str
    status: str
    created_ns: int
    cid: str
    name: str
    origins: list[str]
    meta: dict[str, str]
    delegates: list[str]
    info: dict[str, str]


def _str_map(value: object, what: str) -> dict[str, str]:
    assert value is None or (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    ), f"{what} does not decode into map[string]string: {value!r}"
    return dict(value or {})


def decode_pin_status(obj: object) -> GoPinStatus:
    """``json.Unmarshal`` into ``openapi.PinStatus``: Go fails on a wrong type, a ``status``
    outside the enum, or a ``created`` it cannot parse. A missing field would decode as its
    zero value (no Go error) but break Kubo (zero ``created`` pages from year 1), so the
    spec's required fields are asserted present too."""
    assert isinstance(obj, dict), obj
    for key in ("requestid", "status", "created", "pin", "delegates"):
        assert key in obj, f"PinStatus without {key!r}"
    assert isinstance(obj["requestid"], str), obj
    assert obj["requestid"], obj
    assert obj["status"] in STATUSES, f"{obj['status']!r} is not a valid Status"
    created = go_parse_time(obj["created"])
    pin = obj["pin"]
    assert isinstance(pin, dict), obj
    assert isinstance(pin.get("cid"), str), pin
    CID.parse(pin["cid"])  # Kubo prints cid.Parse(pin.cid); cid.Undef if that fails
    name = pin.get("name")
    assert name is None or isinstance(name, str), pin
    origins = pin.get("origins")
    assert origins is None or (
        isinstance(origins, list) and all(isinstance(o, str) for o in origins)
    ), pin
    delegates = obj["delegates"]
    assert isinstance(delegates, list), obj
    assert all(isinstance(d, str) for d in delegates), obj
    return GoPinStatus(
        obj["requestid"], obj["status"], created, pin["cid"], name or "", list(origins or []),
        _str_map(pin.get("meta"), "pin.meta"), delegates, _str_map(obj.get("info"), "info"),
    )  # fmt: skip


def go_body(r: httpx.Response) -> object:
    """The client's ``decode``: a non-empty body only decodes under a JSON content type."""
    assert r.content, f"{r.request.method} {r.request.url}: empty body"
    ctype = r.headers.get("content-type", "")
    assert JSON_CHECK.search(ctype), f"undefined response type {ctype!r}"
    return json.loads(r.content)


def p2p_delegates(ps: GoPinStatus) -> list[str]:
    """Kubo's ``pin remote add`` on ``ps.GetDelegates()``: ``multiaddr.NewMultiaddr`` drops
    invalid ones (logged), then ``peer.AddrInfoFromP2pAddr`` must find a trailing
    ``/p2p/<peer id>`` on every remaining one, or the command fails."""
    kept = []
    for d in ps.delegates:
        try:
            ma = multiaddr.Multiaddr(d)
        except Exception:  # go-multiaddr: logged and skipped
            continue
        last = ma.protocols()[-1].name
        if last not in ("p2p", "ipfs"):
            raise KuboError(f"delegate {d} does not end in /p2p/<peer id>: invalid p2p addr")
        kept.append(d)
    return kept


# --------------------------------------------------------------------------- the client


@dataclass
class Sent:
    method: str
    target: str  # path and raw query, as on the wire
    headers: dict[str, str]
    body: bytes


@dataclass
class GoPinClient:
    """boxo's ``pinning/remote/client.Client`` (``NewClient(endpoint, key)``) over httpx."""

    http: httpx.AsyncClient
    endpoint: str  # normalised, without /pins
    key: str
    sent: list[Sent] = field(default_factory=list)

    async def _do(self, method: str, path: str, query: str = "", pin: Any = None) -> httpx.Response:
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {self.key}",
            "Accept-Encoding": "gzip",  # added by Go's transport
        }
        body = b""
        if pin is not None:
            headers["Content-Type"] = "application/json"
            body = go_json(pin)
        url = self.endpoint + path + (f"?{query}" if query else "")
        req = self.http.build_request(method, url, headers=headers, content=body or None)
        del req.headers["connection"]  # httpx's; Go's HTTP/1.1 client sends none
        expected = {"host", "accept", "user-agent", "authorization", "accept-encoding"}
        if pin is not None:
            expected |= {"content-type", "content-length"}
        assert set(req.headers.keys()) == expected, req.headers
        target = req.url.raw_path.decode()
        self.sent.append(Sent(method, target, dict(req.headers), body))
        return await self.http.send(req)

    @staticmethod
    def _check(r: httpx.Response) -> None:
        """``StatusCode >= 300`` is an error; 4xx/5xx bodies decode as ``Failure``."""
        if r.status_code < 300:
            return
        body = go_body(r)
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), dict), body
        err = body["error"]
        assert isinstance(err.get("reason"), str), body
        assert isinstance(err.get("details", ""), str), body
        details = err.get("details", "")
        raise KuboError(f"reason: {err['reason']!r}, details: {details!r}: {r.status_code}")

    async def add(self, cid: str, name: str = "", origins: list[str] | None = None) -> GoPinStatus:
        pin: dict[str, Any] = {"cid": cid}  # cid.Encode(base32): a v0 CID stays Qm...
        if origins:
            pin["origins"] = origins
        if name:
            pin["name"] = name
        r = await self._do("POST", "/pins", pin=pin)
        self._check(r)
        return decode_pin_status(go_body(r))

    async def get_status_by_id(self, rid: str) -> GoPinStatus:
        r = await self._do("GET", f"/pins/{rid}")
        self._check(r)
        return decode_pin_status(go_body(r))

    async def delete_by_id(self, rid: str) -> httpx.Response:
        r = await self._do("DELETE", f"/pins/{rid}")
        self._check(r)
        return r

    async def _ls_internal(
        self, cids: list[str], name: str, statuses: list[str], before: int | None, limit: int
    ) -> tuple[int, list[GoPinStatus]]:
        q: dict[str, str] = {"limit": str(limit)}
        if cids:
            q["cid"] = ",".join(cids)  # parameterToString(slice, "csv")
        if statuses:
            q["status"] = ",".join(statuses)
        if name:
            q["name"] = name
        if before is not None:
            q["before"] = go_rfc3339nano(before)
        r = await self._do("GET", "/pins", go_query(q))
        self._check(r)
        body = go_body(r)
        assert isinstance(body, dict), body
        assert isinstance(body.get("count"), int), body
        assert 0 <= body["count"] < 2**31, body  # int32
        assert isinstance(body.get("results"), list), body
        return body["count"], [decode_pin_status(p) for p in body["results"]]

    async def ls(
        self, cids: list[str], name: str, statuses: list[str], max_pages: int = 100
    ) -> list[GoPinStatus]:
        """``Client.Ls``: pages of ``defaultLimit`` 10 until ``count == len(results)``, the
        next page ``before`` the oldest ``created`` of the last one."""
        out: list[GoPinStatus] = []
        before: int | None = None
        for _ in range(max_pages):
            count, results = await self._ls_internal(cids, name, statuses, before, 10)
            out += results
            if count == len(results):
                return out
            if not results:
                raise KuboError(f"invalid pinning service response: PinResults.count={count}")
            before = results[-1].created_ns
        raise AssertionError(f"Ls did not end within {max_pages} pages")

    async def ls_batch_sync(self, statuses: list[str], limit: int) -> tuple[list[GoPinStatus], int]:
        count, results = await self._ls_internal([], "", statuses, None, limit)
        return results, count


# --------------------------------------------------------------------------- the commands


def normalize_endpoint(endpoint: str) -> str:
    """remotepin.go ``normalizeEndpoint`` (``service add`` stores this; no request is sent)."""
    m = re.match(r"^(https?)://([^/?#]+)([^?#]*)(\?[^#]*)?$", endpoint)
    if m is None:
        raise KuboError("service endpoint must be a valid HTTP URL")
    scheme, host, path, query = m.groups()
    parts: list[str] = []
    for seg in path.split("/"):  # path.Clean, then trailing "." and "/" trimmed
        if seg in ("", "."):
            continue
        if seg == "..":
            parts = parts[:-1]
            continue
        parts.append(seg)
    clean = "/" + "/".join(parts) if parts else ""
    if query:
        raise KuboError("service endpoint should be provided without any query parameters")
    if clean.endswith("/pins"):
        raise KuboError("service endpoint should be provided without the /pins suffix")
    return f"{scheme}://{host}{clean}"


@dataclass
class Kubo:
    """The ``ipfs pin remote`` commands, one configured service."""

    client: GoPinClient

    async def service_ls_stat(self) -> str:
        """``ipfs pin remote service ls --stat``: four ``LsBatchSync(Limit(1), status)``
        run concurrently (errgroup); ``queued/pinning/pinned/failed`` or ``invalid``."""
        counts: dict[str, int] = {}
        errors: list[KuboError] = []

        async def one(status: str) -> None:
            try:
                counts[status] = (await self.client.ls_batch_sync([status], 1))[1]
            except KuboError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for s in STATUSES:
                tg.start_soon(one, s)
        if errors:
            return "invalid"
        return "/".join(str(counts[s]) for s in STATUSES)

    async def add(
        self, cid: str, name: str = "", origins: list[str] | None = None, background: bool = False
    ) -> dict[str, str]:
        """``ipfs pin remote add --service=S [--name=N] [--background] CID``."""
        ps = await self.client.add(cid, name, origins)
        p2p_delegates(ps)  # Kubo dials them (best effort) but fails on a non-/p2p/ one
        if not background:
            rid = ps.requestid
            for _ in range(10):  # Kubo waits 500 ms between polls; our answers are final
                ps = await self.client.get_status_by_id(rid)
                if ps.requestid != rid:
                    raise KuboError(f"remote service sent unexpected requestid={ps.requestid!r}")
                if ps.status == "pinned":
                    break
                if ps.status == "failed":
                    raise KuboError(f"remote service failed to pin requestid={rid!r}")
            else:
                raise AssertionError(f"{rid} still {ps.status} after 10 polls")
        return {"Cid": ps.cid, "Name": ps.name, "Status": ps.status}

    async def ls(
        self, cids: list[str] | None = None, name: str = "", status: tuple[str, ...] = ("pinned",)
    ) -> list[GoPinStatus]:
        """``ipfs pin remote ls`` (``--status`` defaults to ``pinned``; ``--cid`` values are
        re-encoded base32, which leaves CIDv0 as it is)."""
        return await self.client.ls([b32(c) for c in cids or ()], name, list(status))

    async def rm(
        self,
        cids: list[str] | None = None,
        name: str = "",
        status: tuple[str, ...] = ("pinned",),
        force: bool = False,
    ) -> list[str]:
        """``ipfs pin remote rm``: ``ls`` with the same filters, then ``DELETE`` each."""
        ids = [p.requestid for p in await self.ls(cids, name, status)]
        if len(ids) > 1 and not force:
            raise KuboError("multiple remote pins are matching this query, add --force")
        for rid in ids:
            r = await self.client.delete_by_id(rid)
            assert (r.status_code, r.content) == (202, b""), r
        return ids


def b32(cid: str) -> str:
    c = CID.parse(cid)
    return str(c) if c.version == 0 else str(c.v1())


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def env(tnode: TestNode, tmp_path: Path) -> AsyncIterator[Env]:
    async with files_env(tnode, tmp_path) as e:
        e.svc.delegates = (QOS_DELEGATE,)
        yield e


def kubo(env: Env, endpoint: str = "http://qos.test", key: str | None = None) -> Kubo:
    return Kubo(GoPinClient(env.client, normalize_endpoint(endpoint), key or env.token))


async def upload(env: Env, data: bytes) -> str:
    r = await env.client.post("/files", content=data, headers=env.auth)
    assert r.status_code == 201, r.text
    cid: str = r.json()["cid"]
    return cid


# --------------------------------------------------------------------------- tests


def test_service_add_stores_a_normalised_endpoint() -> None:
    assert normalize_endpoint("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert normalize_endpoint("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert normalize_endpoint("https://qos.example//api/./") == "https://qos.example/api"
    for bad in ("http://127.0.0.1:8000/pins", "http://h/pins/", "http://h?x=1", "ftp://h"):
        with pytest.raises(KuboError):
            normalize_endpoint(bad)


async def test_service_ls_stat_counts_each_status(env: Env) -> None:
    k = kubo(env, "http://qos.test/")
    assert await k.service_ls_stat() == "0/0/0/0"
    assert sorted(s.target for s in k.client.sent) == [
        f"/pins?limit=1&status={s}" for s in sorted(STATUSES)
    ]
    for i in range(3):
        await k.add(await upload(env, f"stat {i}".encode()), background=True)
    await k.add(MISSING, background=True)
    # the three uploads are pinned too (they are the owner's pins)
    assert await k.service_ls_stat() == "0/0/6/1"
    assert await kubo(env, key="not-a-token").service_ls_stat() == "invalid"


async def test_pin_remote_add_sends_the_pin_and_polls_until_pinned(env: Env) -> None:
    cid = await upload(env, b"kubo pins this")
    k = kubo(env)
    out = await k.add(cid, name="report 1 <draft>.pdf", origins=KUBO_ORIGINS)
    assert out == {"Cid": cid, "Name": "report 1 <draft>.pdf", "Status": "pinned"}
    post, poll = k.client.sent
    assert (post.method, post.target) == ("POST", "/pins")
    origins = json.dumps(KUBO_ORIGINS, separators=(",", ":"))
    name = "report 1 \\u003cdraft\\u003e.pdf"
    assert post.body == f'{{"cid":"{cid}","name":"{name}","origins":{origins}}}\n'.encode()
    assert post.headers["content-type"] == "application/json"
    assert post.headers["authorization"] == f"Bearer {env.token}"
    assert post.headers["user-agent"] == USER_AGENT
    assert poll.method == "GET"
    assert poll.target.startswith("/pins/")
    # the stored pin is what Kubo sent, delegates dialable by Kubo
    st = await k.client.get_status_by_id(poll.target.removeprefix("/pins/"))
    assert (st.name, st.origins, st.meta) == ("report 1 <draft>.pdf", KUBO_ORIGINS, {})
    assert p2p_delegates(st) == [QOS_DELEGATE]
    assert st.info["raw_size"] == "14"
    # `ls --name`: QueryEscape turns the space into "+"
    k.client.sent.clear()
    assert [p.requestid for p in await k.ls(name="report 1 <draft>.pdf")] == [st.requestid]
    assert k.client.sent[0].target == "/pins?limit=10&name=report+1+%3Cdraft%3E.pdf&status=pinned"


def kubo_node_addrs(n: int) -> list[str]:
    """``peer.AddrInfoToP2pAddrs(host.InfoFromHost(node.PeerHost))`` of a Kubo node on a
    few interfaces: every listen address (tcp, quic-v1, webtransport, webrtc-direct, v4 and
    v6), each with ``/p2p/<peer id>``; a node commonly has more than 20."""
    kinds = ["tcp/4001", "udp/4001/quic-v1", "udp/4001/quic-v1/webtransport",
             "udp/4001/webrtc-direct"]  # fmt: skip
    hosts = [f"/ip4/10.0.{i}.7" for i in range(n)] + [f"/ip6/fd00::{i:x}" for i in range(n)]
    return [f"{h}/{k}/p2p/{KUBO_PEER}" for h in hosts for k in kinds][:n]


async def test_pin_remote_add_with_all_of_the_kubo_nodes_addresses(env: Env) -> None:
    """Kubo puts all its node's multiaddrs in ``origins`` when it has the CID (spec PR
    ipfs/pinning-services-api-spec#78: "pin remote add from go-ipfs will put all multiaddrs
    of the local node"), often more than the spec's 20, sometimes repeated: the node keeps
    the first 20 distinct ones as hints instead of refusing the pin."""
    cid = await upload(env, b"many origins")
    addrs = kubo_node_addrs(34)
    k = kubo(env)
    out = await k.add(cid, origins=addrs + addrs[:3])
    assert out["Status"] == "pinned"
    st = (await k.ls(cids=[cid]))[0]
    assert st.origins == addrs[:20]


async def test_pin_remote_add_of_a_cidv1_and_in_background(env: Env) -> None:
    v0 = await upload(env, b"version one")
    v1 = str(CID.parse(v0).v1())  # `ipfs add --cid-version=1` style; Kubo sends it as is
    k = kubo(env)
    assert (await k.add(v1))["Status"] == "pinned"
    out = await k.add(v0, background=True)
    assert out["Status"] == "pinned"  # the node answers POST /pins when the pin is done
    assert len(k.client.sent) == 3  # POST, GET (poll), POST


async def test_pin_remote_add_of_missing_content_fails_as_kubo_reports_it(env: Env) -> None:
    k = kubo(env)
    with pytest.raises(KuboError, match="remote service failed to pin"):
        await k.add(MISSING, name="gone")
    failed = await k.ls(status=("failed",))
    assert [(p.cid, p.name) for p in failed] == [(MISSING, "gone")]
    assert "not available" in failed[0].info["status_details"]


async def test_pin_remote_ls_pages_with_before_until_complete(env: Env) -> None:
    k = kubo(env)
    made = []
    for i in range(23):  # 23 uploads + 23 pin requests: 46 pinned pins, five pages of 10
        cid = await upload(env, f"page {i}".encode())
        made.append((await k.add(cid, name=f"n{i % 4}", background=True))["Cid"])
    k.client.sent.clear()
    everything = await k.ls()
    assert len(everything) == 46
    assert len({p.requestid for p in everything}) == 46
    created = [p.created_ns for p in everything]
    assert created == sorted(created, reverse=True)
    targets = [s.target for s in k.client.sent]
    assert targets[0] == "/pins?limit=10&status=pinned"
    assert len(targets) == 5
    for t, page_start in zip(targets[1:], range(10, 46, 10), strict=True):
        oldest = everything[page_start - 1].created_ns
        before = quote_plus(go_rfc3339nano(oldest))
        assert t == f"/pins?before={before}&limit=10&status=pinned"
    # a whole number of pages ends on count == len(results), not on an empty page
    k.client.sent.clear()
    assert len(await k.ls(name="n1")) == 6  # n1: i = 1, 5, ..., 21 (pin requests only)
    assert [s.target for s in k.client.sent] == ["/pins?limit=10&name=n1&status=pinned"]
    k.client.sent.clear()
    many = await k.ls(name="n0", status=STATUSES)
    assert (len(many), len(k.client.sent)) == (6, 1)
    assert k.client.sent[0].target == (
        "/pins?limit=10&name=n0&status=queued%2Cpinning%2Cpinned%2Cfailed"
    )
    # --cid: comma-separated, each CID once per pin request and once for its upload
    k.client.sent.clear()
    by_cid = await k.ls(cids=made[:2])
    assert sorted(p.cid for p in by_cid) == sorted(made[:2] * 2)
    assert k.client.sent[0].target == f"/pins?cid={made[0]}%2C{made[1]}&limit=10&status=pinned"
    # no match: count 0, results [] ends at once
    k.client.sent.clear()
    assert await k.ls(cids=[MISSING]) == []
    assert len(k.client.sent) == 1


async def test_pagination_within_one_second(tnode: TestNode, tmp_path: Path) -> None:
    """``before`` travels as RFC3339Nano (the fraction without its trailing zeros, none at
    all on a whole second): with the node's clock stopped on a whole second, creation times
    are 1 ns apart, and every page still follows the last."""
    second = 1_800_000_000 * 10**9
    async with files_env(tnode, tmp_path, clock=lambda: second) as e:
        e.svc.delegates = (QOS_DELEGATE,)
        k = kubo(e)
        cid = await upload(e, b"same second")
        for _ in range(14):
            await k.add(cid, background=True)
        got = await k.ls(cids=[cid])
    assert [p.created_ns - second for p in got] == list(range(14, -1, -1))  # 0: no fraction
    assert len({p.requestid for p in got}) == 15
    assert [s.target for s in k.client.sent[14:]] == [
        f"/pins?cid={cid}&limit=10&status=pinned",
        f"/pins?before=2027-01-15T08%3A00%3A00.000000005Z&cid={cid}&limit=10&status=pinned",
    ]


async def test_pin_remote_rm(env: Env) -> None:
    k = kubo(env)
    one = await upload(env, b"remove me")
    two = await upload(env, b"and me")
    await k.add(one, name="doc")
    k.client.sent.clear()
    with pytest.raises(KuboError, match="add --force"):  # the upload and the request
        await k.rm(cids=[one])
    assert [s.method for s in k.client.sent] == ["GET"]
    removed = await k.rm(cids=[one], force=True)
    assert len(removed) == 2
    assert [s.method for s in k.client.sent[1:]] == ["GET", "DELETE", "DELETE"]
    assert k.client.sent[-1].target == f"/pins/{removed[-1]}"
    assert await k.ls(cids=[one], status=STATUSES) == []
    assert len(await k.rm(cids=[two])) == 1  # a single match needs no --force
    with pytest.raises(KuboError, match="NOT_FOUND"):
        await k.client.delete_by_id(removed[0])


async def test_kubo_sees_failures_with_reason_and_details(env: Env) -> None:
    bad = kubo(env, key="wrong")
    with pytest.raises(KuboError, match="UNAUTHORIZED"):
        await bad.ls()
    with pytest.raises(KuboError, match="UNAUTHORIZED"):
        await bad.add(MISSING)
    with pytest.raises(KuboError, match="BAD_REQUEST"):
        await kubo(env).ls(cids=[MISSING] * 11)  # the spec's maxItems 10; Kubo sends them all


async def test_delegates_are_p2p_multiaddrs_kubo_can_dial(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delegate without ``/p2p/<peer id>`` would make ``pin remote add`` fail after the pin
    was made; the node leaves such configured delegates out, then falls back to its own
    ``/p2p/<peer id>``."""
    cid = await upload(env, b"delegates")
    k = kubo(env)
    env.svc.delegates = ("/ip4/203.0.113.2/tcp/4001", QOS_DELEGATE, "/dns4/qos.example/tcp/4001")
    st = await k.client.add(cid)
    assert p2p_delegates(st) == st.delegates == [QOS_DELEGATE]
    env.svc.delegates = ("/ip4/203.0.113.2/tcp/4001",)
    monkeypatch.setattr(env.port, "_node_id", PEER)
    st = await k.client.add(cid)
    assert p2p_delegates(st) == st.delegates == [f"/p2p/{PEER}"]
