"""The IPFS Pinning Service API v1.0.0: every endpoint, filters, pagination, auth, errors;
every response body is checked against the official OpenAPI schemas."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from did_helpers import seed
from test_api_files_support import DELEGATE, OWNER_SEED, Env, files_env

from qos_fs import client as fc
from qos_fs.times import format_time, parse_time
from qos_ipfs.cid import CID
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

SPEC_PATH = Path("/work/shared/specs/ipfs-pinning-service.yaml")
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
MISSING = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def check(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """A validator for the OpenAPI 3.0 subset the pinning spec uses (no library here)."""
    s = _resolve(schema)
    t = s.get("type")
    if t == "object":
        assert isinstance(value, dict), where
        for req in s.get("required", []):
            assert req in value, f"{where}: missing {req}"
        props = s.get("properties", {})
        for k, v in value.items():
            if k in props:
                check(v, props[k], f"{where}.{k}")
            elif "additionalProperties" in s:
                check(v, s["additionalProperties"], f"{where}.{k}")
    elif t == "array":
        assert isinstance(value, list), where
        assert len(value) >= s.get("minItems", 0), where
        assert len(value) <= s.get("maxItems", 10**9), where
        if s.get("uniqueItems"):
            assert len({json.dumps(v, sort_keys=True) for v in value}) == len(value), where
        for i, item in enumerate(value):
            check(item, s["items"], f"{where}[{i}]")
    elif t == "string":
        assert isinstance(value, str), where
        assert len(value) <= s.get("maxLength", 10**9), where
        if "enum" in s:
            assert value in s["enum"], where
        if s.get("format") == "date-time":
            assert _DATE_TIME.match(value), where
    elif t == "integer":
        assert isinstance(value, int), where
        assert value >= s.get("minimum", -(2**63)), where


def schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def failure(r: httpx.Response, status: int, reason: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    check(body, schema("Failure"))
    assert body["error"]["reason"] == reason


@pytest.fixture
async def env(tnode: TestNode, tmp_path: Path) -> AsyncIterator[Env]:
    async with files_env(tnode, tmp_path) as e:
        yield e


async def upload(env: Env, data: bytes, name: str = "") -> str:
    r = await env.client.post(f"/files?name={name}", content=data, headers=env.auth)
    assert r.status_code == 201, r.text
    cid: str = r.json()["cid"]
    return cid


async def add(env: Env, cid: str, **pin: Any) -> dict[str, Any]:
    r = await env.client.post("/pins", json={"cid": cid, **pin}, headers=env.auth)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    check(body, schema("PinStatus"))
    return body


async def test_add_get_replace_delete(env: Env) -> None:
    cid = await upload(env, b"hello pinning")
    st = await add(env, cid, name="hello.txt", meta={"app_id": "a1"}, origins=[DELEGATE])
    assert st["status"] == "pinned"
    assert st["pin"] == {"cid": cid, "name": "hello.txt", "meta": {"app_id": "a1"},
                         "origins": [DELEGATE]}  # fmt: skip
    assert st["delegates"] == [DELEGATE]
    assert st["info"]["raw_size"] == "13"
    rid = st["requestid"]
    r = await env.client.get(f"/pins/{rid}", headers=env.auth)
    assert r.status_code == 200
    check(r.json(), schema("PinStatus"))
    assert r.json() == st
    other = await upload(env, b"second version")
    r = await env.client.post(f"/pins/{rid}", json={"cid": other, "name": "v2"}, headers=env.auth)
    assert r.status_code == 202, r.text
    new = r.json()
    check(new, schema("PinStatus"))
    assert new["requestid"] != rid
    assert (new["pin"]["cid"], new["status"]) == (other, "pinned")
    assert (await env.client.get(f"/pins/{rid}", headers=env.auth)).status_code == 404
    r = await env.client.delete(f"/pins/{new['requestid']}", headers=env.auth)
    assert (r.status_code, r.content) == (202, b"")
    failure(await env.client.get(f"/pins/{new['requestid']}", headers=env.auth), 404, "NOT_FOUND")
    failure(await env.client.delete(f"/pins/{rid}", headers=env.auth), 404, "NOT_FOUND")
    failure(
        await env.client.post(f"/pins/{rid}", json={"cid": cid}, headers=env.auth), 404, "NOT_FOUND"
    )


async def test_missing_content_fails_with_details(env: Env) -> None:
    st = await add(env, MISSING)
    assert st["status"] == "failed"
    assert "not available" in st["info"]["status_details"]
    r = await env.client.get("/pins", params={"status": "failed"}, headers=env.auth)
    assert [p["requestid"] for p in r.json()["results"]] == [st["requestid"]]
    r = await env.client.get("/pins", headers=env.auth)  # default: pinned only
    assert r.json() == {"count": 0, "results": []}


async def test_auth_is_required_and_tokens_are_revocable(env: Env) -> None:
    failure(await env.client.get("/pins"), 401, "UNAUTHORIZED")
    r = await env.client.get("/pins", headers={"Authorization": "Bearer nope"})
    failure(r, 401, "UNAUTHORIZED")
    assert r.headers["www-authenticate"] == "Bearer"
    failure(await env.client.post("/pins", json={"cid": MISSING}), 401, "UNAUTHORIZED")
    failure(await env.client.get("/pins/x", headers={"Authorization": "Basic a"}), 401,
            "UNAUTHORIZED")  # fmt: skip
    second = await env.new_token(OWNER_SEED, env.did, label="laptop")
    hdr = {"Authorization": f"Bearer {second['token']}"}
    assert (await env.client.get("/pins", headers=hdr)).status_code == 200
    r = await env.client.get("/auth/tokens", headers=env.auth)
    assert [t["label"] for t in r.json()["tokens"]] == ["t", "laptop"] or len(
        r.json()["tokens"]
    ) == 2
    r = await env.client.delete(f"/auth/tokens/{second['id']}", headers=env.auth)
    assert r.status_code == 204
    failure(await env.client.get("/pins", headers=hdr), 401, "UNAUTHORIZED")
    assert (await env.client.get("/pins", headers=env.auth)).status_code == 200  # others live
    failure(
        await env.client.delete(f"/auth/tokens/{second['id']}", headers=env.auth), 404, "NOT_FOUND"
    )


async def test_token_requests_must_be_signed_fresh_and_single_use(env: Env) -> None:
    chain_id = env.tnode.chain_id
    now = format_time(time.time_ns())
    body = fc.token_request(chain_id, env.did, OWNER_SEED, label="x", issued=now)
    assert (await env.client.post("/auth/tokens", json=body)).status_code == 201
    failure(await env.client.post("/auth/tokens", json=body), 409, "TOKEN_REQUEST_REPLAYED")
    forged = fc.token_request(chain_id, env.did, seed(99), label="x", issued=now)
    failure(await env.client.post("/auth/tokens", json=forged), 401, "UNAUTHORIZED")
    stale = fc.token_request(
        chain_id, env.did, OWNER_SEED, label="x", issued=format_time(time.time_ns() - 10**12)
    )
    failure(await env.client.post("/auth/tokens", json=stale), 401, "UNAUTHORIZED")
    unknown = fc.token_request(chain_id, "did:qos:1111111111111111111111", OWNER_SEED,
                               label="x", issued=now)  # fmt: skip
    r = await env.client.post("/auth/tokens", json=unknown)
    assert r.status_code in (400, 401)
    failure(await env.client.post("/auth/tokens", content=b"{"), 400, "BAD_REQUEST")
    # a token belongs to its DID: another DID's token does not see these pins
    other_seed = seed(21)
    other = env.dids.create(other_seed, seed(22))
    tok = await env.new_token(other_seed, other)
    cid = await upload(env, b"mine")
    st = await add(env, cid)
    hdr = {"Authorization": f"Bearer {tok['token']}"}
    failure(await env.client.get(f"/pins/{st['requestid']}", headers=hdr), 404, "NOT_FOUND")
    failure(await env.client.delete(f"/pins/{st['requestid']}", headers=hdr), 404, "NOT_FOUND")
    assert (await env.client.get("/pins", headers=hdr)).json()["count"] == 0


async def test_bad_requests(env: Env) -> None:
    bad_bodies: list[Any] = [
        {"cid": "not-a-cid"}, {}, {"cid": 5}, {"cid": MISSING, "name": "x" * 256},
        {"cid": MISSING, "origins": "a"}, {"cid": MISSING, "meta": {"a": 1}},
        {"cid": MISSING, "origins": [1]}, [1],
    ]  # fmt: skip
    for body in bad_bodies:
        r = await env.client.post("/pins", json=body, headers=env.auth)
        failure(r, 400, "BAD_REQUEST")
    r = await env.client.post("/pins", content=b"{nope", headers=env.auth)
    failure(r, 400, "BAD_REQUEST")
    for params in (
        {"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"status": "done"},
        {"match": "fuzzy"}, {"before": "yesterday"}, {"cid": "zzz"},
        {"cid": ",".join([MISSING] * 11)}, {"meta": "[1]"}, {"meta": "{"},
        {"name": "n" * 256},
    ):  # fmt: skip
        r = await env.client.get("/pins", params=params, headers=env.auth)
        failure(r, 400, "BAD_REQUEST")


async def test_filters_and_pagination(env: Env) -> None:
    made = []
    for i in range(12):
        cid = await upload(env, f"file {i}".encode())
        name = f"Report-{i}.PDF" if i % 2 else f"photo-{i}.jpg"
        made.append(await add(env, cid, name=name, meta={"app_id": "A" if i < 6 else "B"}))
    made.reverse()  # newest first
    auth = env.auth

    async def ls(**params: Any) -> dict[str, Any]:
        r = await env.client.get("/pins", params=params, headers=auth)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        check(body, schema("PinResults"))
        return body

    # uploads are pins too (12), plus the 12 pin requests
    first = await ls()
    assert (first["count"], len(first["results"])) == (24, 10)
    created = [parse_time(p["created"]) for p in first["results"]]
    assert created == sorted(created, reverse=True)
    # page with `before` until everything was read
    seen, before = [], None
    while True:
        page = await ls(limit=7, **({"before": before} if before else {}))
        seen += page["results"]
        if len(page["results"]) < 7:
            break
        before = page["results"][-1]["created"]
    assert len({p["requestid"] for p in seen}) == 24
    after = await ls(after=made[3]["created"], limit=1000)
    assert after["count"] == 6  # the last three uploads and their three pin requests
    assert {m["requestid"] for m in made[:3]} <= {p["requestid"] for p in after["results"]}
    assert (await ls(name="report-1.pdf"))["count"] == 0
    assert (await ls(name="report-1.pdf", match="iexact"))["count"] == 1
    assert (await ls(name="Report", match="partial"))["count"] == 6
    assert (await ls(name="report", match="ipartial"))["count"] == 6
    assert (await ls(name="Report-1.PDF", match="exact"))["count"] == 1
    assert (await ls(meta=json.dumps({"app_id": "B"})))["count"] == 6
    assert (await ls(meta=json.dumps({"app_id": "B"}), name="photo", match="partial"))["count"] == 3
    two = [made[0]["pin"]["cid"], made[1]["pin"]["cid"]]
    by_cid = await ls(cid=",".join(two))
    assert by_cid["count"] == 4  # each CID: its upload pin and its pin request
    as_v1 = str(CID.parse(two[0]).v1())
    assert (await ls(cid=as_v1))["count"] == 0  # CIDs compare as bytes
    assert (await ls(status="queued,pinning"))["count"] == 0
    assert (await ls(status="pinned,failed", limit=1000))["count"] == 24


async def test_json_shapes_match_what_kubo_sends(env: Env) -> None:
    """Kubo's client (go-pinning-service-http-client) sends exactly these shapes."""
    cid = await upload(env, b"kubo")
    r = await env.client.post(
        "/pins",
        content=json.dumps({"cid": cid, "name": "k", "origins": [], "meta": {}}),
        headers={**env.auth, "Content-Type": "application/json", "Accept": "application/json"},
    )
    assert r.status_code == 202
    assert r.headers["content-type"].startswith("application/json")
    status = r.json()
    r = await env.client.get(
        "/pins",
        params={"cid": cid, "status": "queued,pinning,pinned,failed", "limit": "1000"},
        headers=env.auth,
    )
    assert status["requestid"] in [p["requestid"] for p in r.json()["results"]]
    before = format_time(parse_time(status["created"]))
    r = await env.client.get("/pins", params={"before": before}, headers=env.auth)
    assert status["requestid"] not in [p["requestid"] for p in r.json()["results"]]
