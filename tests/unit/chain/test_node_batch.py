"""ChainNode.submit_txs and gossiped TxBatches: admitted in order, one SQLite transaction
for the batch, durable when acknowledged, nothing half-admitted when the write fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from qos_chain import codec
from qos_chain.consensus.solo import NS_PER_S, SoloConfig
from qos_chain.consensus.wire import TxBatch
from qos_chain.db import open_database
from qos_chain.errors import MempoolError
from qos_chain.execution import BlockExecutor
from qos_chain.genesis import ConsensusParams, Genesis
from qos_chain.mempool.pool import Mempool, MempoolConfig
from qos_chain.node import ChainNode, SubmitResult
from qos_chain.privval import FilePrivValidator, generate_key_file
from qos_chain.replica import PublishTx
from qos_chain.store import BlockStore
from qos_chain.testing.kvapp import KVApp
from qos_chain.types import Validator, tx_hash

GENESIS_NS = 1_700_000_000 * NS_PER_S
START = GENESIS_NS + NS_PER_S
SOLO = SoloConfig(block_interval_ns=3 * NS_PER_S, min_block_interval_ns=0)


def build(root: Path) -> tuple[ChainNode, Database]:
    key = root / "key.json"
    privval = None if not key.exists() else FilePrivValidator(key, root / "state.json")
    pub = generate_key_file(key) if privval is None else privval.public_key
    genesis = Genesis(
        chain_id="kv-batch",
        genesis_time_ns=GENESIS_NS,
        initial_height=1,
        validators=(Validator(pub, 10),),
        consensus=ConsensusParams(),
        app_state=b"",
    )
    db = open_database(root / "chain.db")
    store = BlockStore(db)
    app = KVApp()
    node = ChainNode(
        genesis=genesis,
        store=store,
        app=app,
        executor=BlockExecutor(db, store, app),
        mempool=Mempool(MempoolConfig(max_txs=6)),
        privval=FilePrivValidator(key, root / "state.json"),
        solo=SOLO,
    )
    node.start(START)
    return node, db


def rows(db: Database) -> list[bytes]:
    return [bytes(r[0]) for r in db.conn.execute("SELECT data FROM mempool ORDER BY seq")]


def test_batch_results_in_order_and_durable_across_a_restart(tmp_path: Path) -> None:
    node, db = build(tmp_path)
    results = node.submit_txs([b"a=1", b"b=2", b"a=1", b"", b"c=3"], START)
    assert [type(r).__name__ for r in results] == [
        "SubmitResult",
        "SubmitResult",
        "MempoolError",
        "TxRejected",
        "SubmitResult",
    ]
    assert isinstance(results[2], MempoolError)
    assert results[2].code == "tx_already_in_mempool"
    assert rows(db) == [b"a=1", b"b=2", b"c=3"]
    published = [e.payload for e in node.take_outbox() if isinstance(e, PublishTx)]
    assert published == [b"a=1", b"b=2", b"c=3"]
    db.close()  # kill: nothing but the database survives
    node2, db2 = build(tmp_path)
    try:
        assert node2.mempool.txs() == (b"a=1", b"b=2", b"c=3")
    finally:
        db2.close()


def test_batch_write_failure_leaves_nothing_admitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, db = build(tmp_path)
    try:
        node.submit_tx(b"x=0", START)

        def broken(_: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(node.store, "add_pending_many", broken)
        with pytest.raises(OSError, match="disk full"):
            node.submit_txs([b"a=1", b"b=2"], START)
        assert node.mempool.txs() == (b"x=0",)
        assert node.take_outbox() == [PublishTx(b"x=0")]
        monkeypatch.undo()
        assert all(isinstance(r, SubmitResult) for r in node.submit_txs([b"a=1"], START))
    finally:
        db.close()


def test_gossiped_batch_is_admitted_without_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, db = build(tmp_path)
    try:
        writes: list[int] = []
        real = node.store.add_pending_many

        def counting(batch: list[tuple[bytes, int, bytes]]) -> None:
            writes.append(len(batch))
            real(batch)

        monkeypatch.setattr(node.store, "add_pending_many", counting)
        payload = codec.encode(TxBatch((b"a=1", b"b=2", b"c=3", b"a=1")))
        assert node.receive_tx(payload, START).admitted == 3
        assert writes == []  # a peer's txs: acknowledged to nobody here, kept in memory
        assert rows(db) == []
        assert tx_hash(b"b=2") in node.mempool
        assert node.take_outbox() == []  # gossip relays; the node does not re-publish
    finally:
        db.close()
