"""Tests for qos_chain.store.BlockStore: round trips, lookups, paging, atomicity, migrations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlite_utils import Database

from qos_chain.db import memory_database, open_database
from qos_chain.errors import StoreError
from qos_chain.genesis import ConsensusParams, Genesis
from qos_chain.merkle import EMPTY_ROOT
from qos_chain.state import ChainState
from qos_chain.store import BlockStore
from qos_chain.types import (
    Block,
    Commit,
    CommitFlag,
    CommitSig,
    Event,
    EventAttribute,
    Header,
    TxResult,
    Validator,
    tx_hash,
)

VAL = Validator(b"\x01" * 32, 10)
GENESIS = Genesis("store-test", 1_000, 1, (VAL,), ConsensusParams(), b"{}")


def make_block(height: int, txs: tuple[bytes, ...] = (), parent: bytes = b"") -> Block:
    h = Header(
        chain_id="store-test",
        height=height,
        time_ns=1_000 + height,
        proposer=VAL.address,
        parent_hash=parent,
        last_commit_hash=b"",
        tx_root=b"\x00" * 32,
        evidence_root=EMPTY_ROOT,
        validators_hash=b"\x02" * 32,
        next_validators_hash=b"\x02" * 32,
        app_hash=bytes([height]) * 32,
        last_results_hash=EMPTY_ROOT,
    )
    return Block(h, txs, (), None)


def make_commit(block: Block) -> Commit:
    sig = CommitSig(CommitFlag.COMMIT, VAL.address, block.header.time_ns, b"\x09" * 64)
    return Commit(block.header.height, 0, block.hash(), (sig,))


def result(i: int) -> TxResult:
    ev = Event("transfer", (EventAttribute("n", str(i)),))
    return TxResult(0 if i % 2 == 0 else 15, "" if i % 2 == 0 else "qos", f"log {i}", i, (ev,))


def advance(state: ChainState, block: Block) -> ChainState:
    return state.advanced(
        height=block.header.height,
        block_hash=block.hash(),
        time_ns=block.header.time_ns,
        app_hash=bytes([block.header.height]) * 32,
        results_hash=b"\x07" * 32,
        next_validators=state.next_validators,
    )


@pytest.fixture
def store() -> BlockStore:
    s = BlockStore(memory_database())
    s.migrate()
    return s


def save_chain(store: BlockStore, n: int, txs_per_block: int = 2) -> list[Block]:
    state = ChainState.from_genesis(GENESIS, b"\x00" * 32)
    blocks: list[Block] = []
    parent = b""
    for height in range(1, n + 1):
        txs = tuple(f"tx-{height}-{i}".encode() for i in range(txs_per_block))
        block = make_block(height, txs, parent)
        state = advance(state, block)
        with store.db.atomic():
            store.save_block(
                block, make_commit(block), tuple(result(i) for i in range(len(txs))), state
            )
        blocks.append(block)
        parent = block.hash()
    return blocks


# --------------------------------------------------------------------------- round trips


def test_empty_store(store: BlockStore) -> None:
    assert store.load_state() is None
    assert (store.height(), store.base()) == (0, 0)
    assert store.block(1) is None
    assert store.commit(1) is None
    assert store.block_by_hash(b"\x00" * 32) is None
    assert store.tx(b"\x00" * 32) is None
    assert store.tx_results(1) == []
    assert store.blocks_desc(None, 10) == []
    assert store.pending() == []


def test_save_and_load_round_trip(store: BlockStore) -> None:
    blocks = save_chain(store, 3)
    assert (store.height(), store.base()) == (3, 1)
    for b in blocks:
        h = b.header.height
        assert store.block(h) == b
        assert store.block_by_hash(b.hash()) == b
        assert store.commit(h) == make_commit(b)
        assert store.tx_results(h) == [result(0), result(1)]
    state = store.load_state()
    assert state is not None
    assert state.last_block_height == 3
    assert state.last_block_hash == blocks[-1].hash()
    assert list(store.iter_blocks(1, 3)) == blocks


def test_save_state_overwrites(store: BlockStore) -> None:
    s = ChainState.from_genesis(GENESIS, b"\x00" * 32)
    store.save_state(s)
    s2 = replace(s, app_hash=b"\x05" * 32)
    store.save_state(s2)
    assert store.load_state() == s2
    assert store.db.conn.execute("SELECT COUNT(*) FROM chain_state").fetchone()[0] == 1


def test_tx_lookup_by_hash(store: BlockStore) -> None:
    save_chain(store, 3)
    rec = store.tx(tx_hash(b"tx-2-1"))
    assert rec is not None
    assert (rec.height, rec.index, rec.tx) == (2, 1, b"tx-2-1")
    assert rec.hash == tx_hash(b"tx-2-1")
    assert rec.result == result(1)
    assert store.tx(tx_hash(b"tx-9-9")) is None


def test_tx_lookup_returns_first_inclusion(store: BlockStore) -> None:
    state = ChainState.from_genesis(GENESIS, b"")
    for height in (1, 2):  # the same tx bytes in two blocks (a failed replay)
        block = make_block(height, (b"same",))
        state = advance(state, block)
        with store.db.atomic():
            store.save_block(block, make_commit(block), (result(height),), state)
    rec = store.tx(tx_hash(b"same"))
    assert rec is not None
    assert (rec.height, rec.result) == (1, result(1))


def test_blocks_desc_paging(store: BlockStore) -> None:
    save_chain(store, 7, txs_per_block=0)
    page1 = store.blocks_desc(None, 3)
    assert [b.header.height for b in page1] == [7, 6, 5]
    page2 = store.blocks_desc(page1[-1].header.height, 3)
    assert [b.header.height for b in page2] == [4, 3, 2]
    page3 = store.blocks_desc(page2[-1].header.height, 3)
    assert [b.header.height for b in page3] == [1]
    assert store.blocks_desc(1, 3) == []
    assert store.blocks_desc(None, 0) == []
    assert [b.header.height for b in store.blocks_desc(100, 2)] == [7, 6]


def test_iter_blocks_raises_on_a_hole(store: BlockStore) -> None:
    save_chain(store, 2)
    with pytest.raises(StoreError, match="block 3 missing"):
        list(store.iter_blocks(1, 3))


def test_duplicate_height_is_refused(store: BlockStore) -> None:
    blocks = save_chain(store, 1)
    state = store.load_state()
    assert state is not None
    with pytest.raises(Exception, match="UNIQUE"), store.db.atomic():
        store.save_block(blocks[0], make_commit(blocks[0]), (result(0), result(1)), state)
    assert store.height() == 1


def test_corrupt_row_raises_store_error(store: BlockStore) -> None:
    save_chain(store, 1)
    store.db.conn.execute("UPDATE blocks SET data = x'ff00' WHERE height = 1")
    with pytest.raises(StoreError, match="corrupt Block"):
        store.block(1)


# --------------------------------------------------------------------------- mempool table


def test_pending_round_trip_in_seq_order(store: BlockStore) -> None:
    store.add_pending(tx_hash(b"b"), 2, b"b")
    store.add_pending(tx_hash(b"a"), 1, b"a")
    store.add_pending(tx_hash(b"a"), 5, b"a")  # ignored: already pending
    assert store.pending() == [b"a", b"b"]
    store.remove_pending([tx_hash(b"a")])
    assert store.pending() == [b"b"]


def test_save_block_removes_its_txs_from_pending(store: BlockStore) -> None:
    store.add_pending(tx_hash(b"tx-1-0"), 1, b"tx-1-0")
    store.add_pending(tx_hash(b"other"), 2, b"other")
    save_chain(store, 1)
    assert store.pending() == [b"other"]


# --------------------------------------------------------------------------- atomicity


def _counts(db: Database) -> tuple[int, ...]:
    return tuple(
        db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("blocks", "commits", "txs", "mempool")
    )


def test_failed_save_block_inside_atomic_leaves_nothing(tmp_path: Path) -> None:
    db = open_database(tmp_path / "chain.db")
    store = BlockStore(db)
    store.migrate()
    save_chain(store, 1)
    old_state = store.load_state()
    store.add_pending(tx_hash(b"tx-2-0"), 1, b"tx-2-0")
    before = _counts(db)

    block = make_block(2, (b"tx-2-0", b"tx-2-1"))
    assert old_state is not None
    # blocks and commits rows are written, then the tx rows fail (one result for two txs)
    with pytest.raises(ValueError, match="zip"), db.atomic():
        store.save_block(block, make_commit(block), (result(0),), advance(old_state, block))
    assert _counts(db) == before
    assert store.block(2) is None
    assert store.commit(2) is None
    assert store.tx(tx_hash(b"tx-2-0")) is None
    assert store.load_state() == old_state
    assert store.pending() == [b"tx-2-0"]
    db.close()

    # and nothing of it reached the file
    db2 = open_database(tmp_path / "chain.db")
    store2 = BlockStore(db2)
    assert (store2.height(), store2.load_state()) == (1, old_state)
    assert _counts(db2) == before
    db2.close()


def test_failure_after_save_block_rolls_back_everything(store: BlockStore) -> None:
    save_chain(store, 1)
    old_state = store.load_state()
    assert old_state is not None
    before = _counts(store.db)
    block = make_block(2, (b"tx-2-0",))

    def save_then_fail() -> None:
        with store.db.atomic():
            store.save_block(block, make_commit(block), (result(0),), advance(old_state, block))
            raise RuntimeError("app commit failed")

    with pytest.raises(RuntimeError, match="app commit failed"):
        save_then_fail()
    assert _counts(store.db) == before
    assert store.load_state() == old_state


# --------------------------------------------------------------------------- migrations


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    db = open_database(tmp_path / "chain.db")
    store = BlockStore(db)
    store.migrate()
    save_chain(store, 2)
    tables = set(db.table_names())
    store.migrate()
    BlockStore(db).migrate()
    assert set(db.table_names()) == tables
    assert {"blocks", "commits", "txs", "chain_state", "mempool"} <= tables
    assert store.height() == 2
    db.close()
    db2 = open_database(tmp_path / "chain.db")
    BlockStore(db2).migrate()
    assert BlockStore(db2).height() == 2
    db2.close()
