"""Tests for qos_chain.node.ChainNode: production, handshake, durable mempool, restarts.

The first part wires the toy KVApp by hand; the second runs the real QosApp through
``qos_node.testing.make_test_node`` and ``qos_node.wiring.build_node``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlite_utils import Database

from qos_chain.address import Address
from qos_chain.consensus.solo import NS_PER_S, SoloConfig
from qos_chain.db import open_database
from qos_chain.errors import ChainError, MempoolError, StoreError
from qos_chain.execution import AppliedBlock, BlockExecutor
from qos_chain.genesis import ConsensusParams, Genesis
from qos_chain.mempool.pool import Mempool, MempoolConfig
from qos_chain.node import ChainNode, TxRejected
from qos_chain.privval import DoubleSignError, FilePrivValidator, generate_key_file
from qos_chain.store import BlockStore
from qos_chain.testing.kvapp import KVApp
from qos_chain.types import Proposal, Validator, tx_hash
from qos_chain.validation import verify_commit
from qos_node.config import Home
from qos_node.testing import TestNode, make_test_node, make_transfer
from qos_node.wiring import build_node

CHAIN = "kv-test"
GENESIS_NS = 1_700_000_000 * NS_PER_S
START = GENESIS_NS + NS_PER_S
INTERVAL = 3 * NS_PER_S
SOLO = SoloConfig(block_interval_ns=INTERVAL, min_block_interval_ns=0)
BOB = b"\xb0" * 20


@dataclass
class KVHarness:
    """Everything a KVApp node needs, on files under one directory."""

    root: Path
    genesis: Genesis
    mempool_config: MempoolConfig

    @property
    def db_path(self) -> Path:
        return self.root / "chain.db"

    def build(self, now: int = START) -> tuple[ChainNode, KVApp, Database]:
        db = open_database(self.db_path)
        store = BlockStore(db)
        app = KVApp()
        node = ChainNode(
            genesis=self.genesis,
            store=store,
            app=app,
            executor=BlockExecutor(db, store, app),
            mempool=Mempool(self.mempool_config),
            privval=FilePrivValidator(self.root / "key.json", self.root / "state.json"),
            solo=SOLO,
        )
        node.start(now)
        return node, app, db


@pytest.fixture
def kv(tmp_path: Path) -> KVHarness:
    pk = generate_key_file(tmp_path / "key.json")
    genesis = Genesis(
        chain_id=CHAIN,
        genesis_time_ns=GENESIS_NS,
        initial_height=1,
        validators=(Validator(pk, 10),),
        consensus=ConsensusParams(),
        app_state=b"",
    )
    return KVHarness(tmp_path, genesis, MempoolConfig(max_txs=4))


@pytest.fixture
def kv_node(kv: KVHarness) -> Iterator[tuple[ChainNode, KVApp, Database]]:
    node, app, db = kv.build()
    yield node, app, db
    db.close()


def produce_at(node: ChainNode, now: int) -> AppliedBlock:
    """Step at ``now`` (already past the idle deadline) and return the one block made."""
    got: list[AppliedBlock] = []
    node.add_listener(got.append)
    try:
        node.step(now)
    finally:
        node._listeners.remove(got.append)
    assert len(got) == 1, f"expected one block, got {len(got)}"
    return got[0]


def pending_rows(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM mempool").fetchone()[0])


# --------------------------------------------------------------------------- KVApp: chain


def test_shipped_kvapp_starts_a_fresh_chain(kv: KVHarness) -> None:
    db = open_database(kv.db_path)
    store = BlockStore(db)
    app = KVApp()
    node = ChainNode(
        genesis=kv.genesis,
        store=store,
        app=app,
        executor=BlockExecutor(db, store, app),
        mempool=Mempool(),
        privval=FilePrivValidator(kv.root / "key.json", kv.root / "state.json"),
        solo=SOLO,
    )
    try:
        node.start(START)
        assert node.state.last_block_height == 0
    finally:
        db.close()


def test_not_started_node_has_no_state(kv: KVHarness) -> None:
    db = open_database(kv.db_path)
    store = BlockStore(db)
    app = KVApp()
    node = ChainNode(
        genesis=kv.genesis,
        store=store,
        app=app,
        executor=BlockExecutor(db, store, app),
        mempool=Mempool(),
        privval=FilePrivValidator(kv.root / "key.json", kv.root / "state.json"),
        solo=SOLO,
    )
    with pytest.raises(ChainError, match="not started"):
        _ = node.state
    db.close()


def test_start_inits_chain_from_genesis(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, app, _ = kv_node
    s = node.state
    assert (s.chain_id, s.last_block_height, s.next_height) == (CHAIN, 0, 1)
    assert s.last_block_time_ns == GENESIS_NS
    assert s.app_hash == app.info().last_app_hash
    assert node.last_commit is None
    assert node.store.load_state() == s
    assert node.can_produce()


def test_idle_node_waits_for_the_interval(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, _, _ = kv_node
    assert node.step(START + 1) == START + INTERVAL
    assert node.store.height() == 0
    produce_at(node, START + INTERVAL)
    assert node.store.height() == 1


def test_blocks_chain_correctly(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, app, _ = kv_node
    # `now` stands still for the last blocks: block time must still increase
    times = [START + INTERVAL, START + 2 * INTERVAL, START + 3 * INTERVAL] + [
        START + 4 * INTERVAL
    ] * 2
    prev = None
    for i, now in enumerate(times, start=1):
        node.submit_tx(f"k{i}=v{i}".encode(), now)
        state_before = node.state
        applied = produce_at(node, now)
        b = applied.block
        h = b.header
        assert h.height == i
        assert b.txs == (f"k{i}=v{i}".encode(),)
        assert h.app_hash == state_before.app_hash
        assert h.proposer == node.privval.address
        verify_commit(CHAIN, state_before.validators, applied.commit, b.hash(), i)
        assert node.store.commit(i) == applied.commit
        if prev is None:
            assert h.parent_hash == b""
            assert b.last_commit is None
            assert h.time_ns > GENESIS_NS
        else:
            assert h.parent_hash == prev.block.hash()
            assert b.last_commit == prev.commit
            assert h.last_commit_hash == prev.commit.hash()
            assert h.time_ns > prev.block.header.time_ns
        prev = applied
    assert node.state.last_block_height == 5
    assert node.state.app_hash == app.info().last_app_hash
    assert app.committed == {f"k{i}": f"v{i}" for i in range(1, 6)}
    assert node.store.tx(tx_hash(b"k3=v3")) is not None


def test_restart_replays_blocks_into_a_fresh_app(kv: KVHarness) -> None:
    node, app, db = kv.build()
    for i in range(1, 4):
        node.submit_tx(f"a{i}=b{i}".encode(), START + i * INTERVAL)
        produce_at(node, START + i * INTERVAL)
    final_hash = app.info().last_app_hash
    final_state = node.state
    db.close()

    node2, app2, db2 = kv.build(START + 10 * INTERVAL)
    try:
        assert app2 is not app
        assert app2.info().last_block_height == 3
        assert app2.info().last_app_hash == final_hash
        assert app2.committed == app.committed
        assert node2.state == final_state
        assert node2.last_commit == node2.store.commit(3)
        # and the chain goes on from there
        assert node2.step(START + 10 * INTERVAL) == START + 11 * INTERVAL
        applied = produce_at(node2, START + 11 * INTERVAL)
        assert applied.block.header.height == 4
        assert applied.block.header.parent_hash == final_state.last_block_hash
    finally:
        db2.close()


def test_block_time_increases_when_the_clock_goes_back_across_a_restart(
    kv: KVHarness,
) -> None:
    node, _, db = kv.build()
    last = produce_at(node, START + 5 * INTERVAL).block.header
    db.close()
    # the host clock jumped back: the restarted node's `now` is before the last block
    node2, _, db2 = kv.build(START)
    try:
        applied = produce_at(node2, START + INTERVAL)
        assert last.time_ns > START + INTERVAL
        assert applied.block.header.time_ns == last.time_ns + 1_000_000
        assert applied.block.header.parent_hash == last.hash()
    finally:
        db2.close()


def test_restart_refuses_an_app_ahead_of_the_store(kv: KVHarness) -> None:
    node, _, db = kv.build()
    produce_at(node, START + INTERVAL)
    db.close()
    db2 = open_database(kv.db_path)
    store = BlockStore(db2)
    app = KVApp()
    app.height = 5  # pretend the app committed past the store
    node2 = ChainNode(
        genesis=kv.genesis,
        store=store,
        app=app,
        executor=BlockExecutor(db2, store, app),
        mempool=Mempool(),
        privval=FilePrivValidator(kv.root / "key.json", kv.root / "state.json"),
        solo=SOLO,
    )
    with pytest.raises(StoreError, match="ahead of the store"):
        node2.start(START)
    db2.close()


def test_pending_txs_survive_a_restart(kv: KVHarness) -> None:
    node, _, db = kv.build()
    r1 = node.submit_tx(b"x=1", START)
    r2 = node.submit_tx(b"y=2", START)
    assert node.store.pending() == [b"x=1", b"y=2"]
    db.close()  # crash: the node is dropped without producing
    del node

    node2, app2, db2 = kv.build(START + 1)
    try:
        assert r1.tx_hash in node2.mempool
        assert r2.tx_hash in node2.mempool
        applied = produce_at(node2, START + 1)  # re-admitted txs trigger a block at once
        assert applied.block.txs == (b"x=1", b"y=2")
        assert app2.committed == {"x": "1", "y": "2"}
        assert len(node2.mempool) == 0
        assert pending_rows(db2) == 0
    finally:
        db2.close()


def test_pending_order_is_arrival_order_across_two_restarts(kv: KVHarness) -> None:
    node, _, db = kv.build()
    node.submit_tx(b"a=1", START)
    node.submit_tx(b"b=2", START)
    db.close()
    node, _, db = kv.build()
    node.submit_tx(b"c=3", START)  # acknowledged after the first restart
    db.close()
    node, _, db = kv.build()
    try:
        assert node.store.pending() == [b"a=1", b"b=2", b"c=3"]
        assert node.mempool.txs() == (b"a=1", b"b=2", b"c=3")
    finally:
        db.close()


def test_restart_drops_pending_txs_the_app_now_refuses(kv: KVHarness) -> None:
    node, _, db = kv.build()
    node.submit_tx(b"good=1", START)
    node.store.add_pending(tx_hash(b"garbage"), 99, b"garbage")  # e.g. rules changed
    db.close()
    node2, _, db2 = kv.build()
    try:
        assert node2.mempool.txs() == (b"good=1",)
        assert node2.store.pending() == [b"good=1"]
    finally:
        db2.close()


def test_tx_refused_by_check_tx(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, _, db = kv_node
    with pytest.raises(TxRejected) as exc:
        node.submit_tx(b"no-equals-sign", START)
    assert exc.value.code == "kv:1"  # no code-name mapping: codespace:code
    assert "key=value" in exc.value.message
    assert len(node.mempool) == 0
    assert pending_rows(db) == 0
    assert node.store.pending() == []


def test_duplicate_tx_is_refused(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, _, db = kv_node
    node.submit_tx(b"k=v", START)
    with pytest.raises(MempoolError) as exc:
        node.submit_tx(b"k=v", START)
    assert exc.value.code == "tx_already_in_mempool"
    assert pending_rows(db) == 1


def test_mempool_full(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, _, db = kv_node
    for i in range(4):  # max_txs=4
        node.submit_tx(f"k{i}=v".encode(), START)
    with pytest.raises(MempoolError) as exc:
        node.submit_tx(b"k9=v", START)
    assert exc.value.code == "mempool_full"
    assert len(node.mempool) == 4
    assert pending_rows(db) == 4
    assert tx_hash(b"k9=v") not in node.mempool


def test_oversized_tx_is_refused_before_check_tx(kv: KVHarness) -> None:
    kv.mempool_config = MempoolConfig(max_tx_bytes=16)
    node, _, db = kv.build()
    try:
        with pytest.raises(MempoolError) as exc:
            node.submit_tx(b"k=" + b"v" * 20, START)
        assert exc.value.code == "tx_too_large"
        assert pending_rows(db) == 0
    finally:
        db.close()


def test_submit_calls_the_wake_hook(kv_node: tuple[ChainNode, KVApp, Database]) -> None:
    node, _, _ = kv_node
    calls: list[int] = []
    node.on_work = lambda: calls.append(1)
    node.submit_tx(b"k=v", START)
    assert calls == [1]


def test_failing_listener_does_not_stop_the_chain(
    kv_node: tuple[ChainNode, KVApp, Database], caplog: pytest.LogCaptureFixture
) -> None:
    node, _, _ = kv_node

    def boom(_: AppliedBlock) -> None:
        raise RuntimeError("listener bug")

    node.add_listener(boom)
    produce_at(node, START + INTERVAL)
    assert node.store.height() == 1
    assert "commit listener failed" in caplog.text


def test_txs_trigger_a_block_before_the_idle_interval(
    kv_node: tuple[ChainNode, KVApp, Database],
) -> None:
    node, _, _ = kv_node
    node.submit_tx(b"k=v", START + 1)
    applied = produce_at(node, START + 1)  # min interval is 0
    assert applied.block.txs == (b"k=v",)
    # nothing waits any more: the next deadline is the idle one
    assert node.step(START + 2) == START + 1 + INTERVAL


# --------------------------------------------------------------------------- QosApp


FAUCET_TO = b"\x07" * 20


def rebuild(t: TestNode, now: int) -> TestNode:
    """Drop the node (close its db) and build a new one on the same home."""
    t.bundle.db.close()
    return TestNode(build_node(Home(t.bundle.home.root), now, t.bundle.config), now)


def test_qos_restart_resumes_at_same_height_and_app_hash(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    t.node.submit_tx(t.transfer(FAUCET_TO, 10), t.now())
    t.produce()
    t.node.submit_tx(t.transfer(FAUCET_TO, 20), t.now())
    t.produce()
    height, app_hash = t.node.state.last_block_height, t.app.info().last_app_hash
    state = t.node.state

    t2 = rebuild(t, t.now())
    try:
        assert t2.node.state == state
        assert t2.app.info() == t.app.info()
        assert (t2.node.state.last_block_height, t2.app.store.app_hash) == (height, app_hash)
        assert t2.app.account(Address(FAUCET_TO)).balance == 30
        applied = t2.produce()
        assert applied.block.header.height == height + 1
        assert applied.block.header.app_hash == app_hash
    finally:
        t2.bundle.db.close()


def test_qos_pending_txs_survive_a_restart(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    raws = [t.transfer(FAUCET_TO, 1), t.transfer(FAUCET_TO, 2)]
    for raw in raws:
        t.node.submit_tx(raw, t.now())
    t2 = rebuild(t, t.now())
    try:
        assert t2.node.mempool.txs() == tuple(raws)
        applied = t2.produce()
        assert applied.block.txs == tuple(raws)
        assert all(r.ok for r in applied.result.tx_results)
        assert t2.app.account(Address(FAUCET_TO)).balance == 3
        assert t2.bundle.store.pending() == []
    finally:
        t2.bundle.db.close()


def test_qos_restart_bumps_round_after_signing_at_next_height(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    t.produce()
    nxt = t.node.state.next_height
    # the crash happens after the signer signed a proposal for the next height
    t.node.privval.sign_proposal(t.chain_id, Proposal(nxt, 0, None, b"\x99" * 32, t.now(), b""))
    assert (t.node.privval.last.height, t.node.privval.last.round) == (nxt, 0)

    t2 = rebuild(t, t.now())
    try:
        assert t2.node.privval.last.height == nxt
        applied = t2.produce()  # must not raise DoubleSignError
        assert applied.block.header.height == nxt
        assert applied.commit.round == 1
        assert t2.node.privval.last.round == 1
    finally:
        t2.bundle.db.close()


def test_qos_node_signer_refuses_to_resign_a_committed_height(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    applied = t.produce()
    h = applied.block.header.height
    with pytest.raises(DoubleSignError):
        t.node.privval.sign_proposal(t.chain_id, Proposal(h, 0, None, b"\x98" * 32, 1, b""))
    t.bundle.db.close()


def test_qos_acknowledged_txs_survive_two_restarts(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    t.node.submit_tx(t.transfer(FAUCET_TO, 1), t.now())  # nonce 0, seq 1
    t.node.submit_tx(t.transfer(FAUCET_TO, 2), t.now())  # nonce 1, seq 2
    t = rebuild(t, t.now())
    third = make_transfer(t.chain_id, t.faucet_seed, FAUCET_TO, 4, 2)
    t.node.submit_tx(third, t.now())  # nonce 2, acknowledged to the client
    t = rebuild(t, t.now())
    try:
        applied = t.produce()
        assert len(applied.block.txs) == 3
        assert t.app.account(Address(FAUCET_TO)).balance == 7
    finally:
        t.bundle.db.close()
