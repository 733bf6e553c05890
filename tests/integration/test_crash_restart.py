"""kill -9 a real node process at random moments under load, restart it, and check that
nothing acknowledged is lost and nothing committed diverges.

Each cycle: a client submits signed transfers over GraphQL; after a seeded random number
of acknowledgements the node is SIGKILLed (blocks are being committed every ~50 ms, so the
kill lands at arbitrary points of block execution). After restart:
- the height is at least the last height observed before the crash;
- every block observed before the crash still has the same hash and app hash;
- every acknowledged tx is committed (successfully) within a deadline;
- the recipient's balance equals the sum of acknowledged transfers.
"""

from __future__ import annotations

import base64
import random
import time
from pathlib import Path

import httpx
import pytest

from qos_chain.address import address_to_text
from qos_node.config import ConsensusConfig, NodeConfig
from qos_node.init import DEV_MNEMONIC, init_home
from qos_node.process import NodeProcess, free_port
from qos_node.testing import make_transfer
from qos_wallet.keys import KeyPair
from qos_wallet.keystore import KdfParams

pytestmark = pytest.mark.slow

SUBMIT = """mutation($tx: String!) { submitTransaction(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
TX = "query($h: String!) { transaction(hash: $h) { height success codeName } }"
BLOCK = "query($h: Int!) { block(height: $h) { hash appHash } }"
STATUS = "{ status { height chainId } }"
ACCOUNT = "query($a: String!) { account(address: $a) { ... on Account { balance nonce } } }"


def gql(client: httpx.Client, url: str, query: str, **variables: object) -> dict:
    r = client.post(url, json={"query": query, "variables": variables}, timeout=10)
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def wait_until(cond, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)  # sleep-ok: poll interval of a deadline-bounded wait
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    home = tmp_path / "home"
    cfg = NodeConfig(consensus=ConsensusConfig(block_interval=0.3, min_block_interval=0.05))
    init_home(home, chain_id="qos-crash", dev=True, config=cfg, kdf=KdfParams.minimum())
    sender = KeyPair.from_mnemonic(DEV_MNEMONIC)
    recipient = bytes([7]) * 20
    proc = NodeProcess(home, free_port())
    acked: list[str] = []
    amounts = 0
    observed: dict[int, tuple[str, str]] = {}
    nonce = 0
    client = httpx.Client()
    try:
        for _cycle in range(3):
            proc.start()
            proc.wait_ready()
            url = proc.graphql_url
            # after a restart: everything observed before is unchanged
            for h, (bhash, app_hash) in observed.items():
                blk = gql(client, url, BLOCK, h=h)["block"]
                assert blk is not None, f"block {h} lost after kill -9"
                assert (blk["hash"], blk["appHash"]) == (bhash, app_hash), f"block {h} diverged"
            target = len(acked) + rng.randint(5, 40)
            while len(acked) < target:
                amount = 1 + nonce % 7
                raw = make_transfer("qos-crash", sender.private_seed, recipient, amount, nonce)
                res = gql(client, url, SUBMIT, tx=base64.b64encode(raw).decode())
                res = res["submitTransaction"]
                assert "hash" in res, res
                acked.append(res["hash"])
                amounts += amount
                nonce += 1
                if rng.random() < 0.3:  # observe some committed blocks before the crash
                    height = gql(client, url, STATUS)["status"]["height"]
                    if height:
                        blk = gql(client, url, BLOCK, h=height)["block"]
                        observed[height] = (blk["hash"], blk["appHash"])
            proc.kill()
        proc.start()
        proc.wait_ready()
        url = proc.graphql_url
        last_seen = max(observed) if observed else 0
        assert gql(client, url, STATUS)["status"]["height"] >= last_seen
        for h in acked:
            tx = wait_until(lambda h=h: gql(client, url, TX, h=h)["transaction"], 30, f"tx {h}")
            assert tx["success"], tx
        acct = gql(client, url, ACCOUNT, a=address_to_text(recipient))["account"]
        assert int(acct["balance"]) == amounts
        me = gql(client, url, ACCOUNT, a=address_to_text(sender.address))["account"]
        assert int(me["nonce"]) == nonce
    finally:
        client.close()
        proc.stop()
