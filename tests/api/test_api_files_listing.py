"""GraphQL ``pins(...)`` over many on-chain records and local pins of several owners: a name
filter (with or without an owner) returns every match, on chain (through the name indexes)
and local; following cursors through any filter and page size gives each match exactly
once, on-chain records first in key order then local pins newest first. REST ``GET /pins``
counts are exact after pin, unpin and status changes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import data
from did_helpers import seed
from test_api_files_support import OWNER_SEED, Env, files_env

from qos_fs import client as fc
from qos_fs.service import LocalPin
from qos_ipfs.cid import CID
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

PINS = """query($owner: String, $status: PinState, $name: String, $first: Int,
  $after: String) {
  pins(owner: $owner, status: $status, name: $name, first: $first, after: $after) {
    edges { cursor node { id source owner cid name status } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NAMES = ["a.txt", "b.txt", "a", ""]  # "" is no name (not in the name indexes)
PER_OWNER = 9
STORED = b"stored on this node"  # its on-chain pins end PINNED, the others FAILED


@pytest.fixture
async def env(tnode: TestNode, tmp_path: Path) -> AsyncIterator[Env]:
    async with files_env(tnode, tmp_path) as e:
        yield e


def chain_cid(o: int, j: int) -> CID:
    return CID.hash(f"chain:{o}:{j}".encode())


async def populate(env: Env) -> tuple[list[str], CID, list[LocalPin]]:
    """Three owners, each with PER_OWNER on-chain records (names cycling through NAMES and
    "") and as many local pins; one on-chain CID per owner is stored here."""
    seeds = [OWNER_SEED, seed(21), seed(23)]
    owners = [env.did, env.dids.create(seeds[1], seed(22)), env.dids.create(seeds[2], seed(24))]
    stored = env.svc.add(io.BytesIO(STORED), env.did, name="upload").cid
    sender_nonce = env.dids.nonce
    for o, (did, s) in enumerate(zip(owners, seeds, strict=True)):
        cids = [stored if j == 4 else chain_cid(o, j) for j in range(PER_OWNER)]
        msgs = [
            fc.pin_msg(env.tnode.chain_id, did, j, c, s, name=NAMES[(o + j) % 4])
            for j, c in enumerate(cids)
        ]
        raw = fc.wrap_in_tx(env.tnode.chain_id, env.dids.sender, sender_nonce, msgs)
        sender_nonce += 1
        env.tnode.node.submit_tx(raw, env.tnode.now())
        applied = env.tnode.produce()
        assert all(r.ok for r in applied.result.tx_results), applied.result.tx_results
    env.dids.nonce = sender_nonce
    env.port.files_idle()
    local = []
    for o, did in enumerate(owners):
        for j in range(PER_OWNER):
            c = str(CID.hash(f"local:{o}:{j}".encode()))
            p = env.svc.request_pin(did, c, name=NAMES[(o + 2 * j) % 4])
            if j % 3 == 0:
                p = env.svc.process(did, p.requestid)  # content missing: failed
            local.append(p)
    return owners, stored, local


async def follow(env: Env, first: int, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(200):
        d = await data(env.client, PINS, {**variables, "first": first, "after": after})
        page = d["pins"]
        assert len(page["edges"]) <= first
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the listing did not end")


async def expected(env: Env, owners: list[str], **f: Any) -> list[tuple[str, str, str]]:
    """(source, owner, cid) of every match, in listing order, from an unfiltered walk."""
    every = await follow(env, 100)
    return [
        (n["source"], n["owner"], n["cid"])
        for n in every
        if (f.get("owner") is None or n["owner"] == f["owner"])
        and (f.get("name") is None or n["name"] == f["name"])
        and (f.get("status") is None or n["status"] == f["status"])
    ]


async def test_name_filters_return_every_match_once_across_pages(env: Env) -> None:
    owners, _, local = await populate(env)
    every = await follow(env, 100)
    assert len(every) == 3 * PER_OWNER * 2 + 1  # + the upload
    chain = [(n["owner"], CID.parse(n["cid"]).to_bytes().hex()) for n in every[: 3 * PER_OWNER]]
    assert chain == sorted(chain)  # on-chain records first, in record key order
    assert all(n["source"] == "LOCAL" for n in every[3 * PER_OWNER :])
    newest_first = [p.requestid for p in reversed(local)]
    assert [n["id"] for n in every[3 * PER_OWNER :]][: len(local)] == newest_first
    cases: list[dict[str, Any]] = [
        {"name": "a.txt"},
        {"name": "b.txt"},
        {"name": "a"},
        {"name": ""},
        {"name": "nothing"},
        {"owner": owners[1], "name": "a.txt"},
        {"owner": owners[0], "name": "a"},
        {"owner": owners[2]},
        {"status": "PINNED"},
        {"status": "FAILED", "name": "b.txt"},
        {"owner": owners[0], "status": "QUEUED"},
    ]
    for f in cases:
        want = await expected(env, owners, **f)
        assert want or f.get("name") == "nothing", f
        if "name" in f and f["name"] and f["name"] != "nothing":
            named_local = [
                p
                for p in local
                if p.name == f["name"]
                and f.get("owner") in (None, p.owner)
                and f.get("status") in (None, str(p.status).upper())
            ]
            assert sum(1 for s, _, _ in want if s == "LOCAL") == len(named_local), f
            assert any(s == "CHAIN" for s, _, _ in want), f
        for first in (1, 2, 5, 100):
            got = await follow(env, first, **f)
            assert [(n["source"], n["owner"], n["cid"]) for n in got] == want, (f, first)
            ids = [n["id"] for n in got]
            assert len(set(ids)) == len(ids)


async def test_rest_counts_follow_pins_unpins_and_status_changes(env: Env) -> None:
    async def count(**params: str) -> int:
        r = await env.client.get("/pins", params=params, headers=env.auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["results"]) <= int(params.get("limit", "10"))
        return int(body["count"])

    everything = "queued,pinning,pinned,failed"
    assert await count() == 0
    up = await env.client.post("/files", content=b"counted", headers=env.auth)
    assert up.status_code == 201
    assert (await count(), await count(status=everything)) == (1, 1)
    r = await env.client.post("/pins", json={"cid": up.json()["cid"]}, headers=env.auth)
    assert r.status_code == 202
    missing = {"cid": "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco", "name": "gone"}
    r2 = await env.client.post("/pins", json=missing, headers=env.auth)
    assert r2.json()["status"] == "failed"
    queued = env.svc.request_pin(env.did, missing["cid"])
    assert await count() == 2
    assert await count(status="failed") == 1
    assert await count(status="queued,failed") == 2
    assert await count(status=everything, limit="1") == 4
    assert await count(status=everything, name="gone") == 1
    env.svc.process(env.did, queued.requestid)  # queued -> pinning -> failed
    assert (await count(status="queued"), await count(status="failed")) == (0, 2)
    d = await env.client.delete(f"/pins/{r.json()['requestid']}", headers=env.auth)
    assert d.status_code == 202
    assert (await count(), await count(status=everything)) == (1, 3)
    other = await env.new_token(seed(31), env.dids.create(seed(31), seed(32)))
    r = await env.client.get("/pins", headers={"Authorization": f"Bearer {other['token']}"})
    assert r.json() == {"count": 0, "results": []}
