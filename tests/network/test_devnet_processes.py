"""Real validator processes over py-libp2p on loopback (issue 3, "Real processes"):

4 validators make progress and commit a tx submitted to one of them; kill -9 of one, the
rest continue; it restarts, catches up and signs again, never double-signing; with 2 of 4
stopped the chain halts without forking and resumes when they return; a full node syncs
from height 0 and follows.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qos_node.devnet import Devnet, add_full_node, create_devnet
from qos_node.init import DEV_MNEMONIC
from qos_node.process import NodeProcess, free_port
from qos_node.testing import make_transfer
from qos_wallet.keys import KeyPair
from qos_wallet.keystore import KdfParams

pytestmark = pytest.mark.slow

STATUS = "{ status { height } }"
BLOCK = "query($h: Int!) { block(height: $h) { hash commit { signatures { validator } } } }"
SUBMIT = """mutation($tx: String!) { submitTransaction(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
TX = "query($h: String!) { transaction(hash: $h) { height success } }"


def gql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    r = httpx.post(url, json={"query": query, "variables": variables}, timeout=10)
    body = r.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def height(url: str) -> int:
    try:
        return int(gql(url, STATUS)["status"]["height"])
    except httpx.HTTPError:
        return -1


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)  # sleep-ok: poll interval of a deadline-bounded wait
    raise TimeoutError(f"timed out waiting for {what}")


def test_four_validator_processes(tmp_path: Path) -> None:
    ports = [(free_port(), free_port()) for _ in range(4)]
    members = create_devnet(
        tmp_path / "net", 4, block_interval=0.5, kdf=KdfParams.minimum(), ports=ports
    )
    net = Devnet(members)
    urls = [m.graphql for m in members]
    full: NodeProcess | None = None
    try:
        net.start()
        wait_until(lambda: min(height(u) for u in urls) >= 3, 60, "4 validators at height 3")

        # a tx submitted to v1 is committed and visible on every node
        dev = KeyPair.from_mnemonic(DEV_MNEMONIC)
        raw = make_transfer("qos-devnet", dev.private_seed, bytes([5]) * 20, 7, 0)
        res = gql(urls[1], SUBMIT, tx=base64.b64encode(raw).decode())["submitTransaction"]
        assert "hash" in res, res
        wait_until(
            lambda: all(gql(u, TX, h=res["hash"])["transaction"] for u in urls),
            60,
            "tx committed everywhere",
        )

        # kill -9 one validator: the other three continue
        victim = net.procs[2]
        victim.kill()
        h0 = min(height(u) for i, u in enumerate(urls) if i != 2)
        wait_until(
            lambda: min(height(u) for i, u in enumerate(urls) if i != 2) >= h0 + 3,
            60,
            "3 of 4 keep committing",
        )
        # it restarts, catches up and signs commits again
        victim.start()
        victim.wait_ready(60)
        target = max(height(u) for u in urls)
        wait_until(lambda: height(urls[2]) >= target, 60, "restarted validator catches up")
        v2_addr = _validator_address(urls[2])

        def v2_signs() -> bool:
            top = height(urls[0])
            blk = gql(urls[0], BLOCK, h=top)["block"]
            return blk is not None and any(
                s["validator"] == v2_addr for s in blk["commit"]["signatures"] if s["validator"]
            )

        wait_until(v2_signs, 60, "restarted validator signs again")

        # 2 of 4 stopped: the chain halts without forking, then resumes
        net.procs[2].stop()
        net.procs[3].stop()
        stuck = max(height(u) for u in urls[:2])
        with pytest.raises(TimeoutError):
            wait_until(lambda: max(height(u) for u in urls[:2]) > stuck + 1, 6, "no progress")
        top = min(height(u) for u in urls[:2])
        for h in range(1, top + 1):
            a = gql(urls[0], BLOCK, h=h)["block"]["hash"]
            b = gql(urls[1], BLOCK, h=h)["block"]["hash"]
            assert a == b, f"fork at height {h}"
        net.procs[2].start()
        net.procs[3].start()
        wait_until(lambda: min(height(u) for u in urls) >= stuck + 3, 90, "chain resumes")

        # a full node syncs from height 0 and follows
        fm = add_full_node(tmp_path / "full", members, free_port(), free_port())
        full = NodeProcess(fm.home, fm.api_port, p2p_listen=None)
        full.start()
        full.wait_ready(60)
        goal = max(height(u) for u in urls)
        wait_until(lambda: height(fm.graphql) >= goal, 90, "full node syncs")
        for h in (1, goal // 2, goal):
            assert (
                gql(fm.graphql, BLOCK, h=h)["block"]["hash"]
                == gql(urls[0], BLOCK, h=h)["block"]["hash"]
            )
    finally:
        if full is not None:
            full.stop()
        net.stop()
        for p in net.procs:  # keep the logs of a failure visible
            if p.proc is not None and p.proc.returncode not in (0, -15, -9, None):
                print(p.tail())


def _validator_address(url: str) -> str:
    return str(
        httpx.post(url, json={"query": "{ status { validatorAddress } }"}, timeout=10).json()[
            "data"
        ]["status"]["validatorAddress"]
    )
