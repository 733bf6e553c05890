"""Uploads (raw, multipart, size limit, bounded memory) and the GraphQL files API:
pinCid with a client-signed tx, pins(...), file(cid), pinEvents."""

from __future__ import annotations

import base64
import tracemalloc
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import data, gql
from did_helpers import SENDER_SEED, Dids, seed
from starlette.exceptions import StarletteDeprecationWarning
from test_api_files_support import OWNER_SEED, Env, files_env, make_service

from qos_api.app import create_app
from qos_fs import client as fc
from qos_identity import client as ic
from qos_ipfs.cid import CID
from qos_ipfs.importer import KUBO_V1, only_hash
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.anyio

PIN_CID = """mutation($tx: String!) { pinCid(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
PINS = """query($owner: String, $cid: String, $status: PinState, $name: String, $first: Int,
  $after: String) {
  pins(owner: $owner, cid: $cid, status: $status, name: $name, first: $first, after: $after) {
    edges { cursor node { id source owner cid name size status statusDetails metadata
      replication expiresHeight created createdHeight } }
    pageInfo { hasNextPage endCursor }
  }
}"""
FILE = (
    """query($cid: String!) { file(cid: $cid) { cid stored size pins { source owner status } } }"""
)


@pytest.fixture
async def env(tnode: TestNode, tmp_path: Path) -> AsyncIterator[Env]:
    async with files_env(tnode, tmp_path, max_upload_bytes=3 * 1024 * 1024) as e:
        yield e


def multipart(payload: bytes, boundary: str = "qosBOUNDARYx") -> tuple[bytes, str]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def test_upload_raw_and_multipart(env: Env) -> None:
    payload = bytes(range(256)) * 2000  # 512000 bytes, two chunks
    r = await env.client.post("/files?name=raw.bin", content=payload, headers=env.auth)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["cid"] == str(only_hash([payload]))
    assert (out["size"], out["name"]) == (len(payload), "raw.bin")
    body, ctype = multipart(payload)
    r = await env.client.post("/files", content=body, headers={**env.auth, "Content-Type": ctype})
    assert r.status_code == 201, r.text
    assert r.json()["cid"] == out["cid"]
    assert r.json()["name"] == "r.bin"
    r = await env.client.post("/files?profile=kubo-v1", content=payload, headers=env.auth)
    assert r.json()["cid"] == str(only_hash([payload], KUBO_V1))
    pins = (await env.client.get("/pins", headers=env.auth)).json()
    assert pins["count"] == 3  # every upload is a pinned local pin of the token's DID


async def test_upload_errors(env: Env) -> None:
    r = await env.client.post("/files", content=b"x")
    assert r.status_code == 401
    r = await env.client.post("/files", content=bytes(3 * 1024 * 1024 + 1), headers=env.auth)
    assert r.status_code == 413
    assert r.json()["error"]["reason"] == "PAYLOAD_TOO_LARGE"
    r = await env.client.post("/files?profile=nope", content=b"x", headers=env.auth)
    assert r.status_code == 400
    body, ctype = multipart(b"abc")
    for broken in (body[: len(body) // 2], body.replace(b'filename="r.bin"', b"")
                   .replace(b'name="file"', b'name="other"')):  # fmt: skip
        r = await env.client.post(
            "/files", content=broken, headers={**env.auth, "Content-Type": ctype}
        )
        assert r.status_code == 400, r.text
    r = await env.client.post(
        "/files", content=b"x", headers={**env.auth, "Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400
    # the failed uploads left nothing pinned and a GC collects their blocks
    assert (await env.client.get("/pins", headers=env.auth)).json()["count"] == 0
    env.svc.gc()
    assert list(env.svc.backend.blocks.iter_cids()) == []


async def test_streamed_upload_stays_bounded_in_memory(tnode: TestNode, tmp_path: Path) -> None:
    size = 24 * 1024 * 1024  # far above the 1 MiB in-memory body limit of the API
    piece = bytes(i % 253 for i in range(64 * 1024))

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(piece)):
            yield piece

    async with files_env(tnode, tmp_path) as env:
        tracemalloc.start()
        try:
            r = await env.client.post("/files", content=body(), headers=env.auth)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert r.status_code == 201, r.text
        assert r.json()["size"] == size
        assert peak < size // 6, f"peak {peak} bytes for a {size}-byte upload"
        expected = only_hash(piece for _ in range(size // len(piece)))
        assert r.json()["cid"] == str(expected)


async def test_pin_cid_pins_and_file(env: Env) -> None:
    r = await env.client.post("/files", content=b"on chain please", headers=env.auth)
    cid = CID.parse(r.json()["cid"])
    msg = fc.pin_msg(
        env.tnode.chain_id, env.did, 0, cid, OWNER_SEED, size=15, name="doc",
        metadata={"k": "v"}, replication=2,
    )  # fmt: skip
    tx = fc.wrap_in_tx(env.tnode.chain_id, SENDER_SEED, env.dids.nonce, [msg])
    out = await data(env.client, PIN_CID, {"tx": base64.b64encode(tx).decode()})
    assert out["pinCid"]["__typename"] == "TransactionAccepted", out
    env.tnode.produce()
    env.port.files_idle()
    d = await data(env.client, PINS, {"owner": env.did})
    nodes = [e["node"] for e in d["pins"]["edges"]]
    assert [n["source"] for n in nodes] == ["CHAIN", "LOCAL"]
    chain, local = nodes
    assert (chain["cid"], chain["name"], chain["size"], chain["replication"]) == (
        str(cid), "doc", "15", 2,
    )  # fmt: skip
    assert chain["status"] == "PINNED"  # this node holds the content
    assert chain["metadata"] == {"k": "v"}
    assert local["status"] == "PINNED"
    # filters and pagination
    d = await data(env.client, PINS, {"owner": env.did, "first": 1})
    assert d["pins"]["pageInfo"]["hasNextPage"] is True
    after = d["pins"]["pageInfo"]["endCursor"]
    d2 = await data(env.client, PINS, {"owner": env.did, "first": 1, "after": after})
    assert [e["node"]["source"] for e in d2["pins"]["edges"]] == ["LOCAL"]
    assert d2["pins"]["pageInfo"]["hasNextPage"] is False
    d = await data(env.client, PINS, {"name": "doc"})
    assert [e["node"]["source"] for e in d["pins"]["edges"]] == ["CHAIN"]
    d = await data(env.client, PINS, {"cid": str(cid), "status": "FAILED"})
    assert d["pins"]["edges"] == []
    f = await data(env.client, FILE, {"cid": str(cid)})
    assert f["file"]["stored"] is True
    assert f["file"]["size"] == "15"
    assert [p["source"] for p in f["file"]["pins"]] == ["CHAIN", "LOCAL"]
    # an on-chain pin of content this node does not have: recorded, failed here
    missing = CID.parse("QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco")
    msg = fc.pin_msg(env.tnode.chain_id, env.did, 1, missing, OWNER_SEED)
    tx = fc.wrap_in_tx(env.tnode.chain_id, SENDER_SEED, env.dids.nonce + 1, [msg])
    out = await data(env.client, PIN_CID, {"tx": base64.b64encode(tx).decode()})
    assert out["pinCid"]["__typename"] == "TransactionAccepted", out
    env.tnode.produce()
    env.port.files_idle()
    d = await data(env.client, PINS, {"cid": str(missing)})
    (node,) = [e["node"] for e in d["pins"]["edges"]]
    assert node["status"] == "FAILED"
    assert "not available" in node["statusDetails"]
    # unpin on chain: the record disappears and the content stays pinned by the upload
    unpin = fc.unpin_msg(env.tnode.chain_id, env.did, 2, cid, OWNER_SEED)
    tx = fc.wrap_in_tx(env.tnode.chain_id, SENDER_SEED, env.dids.nonce + 2, [unpin])
    assert (await data(env.client, PIN_CID, {"tx": base64.b64encode(tx).decode()}))["pinCid"][
        "__typename"
    ] == "TransactionAccepted"
    env.tnode.produce()
    env.port.files_idle()
    f = await data(env.client, FILE, {"cid": str(cid)})
    assert [p["source"] for p in f["file"]["pins"]] == ["LOCAL"]
    assert [p.cid for p in env.svc.backend.pins()].count(cid) == 1


async def test_pin_cid_refusals_and_bad_arguments(env: Env) -> None:
    out = await data(env.client, PIN_CID, {"tx": "***"})
    assert out["pinCid"]["code"] == "invalid_encoding"
    op = ic.update_op(env.tnode.chain_id, env.did, "1", [ic.set_also_known_as()], OWNER_SEED)
    tx = ic.wrap_in_tx(env.tnode.chain_id, SENDER_SEED, env.dids.nonce, [op])
    out = await data(env.client, PIN_CID, {"tx": base64.b64encode(tx).decode()})
    assert out["pinCid"]["code"] == "not_files_message"
    bad = fc.pin_msg(env.tnode.chain_id, env.did, 0, CID.hash(b"x"), seed(77))
    tx = fc.wrap_in_tx(env.tnode.chain_id, SENDER_SEED, env.dids.nonce, [bad])
    out = await data(env.client, PIN_CID, {"tx": base64.b64encode(tx).decode()})
    assert out["pinCid"]["__typename"] == "TransactionAccepted"  # refused at execution
    env.tnode.produce()
    d = await data(env.client, PINS, {"owner": env.did, "status": "QUEUED"})
    assert d["pins"]["edges"] == []
    for q, v in ((PINS, {"cid": "nope"}), (PINS, {"after": "bad"}), (FILE, {"cid": "x"}),
                 (PINS, {"first": 101})):  # fmt: skip
        res = await gql(env.client, q, v)
        assert res.get("errors"), res


EVENTS = """subscription($owner: String!) {
  pinEvents(owner: $owner) { kind owner cid name chain snapshotHeight height txHash }
}"""


def test_pin_events_over_websocket(tnode: TestNode, tmp_path: Path) -> None:
    svc = make_service(tmp_path)
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now, files=svc)
    app = create_app(port)
    dids = Dids(tnode)
    did = dids.create(OWNER_SEED, seed(12))
    other = dids.create(seed(31), seed(32))
    cid = CID.hash(b"event")
    chain_id = tnode.chain_id

    def commit(*msgs: Any) -> None:
        tx = fc.wrap_in_tx(chain_id, SENDER_SEED, dids.nonce, list(msgs))
        dids.nonce += 1
        tnode.node.submit_tx(tx, tnode.now())
        (res,) = tnode.produce().result.tx_results
        assert res.ok, res.log

    try:
        with (
            TestClient(app) as client,
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
        ):
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json() == {"type": "connection_ack"}
            payload = {"query": EVENTS, "variables": {"owner": did}}
            ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            assert port.wait_for_subscribers(1, 10.0)
            commit(fc.pin_msg(chain_id, other, 0, cid, seed(31)))  # someone else's: filtered
            commit(fc.pin_msg(chain_id, did, 0, cid, OWNER_SEED, name="e"))
            commit(fc.anchor_msg(chain_id, did, 1, OWNER_SEED, chain="erp", height=7,
                                 state_root=b"\x01" * 32, snapshot=cid))  # fmt: skip
            commit(fc.unpin_msg(chain_id, did, 2, cid, OWNER_SEED))
            got = [ws.receive_json()["payload"]["data"]["pinEvents"] for _ in range(3)]
            assert [e["kind"] for e in got] == ["PIN_CREATED", "SNAPSHOT_ANCHORED", "PIN_REMOVED"]
            assert {e["cid"] for e in got} == {str(cid)}
            assert got[0]["name"] == "e"
            assert (got[1]["chain"], got[1]["snapshotHeight"]) == ("erp", 7)
            ws.send_json({"id": "1", "type": "complete"})
            assert port.wait_for_subscribers(0, 10.0)
    finally:
        port.close()
        svc.close()
