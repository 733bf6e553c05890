"""MerkleStore: the application's key/value state with an incremental Merkle app hash.

Layout: every key falls in one of ``2**16`` buckets, ``bucket = sha256(key)[:2]``. A bucket's
root is the RFC 6962 Merkle root (``qos_chain.merkle``) over its entries sorted by key, an
entry being ``uvarint(len(key)) || key || sha256(value)``. The app hash is the Merkle root
over the 65,536 bucket roots in bucket order, i.e. a Merkle root over the whole state sorted
by (bucket, key). A block that touches k keys rehashes only those buckets (about
``N / 65536`` entries each) and 16 tree levels per bucket, so the cost of a commit does not
grow with the state, and an entry is provable by its bucket's leaves plus 16 siblings.

Writes are staged by ``stage(writes)`` (which returns the new app hash without persisting)
and persisted by ``commit()``, which the engine calls inside the block's ``db.atomic()``.

Tables (migration set ``qos_app``):
  app_state(key PK, bucket, vhash, value)    index on bucket
  app_buckets(bucket PK, root)              non-empty buckets only
  app_meta(id PK = 1, height, app_hash)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database, Migrations

from qos_chain.codec import uvarint
from qos_chain.merkle import EMPTY_ROOT, inner_hash, leaf_hash, merkle_root

BUCKET_BITS = 16
N_BUCKETS = 1 << BUCKET_BITS
READ_CACHE_KEYS = 100_000

migrations = Migrations("qos_app")


@migrations()
def m001_state(db: Database) -> None:
    db.execute(
        "CREATE TABLE app_state (key BLOB PRIMARY KEY, bucket INTEGER NOT NULL, "
        "vhash BLOB NOT NULL, value BLOB NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX app_state_bucket ON app_state(bucket)")
    db.execute("CREATE TABLE app_buckets (bucket INTEGER PRIMARY KEY, root BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE app_meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "height INTEGER NOT NULL, app_hash BLOB NOT NULL)"
    )


def bucket_of(key: bytes) -> int:
    d = hashlib.sha256(key).digest()
    return int.from_bytes(d[:2], "big") >> (16 - BUCKET_BITS)


def entry_leaf(key: bytes, vhash: bytes) -> bytes:
    return uvarint(len(key)) + key + vhash


@dataclass(frozen=True, slots=True)
class Staged:
    writes: dict[bytes, bytes | None]
    bucket_roots: dict[int, bytes]
    nodes: dict[int, bytes]  # changed top-tree nodes (heap index -> hash)
    height: int
    app_hash: bytes


class MerkleStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        migrations.apply(db)
        self._tree = bytearray(2 * N_BUCKETS * 32)
        self._load_tree()
        row = db.conn.execute("SELECT height, app_hash FROM app_meta WHERE id = 1").fetchone()
        self.height: int = row[0] if row else 0
        self._staged: Staged | None = None
        # committed values read since the last commit (key -> value or None): checks of
        # many txs of one sender read the same nonce; emptied whenever the state changes
        self._reads: dict[bytes, bytes | None] = {}

    # ------------------------------------------------------------------ tree

    def _node(self, i: int) -> bytes:
        return bytes(self._tree[i * 32 : (i + 1) * 32])

    def _set(self, i: int, h: bytes) -> None:
        self._tree[i * 32 : (i + 1) * 32] = h

    def _load_tree(self) -> None:
        empty_leaf = leaf_hash(EMPTY_ROOT)
        for b in range(N_BUCKETS):
            self._set(N_BUCKETS + b, empty_leaf)
        for bucket, root in self.db.conn.execute("SELECT bucket, root FROM app_buckets"):
            self._set(N_BUCKETS + bucket, leaf_hash(root))
        for i in range(N_BUCKETS - 1, 0, -1):
            self._set(i, inner_hash(self._node(2 * i), self._node(2 * i + 1)))

    @property
    def app_hash(self) -> bytes:
        return self._node(1)

    # ------------------------------------------------------------------ reads

    def get(self, key: bytes) -> bytes | None:
        reads = self._reads
        if key in reads:
            return reads[key]
        row = self.db.conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
        value = None if row is None else bytes(row[0])
        if len(reads) >= READ_CACHE_KEYS:
            reads.clear()
        reads[key] = value
        return value

    def prefix(self, prefix: bytes, limit: int = 1000) -> list[tuple[bytes, bytes]]:
        hi = _prefix_end(prefix)
        sql = "SELECT key, value FROM app_state WHERE key >= ?"
        args: list[object] = [prefix]
        if hi is not None:
            sql += " AND key < ?"
            args.append(hi)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return [(bytes(k), bytes(v)) for k, v in self.db.conn.execute(sql, args)]

    def bucket_root(self, bucket: int, overrides: Mapping[bytes, bytes | None]) -> bytes:
        rows = {
            bytes(k): bytes(vh)
            for k, vh in self.db.conn.execute(
                "SELECT key, vhash FROM app_state WHERE bucket = ?", (bucket,)
            )
        }
        for k, v in overrides.items():
            if v is None:
                rows.pop(k, None)
            else:
                rows[k] = hashlib.sha256(v).digest()
        if not rows:
            return EMPTY_ROOT
        return merkle_root([entry_leaf(k, rows[k]) for k in sorted(rows)])

    # ------------------------------------------------------------------ writes

    def stage(self, writes: Mapping[bytes, bytes | None], height: int) -> bytes:
        """Compute the app hash after ``writes`` without persisting; ``commit`` persists."""
        by_bucket: dict[int, dict[bytes, bytes | None]] = {}
        for k, v in writes.items():
            by_bucket.setdefault(bucket_of(k), {})[k] = v
        roots = {b: self.bucket_root(b, ov) for b, ov in by_bucket.items()}
        nodes: dict[int, bytes] = {}

        def node(i: int) -> bytes:
            return nodes.get(i) or self._node(i)

        level = sorted(N_BUCKETS + b for b in roots)
        for i in level:
            nodes[i] = leaf_hash(roots[i - N_BUCKETS])
        while level and level[0] > 1:  # each changed ancestor once, level by level
            level = sorted({i // 2 for i in level})
            for i in level:
                nodes[i] = inner_hash(node(2 * i), node(2 * i + 1))
        app_hash = nodes.get(1, self._node(1))
        self._staged = Staged(dict(writes), roots, nodes, height, app_hash)
        return app_hash

    def commit(self) -> bytes:
        """Persist the staged writes (call inside the block's ``db.atomic()``)."""
        s = self._staged
        if s is None:
            raise RuntimeError("commit without stage")
        self._reads.clear()  # before writing: a rolled-back commit leaves nothing stale
        c = self.db.conn
        puts = [
            (k, bucket_of(k), hashlib.sha256(v).digest(), v)
            for k, v in s.writes.items()
            if v is not None
        ]
        dels = [(k,) for k, v in s.writes.items() if v is None]
        c.executemany(
            "INSERT INTO app_state (key, bucket, vhash, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET vhash = excluded.vhash, value = excluded.value",
            puts,
        )
        c.executemany("DELETE FROM app_state WHERE key = ?", dels)
        c.executemany(
            "DELETE FROM app_buckets WHERE bucket = ?",
            [(b,) for b, r in s.bucket_roots.items() if r == EMPTY_ROOT],
        )
        c.executemany(
            "INSERT INTO app_buckets (bucket, root) VALUES (?, ?) "
            "ON CONFLICT(bucket) DO UPDATE SET root = excluded.root",
            [(b, r) for b, r in s.bucket_roots.items() if r != EMPTY_ROOT],
        )
        c.execute(
            "INSERT INTO app_meta (id, height, app_hash) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET height = excluded.height, app_hash = excluded.app_hash",
            (s.height, s.app_hash),
        )
        for i, h in s.nodes.items():
            self._set(i, h)
        self.height = s.height
        self._staged = None
        return s.app_hash

    def reload(self) -> None:
        """Rebuild the in-memory tree from the database (after a rolled-back commit)."""
        self._staged = None
        self._reads.clear()
        self._load_tree()
        row = self.db.conn.execute("SELECT height FROM app_meta WHERE id = 1").fetchone()
        self.height = row[0] if row else 0


def _prefix_end(prefix: bytes) -> bytes | None:
    b = bytearray(prefix)
    while b:
        if b[-1] < 0xFF:
            b[-1] += 1
            return bytes(b)
        b.pop()
    return None
