"""End to end through a real node process: upload -> pin through the Pinning Service API ->
GET /ipfs/{cid} -> an on-chain pin from a client-signed tx -> pins() shows both."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from qos_fs import client as fc
from qos_fs.times import format_time
from qos_identity import client as ic
from qos_ipfs.cid import CID
from qos_node.process import NodeProcess, free_port

pytestmark = pytest.mark.slow

SENDER = bytes([7]) * 32
OWNER = bytes([8]) * 32
RECOVERY = bytes([9]) * 32
SUBMIT = """mutation($tx: String!) { %s(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
PINS = """query($owner: String!) { pins(owner: $owner) {
  edges { node { source cid status name } } } }"""


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}})
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def wait_for(cond: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)  # sleep-ok: poll interval of a deadline-bounded wait
    raise AssertionError(f"{what} did not happen within {timeout}s")


def submit(url: str, mutation: str, raw: bytes) -> None:
    out = gql(url, SUBMIT % mutation, {"tx": base64.b64encode(raw).decode()})[mutation]
    assert out["__typename"] == "TransactionAccepted", out
    q = f'{{ transaction(hash: "{out["hash"]}") {{ height code }} }}'
    tx = wait_for(lambda: gql(url, q)["transaction"], "commit")
    assert tx["code"] == 0, tx


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("pin") / "home"
    port = free_port()
    r = subprocess.run(
        [sys.executable, "-m", "qos_node", "--home", str(home), "init", "--api-port", str(port)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cfg = home / "config" / "config.toml"
    cfg.write_text(cfg.read_text().replace("block_interval = 3.0", "block_interval = 0.3"))
    proc = NodeProcess(home, port)
    proc.start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() in (0, -15), proc.tail()


def test_upload_pin_fetch_and_anchor(node: NodeProcess) -> None:
    url = node.url
    chain_id = gql(url, "{ status { chainId } }")["status"]["chainId"]
    did, create = ic.create_did(chain_id, OWNER, RECOVERY)
    submit(url, "submitDidOperation", ic.wrap_in_tx(chain_id, SENDER, 0, [create]))
    body = fc.token_request(chain_id, did, OWNER, label="e2e", issued=format_time(time.time_ns()))
    r = httpx.post(f"{url}/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}

    payload = bytes(i % 241 for i in range(1_000_000))
    r = httpx.post(f"{url}/files?name=big.bin", content=payload, headers=auth, timeout=60)
    assert r.status_code == 201, r.text
    cid = r.json()["cid"]
    r = httpx.post(f"{url}/pins", json={"cid": cid, "name": "via-api"}, headers=auth)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pinned"
    r = httpx.get(f"{url}/pins", params={"name": "via-api"}, headers=auth)
    assert r.json()["count"] == 1
    r = httpx.get(f"{url}/ipfs/{cid}", timeout=60)
    assert r.status_code == 200
    assert r.content == payload
    r = httpx.get(f"{url}/ipfs/{cid}", headers={"Range": "bytes=500000-500009"})
    assert r.content == payload[500000:500010]

    msg = fc.pin_msg(chain_id, did, 0, CID.parse(cid), OWNER, size=len(payload), name="chain")
    submit(url, "pinCid", fc.wrap_in_tx(chain_id, SENDER, 1, [msg]))

    def chain_pinned() -> list[dict[str, Any]]:
        edges = gql(url, PINS, {"owner": did})["pins"]["edges"]
        nodes = [e["node"] for e in edges]
        ok = any(n["source"] == "CHAIN" and n["status"] == "PINNED" for n in nodes)
        return nodes if ok else []

    nodes = wait_for(chain_pinned, "the on-chain pin to be pinned on the node")
    assert {(n["source"], n["name"]) for n in nodes} == {
        ("CHAIN", "chain"), ("LOCAL", "big.bin"), ("LOCAL", "via-api"),
    }  # fmt: skip
    assert {n["cid"] for n in nodes} == {cid}
