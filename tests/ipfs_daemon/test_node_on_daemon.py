"""`qos node --ipfs-api URL`: a node process stores uploads on the IPFS daemon (js-ipfs here,
Kubo with KUBO_BIN), serves them through its gateway, and the daemon holds the blocks."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from qos_fs import client as fc
from qos_fs.times import format_time
from qos_identity import client as ic
from qos_ipfs.cid import CID
from qos_ipfs.kubo import KuboClient
from qos_node.process import NodeProcess, free_port
from tests.ipfs_daemon.daemon import Daemon

pytestmark = pytest.mark.slow

SUBMIT = """mutation($tx: String!) { submitDidOperation(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=10
    ).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def test_node_stores_uploads_on_the_daemon(ipfs_daemon: Daemon, tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    r = subprocess.run(
        [sys.executable, "-m", "qos_node", "--home", str(home), "init", "--api-port", str(port)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cfg = home / "config" / "config.toml"
    cfg.write_text(cfg.read_text().replace("block_interval = 3.0", "block_interval = 0.3"))
    proc = NodeProcess(home, port, extra_args=("--ipfs-api", ipfs_daemon.api))
    proc.start()
    try:
        proc.wait_ready()
        url = proc.url
        chain_id = gql(url, "{ status { chainId } }")["status"]["chainId"]
        owner, recovery, sender = bytes([8]) * 32, bytes([9]) * 32, bytes([7]) * 32
        did, create = ic.create_did(chain_id, owner, recovery)
        raw = base64.b64encode(ic.wrap_in_tx(chain_id, sender, 0, [create])).decode()
        out = gql(url, SUBMIT, {"tx": raw})["submitDidOperation"]
        assert out["__typename"] == "TransactionAccepted", out
        q = f'{{ transaction(hash: "{out["hash"]}") {{ height }} }}'
        deadline = time.monotonic() + 30
        while not gql(url, q)["transaction"]:
            assert time.monotonic() < deadline, "the DID was not committed"
            time.sleep(0.05)  # sleep-ok: poll interval of a deadline-bounded wait
        token_req = fc.token_request(
            chain_id, did, owner, label="t", issued=format_time(time.time_ns())
        )
        tok = httpx.post(f"{url}/auth/tokens", json=token_req, timeout=10)
        assert tok.status_code == 201, tok.text
        auth = {"Authorization": f"Bearer {tok.json()['token']}"}

        payload = bytes(i % 251 for i in range(700_000))  # 3 chunks: a DAG, not one block
        up = httpx.post(f"{url}/files?name=on-daemon", content=payload, headers=auth, timeout=60)
        assert up.status_code == 201, up.text
        cid = up.json()["cid"]
        client = KuboClient(ipfs_daemon.api)
        try:
            root = client.block_get(CID.parse(cid))  # verified against the CID on fetch
        finally:
            client.close()
        assert root  # the daemon holds the root block
        got = httpx.get(f"{url}/ipfs/{cid}", timeout=60)
        assert got.status_code == 200
        assert got.content == payload
    finally:
        proc.stop()
