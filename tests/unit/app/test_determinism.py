"""Determinism: two independent nodes fed the same txs at the same clock agree on state.

Block hashes differ (each node has its own validator key, which goes into the header as
proposer and into the commit), so we compare what the app computes: app hashes, results
hashes, tx results and the raw state rows, height by height.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qos_chain.address import Address, address_from_public_key
from qos_chain.execution import AppliedBlock, results_hash
from qos_chain.sign import public_key_of
from qos_node.testing import TestNode, make_test_node, make_transfer

ALICE_SEED = b"\xa1" * 32
BOB = Address(b"\xb0" * 20)
CAROL = Address(b"\xc0" * 20)
ALICE = address_from_public_key(public_key_of(ALICE_SEED))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[TestNode, TestNode]]:
    a = make_test_node(tmp_path / "a")
    b = make_test_node(tmp_path / "b")
    yield a, b
    a.bundle.db.close()
    b.bundle.db.close()


def script(t: TestNode) -> list[list[bytes]]:
    """Txs per block: successes, failures (insufficient funds), fee payers, empty blocks."""
    c = t.chain_id
    f = t.faucet_seed
    return [
        [make_transfer(c, f, BOB, 10, 0), make_transfer(c, f, ALICE, 1_000, 1, fee=2)],
        [],
        [
            make_transfer(c, ALICE_SEED, CAROL, 300, 0, fee=1),
            make_transfer(c, ALICE_SEED, CAROL, 10_000, 1),  # fails: insufficient funds
            make_transfer(c, f, BOB, 5, 2, memo="hello"),
            make_transfer(c, ALICE_SEED, BOB, 1, 2, fee=4, fee_payer_seed=f),
        ],
        [make_transfer(c, f, CAROL, n + 1, 3 + n) for n in range(5)],
    ]


def run(t: TestNode) -> list[AppliedBlock]:
    out = []
    for txs in script(t):
        for raw in txs:
            t.node.submit_tx(raw, t.now())
        out.append(t.produce())
    return out


def state_rows(t: TestNode) -> list[tuple[bytes, bytes]]:
    return [
        (bytes(k), bytes(v))
        for k, v in t.bundle.db.conn.execute("SELECT key, value FROM app_state ORDER BY key")
    ]


def test_same_genesis_gives_the_same_app_hash(pair: tuple[TestNode, TestNode]) -> None:
    a, b = pair
    assert a.node.state.app_hash == b.node.state.app_hash
    assert a.node.privval.address != b.node.privval.address
    assert a.node.state.validators != b.node.state.validators


def test_two_nodes_agree_height_by_height(pair: tuple[TestNode, TestNode]) -> None:
    a, b = pair
    ra, rb = run(a), run(b)
    assert len(ra) == len(rb) == 4
    for x, y in zip(ra, rb, strict=True):
        hx, hy = x.block.header, y.block.header
        assert hx.height == hy.height
        assert hx.time_ns == hy.time_ns
        assert hx.tx_root == hy.tx_root
        assert hx.app_hash == hy.app_hash
        assert hx.last_results_hash == hy.last_results_hash
        assert x.result.tx_results == y.result.tx_results
        assert x.result.app_hash == y.result.app_hash
        assert results_hash(x.result) == results_hash(y.result)
        assert hx.hash() != hy.hash()  # different proposers
    assert a.node.state.app_hash == b.node.state.app_hash
    assert state_rows(a) == state_rows(b)
    # the script exercised failures too, identically
    codes = [r.code for r in ra[2].result.tx_results]
    assert codes[0] == 0
    assert codes[1] != 0
    assert codes[2:] == [0, 0]


def test_app_hash_depends_on_tx_order(pair: tuple[TestNode, TestNode]) -> None:
    a, b = pair
    c = a.chain_id
    t1 = make_transfer(c, a.faucet_seed, BOB, 5, 0)
    t2 = make_transfer(c, ALICE_SEED, BOB, 5, 0)  # alice is unfunded: fails unless funded
    fund = make_transfer(c, a.faucet_seed, ALICE, 5, 1)
    for raw in (t1, fund, t2):
        a.node.submit_tx(raw, a.now())
    for raw in (t1, t2, fund):
        b.node.submit_tx(raw, b.now())
    xa, xb = a.produce(), b.produce()
    assert [r.code == 0 for r in xa.result.tx_results] == [True, True, True]
    assert [r.code == 0 for r in xb.result.tx_results] == [True, False, True]
    assert xa.result.app_hash != xb.result.app_hash
