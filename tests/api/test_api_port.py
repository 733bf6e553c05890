"""LocalNodePort against a real node: both read paths agree, codes are mapped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import RECIPIENT

from qos_api.ports import AccountInfo, NodePort, SubmitAccepted, SubmitRejected
from qos_node.port import LocalNodePort, read_account, rejection_code
from qos_node.testing import FAUCET_FUNDS, TestNode

pytestmark = pytest.mark.anyio


def test_rejection_code_maps_numeric_app_codes() -> None:
    assert rejection_code("qos:13") == "nonce_too_low"
    assert rejection_code("qos:2") == "malformed_tx"
    assert rejection_code("qos:999") == "qos:999"
    assert rejection_code("other:13") == "other:13"
    assert rejection_code("nonce_gap") == "nonce_gap"


@pytest.fixture(params=["read-only connection", "node store"])
def any_port(request: pytest.FixtureRequest, tnode: TestNode) -> Iterator[LocalNodePort]:
    path = tnode.db_path if request.param == "read-only connection" else None
    p = LocalNodePort(tnode.node, tnode.app, path, clock=tnode.now)
    yield p
    p.close()


async def test_reads_see_committed_data(any_port: LocalNodePort, tnode: TestNode) -> None:
    port: NodePort = any_port
    raw = tnode.transfer(RECIPIENT, 99)
    submitted = await port.submit_tx(raw)
    assert isinstance(submitted, SubmitAccepted)
    assert await port.transaction(submitted.tx_hash) is None
    applied = tnode.produce()
    tnode.produce()

    by_height = await port.block_by_height(1)
    assert by_height is not None
    assert by_height.block == applied.block
    assert by_height.commit == applied.commit
    assert by_height.results == applied.result.tx_results
    assert await port.block_by_hash(applied.block.hash()) == by_height
    assert await port.block_by_height(3) is None
    assert [b.block.header.height for b in await port.blocks(None, 10)] == [2, 1]
    assert [b.block.header.height for b in await port.blocks(2, 10)] == [1]
    assert [b.block.header.height for b in await port.blocks(None, 1)] == [2]

    tx = await port.transaction(submitted.tx_hash)
    assert tx is not None
    assert (tx.height, tx.index, tx.tx) == (1, 0, raw)
    assert tx.result.ok

    assert await port.account(tnode.faucet_address) == AccountInfo(
        tnode.faucet_address, FAUCET_FUNDS - 99, 1
    )
    assert await port.account(RECIPIENT) == AccountInfo(RECIPIENT, 99, 0)

    status = await port.status()
    assert status.height == 2
    assert status.latest_block_hash == tnode.node.state.last_block_hash


async def test_submit_maps_check_tx_codes(any_port: LocalNodePort, tnode: TestNode) -> None:
    r = await any_port.submit_tx(b"\x01\x02")
    assert isinstance(r, SubmitRejected)
    assert r.code == "malformed_tx"
    assert r.message


async def test_submit_maps_raw_numeric_codes(tnode: TestNode) -> None:
    """A node wired without a code-name function reports "qos:<n>"; clients see the name."""
    tnode.node._code_name = lambda r: f"{r.codespace}:{r.code}"
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now)
    try:
        r = await port.submit_tx(tnode.transfer(RECIPIENT, 1, nonce=0))
        assert isinstance(r, SubmitAccepted)
        tnode.produce()
        r = await port.submit_tx(tnode.transfer(RECIPIENT, 2, nonce=0))
        assert isinstance(r, SubmitRejected)
        assert r.code == "nonce_too_low"
    finally:
        port.close()


def test_read_account_uses_one_statement(tnode: TestNode) -> None:
    balance, nonce = read_account(tnode.bundle.db, tnode.faucet_address)
    assert (balance, nonce) == (FAUCET_FUNDS, 0)
    assert read_account(tnode.bundle.db, RECIPIENT) == (0, 0)
