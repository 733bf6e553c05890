"""BlockStore: blocks, commits, tx results, chain state and the durable mempool in SQLite.

One database file per node (``data/chain.db``), WAL mode. The writer saves a block, its
commit, its tx results, the new :class:`ChainState` and the app's state changes inside one
``db.atomic()`` (see ``execution.py``), so after ``kill -9`` the store holds either the
whole block or none of it. Readers (the API) open their own read-only connection.

Tables (migration set ``qos_chain``):
  blocks(height PK, hash UNIQUE, time_ns, proposer, num_txs, data)   data = encode(Block)
  commits(height PK, data)       the +2/3 precommits that finalised block ``height``
  txs(height, idx, hash, data, result)  PK (height, idx), index on hash
  chain_state(id PK = 1, data)   encode(ChainState) after the last committed block
  mempool(hash PK, seq, data)    txs acknowledged to clients but not yet in a block
  evidence(height, idx, data)    committed equivocation evidence (DuplicateVoteEvidence)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlite_utils import Database, Migrations

from qos_chain import codec
from qos_chain.errors import DecodeError, StoreError
from qos_chain.state import ChainState
from qos_chain.types import Block, Commit, TxResult, tx_hash

T = TypeVar("T")

migrations = Migrations("qos_chain")


@migrations()
def m001_initial(db: Database) -> None:
    db.execute(
        "CREATE TABLE blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, "
        "time_ns INTEGER NOT NULL, proposer BLOB NOT NULL, num_txs INTEGER NOT NULL, "
        "data BLOB NOT NULL)"
    )
    db.execute("CREATE TABLE commits (height INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE txs (height INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
        "data BLOB NOT NULL, result BLOB NOT NULL, PRIMARY KEY (height, idx))"
    )
    db.execute("CREATE INDEX txs_hash ON txs(hash)")
    db.execute("CREATE TABLE chain_state (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB)")
    db.execute(
        "CREATE TABLE mempool (hash BLOB PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL)"
    )


@migrations()
def m002_evidence(db: Database) -> None:
    db.execute(
        "CREATE TABLE evidence (height INTEGER NOT NULL, idx INTEGER NOT NULL, "
        "data BLOB NOT NULL, PRIMARY KEY (height, idx))"
    )


@dataclass(frozen=True, slots=True)
class TxRecord:
    hash: bytes
    height: int
    index: int
    tx: bytes
    result: TxResult


class BlockStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def migrate(self) -> None:
        migrations.apply(self.db)

    # ------------------------------------------------------------------ writes

    def save_block(
        self,
        block: Block,
        commit: Commit,
        results: tuple[TxResult, ...],
        state: ChainState,
        *,
        encoded_results: Sequence[bytes] | None = None,
    ) -> None:
        """Save a committed block; the caller wraps this in ``db.atomic()``.
        ``encoded_results``: ``codec.encode`` of each result, if the caller has them."""
        h = block.header
        if encoded_results is None:
            encoded_results = [codec.encode(r) for r in results]
        c = self.db.conn
        c.execute(
            "INSERT INTO blocks (height, hash, time_ns, proposer, num_txs, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (h.height, block.hash(), h.time_ns, h.proposer, len(block.txs), codec.encode(block)),
        )
        c.execute(
            "INSERT INTO commits (height, data) VALUES (?, ?)", (h.height, codec.encode(commit))
        )
        hashes = [tx_hash(tx) for tx in block.txs]
        c.executemany(
            "INSERT INTO txs (height, idx, hash, data, result) VALUES (?, ?, ?, ?, ?)",
            [
                (h.height, i, txh, tx, res)
                for i, (txh, tx, res) in enumerate(
                    zip(hashes, block.txs, encoded_results, strict=True)
                )
            ],
        )
        c.executemany("DELETE FROM mempool WHERE hash = ?", [(txh,) for txh in hashes])
        c.executemany(
            "INSERT INTO evidence (height, idx, data) VALUES (?, ?, ?)",
            [(h.height, i, ev) for i, ev in enumerate(block.evidence)],
        )
        self.save_state(state)

    def save_state(self, state: ChainState) -> None:
        self.db.conn.execute(
            "INSERT INTO chain_state (id, data) VALUES (1, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (codec.encode(state),),
        )

    def add_pending(self, txhash: bytes, seq: int, tx: bytes) -> None:
        """Durably record a tx acknowledged to a client (see :meth:`add_pending_many`)."""
        self.add_pending_many([(txhash, seq, tx)])

    def add_pending_many(self, rows: Sequence[tuple[bytes, int, bytes]]) -> None:
        """Durably record txs ``(hash, seq, tx)`` acknowledged to clients, all in one
        SQLite transaction (all or none).

        Committed in WAL mode with ``synchronous=NORMAL``: the commit has reached the OS
        when this returns, so it survives the process being killed (``kill -9``); only an
        OS crash or power loss before the next block's fsync (``synchronous=FULL``) can
        lose it. Blocks themselves are always committed with FULL.
        """
        if not rows:
            return
        c = self.db.conn
        c.execute("PRAGMA synchronous=NORMAL")
        try:
            with self.db.atomic():
                c.executemany(
                    "INSERT OR IGNORE INTO mempool (hash, seq, data) VALUES (?, ?, ?)", rows
                )
        finally:
            c.execute("PRAGMA synchronous=FULL")

    def remove_pending(self, hashes: Iterable[bytes]) -> None:
        with self.db.atomic():
            self.db.conn.executemany("DELETE FROM mempool WHERE hash = ?", [(h,) for h in hashes])

    def max_pending_seq(self) -> int:
        row = self.db.conn.execute("SELECT MAX(seq) FROM mempool").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def pending(self) -> list[bytes]:
        return [r[0] for r in self.db.conn.execute("SELECT data FROM mempool ORDER BY seq")]

    # ------------------------------------------------------------------ reads

    def load_state(self) -> ChainState | None:
        row = self.db.conn.execute("SELECT data FROM chain_state WHERE id = 1").fetchone()
        return None if row is None else _decode(ChainState, row[0])

    def height(self) -> int:
        row = self.db.conn.execute("SELECT MAX(height) FROM blocks").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def base(self) -> int:
        row = self.db.conn.execute("SELECT MIN(height) FROM blocks").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def block(self, height: int) -> Block | None:
        row = self.db.conn.execute("SELECT data FROM blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else _decode(Block, row[0])

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        row = self.db.conn.execute(
            "SELECT data FROM blocks WHERE hash = ?", (block_hash,)
        ).fetchone()
        return None if row is None else _decode(Block, row[0])

    def commit(self, height: int) -> Commit | None:
        row = self.db.conn.execute(
            "SELECT data FROM commits WHERE height = ?", (height,)
        ).fetchone()
        return None if row is None else _decode(Commit, row[0])

    def blocks_desc(self, before: int | None, limit: int) -> list[Block]:
        """Up to ``limit`` blocks with height < ``before`` (newest first)."""
        bound = before if before is not None else 1 << 62
        rows = self.db.conn.execute(
            "SELECT data FROM blocks WHERE height < ? ORDER BY height DESC LIMIT ?",
            (bound, limit),
        )
        return [_decode(Block, r[0]) for r in rows]

    def tx(self, txhash: bytes) -> TxRecord | None:
        row = self.db.conn.execute(
            "SELECT height, idx, data, result FROM txs WHERE hash = ? ORDER BY height LIMIT 1",
            (txhash,),
        ).fetchone()
        if row is None:
            return None
        return TxRecord(txhash, row[0], row[1], row[2], _decode(TxResult, row[3]))

    def tx_results(self, height: int) -> list[TxResult]:
        rows = self.db.conn.execute(
            "SELECT result FROM txs WHERE height = ? ORDER BY idx", (height,)
        )
        return [_decode(TxResult, r[0]) for r in rows]

    def evidence(self, limit: int) -> list[tuple[int, bytes]]:
        """Committed evidence, newest first: (height, encoded evidence)."""
        rows = self.db.conn.execute(
            "SELECT height, data FROM evidence ORDER BY height DESC, idx LIMIT ?", (limit,)
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def iter_blocks(self, start: int, stop: int) -> Iterator[Block]:
        for h in range(start, stop + 1):
            b = self.block(h)
            if b is None:
                raise StoreError(f"block {h} missing from the store")
            yield b


def _decode(cls: type[T], data: bytes) -> T:
    try:
        return codec.decode(cls, data)
    except DecodeError as exc:
        raise StoreError(f"corrupt {cls.__name__} in the store: {exc.message}") from exc
