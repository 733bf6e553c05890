"""Pins in SQLite and the mark-and-sweep garbage collector.

Table (sqlite-utils migration set ``qos_ipfs``)::

    ipfs_pins(cid BLOB PRIMARY KEY, mode TEXT 'recursive'|'direct', name TEXT, created_ns INT)

A recursive pin keeps its root and every block reachable from it; a direct pin keeps just
that block. Pinning recursively replaces a direct pin of the same CID; pinning directly
what is already pinned recursively is refused (as Kubo does).

:func:`gc` marks every block reachable from a recursive pin, plus every directly pinned
block, then deletes every other block (one transaction on a pack store) and lets the store
reclaim the space (``compact``: a pack store rewrites mostly-dead segments). If a block
needed for marking is missing or corrupt, the error propagates and **nothing** is deleted:
an incomplete mark could otherwise sweep live blocks below the gap. GC must not run
concurrently with an import whose root is not yet pinned (the caller serialises them, as
Kubo's GC lock does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database, Migrations

from qos_ipfs.blockstore import Blockstore, CompactingBlockstore, delete_many
from qos_ipfs.cid import CID
from qos_ipfs.dagpb import child_cids
from qos_ipfs.errors import PinError

migrations = Migrations("qos_ipfs")


@migrations()
def m001_pins(db: Database) -> None:
    db.execute(
        "CREATE TABLE ipfs_pins (cid BLOB PRIMARY KEY, "
        "mode TEXT NOT NULL CHECK (mode IN ('recursive', 'direct')), "
        "name TEXT NOT NULL DEFAULT '', created_ns INTEGER NOT NULL)"
    )


class PinMode(StrEnum):
    RECURSIVE = "recursive"
    DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Pin:
    cid: CID
    mode: PinMode
    name: str


class PinStore:
    """Pins of one node. ``db`` comes from ``qos_chain.db.open_database``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrations.apply(db)

    def add(self, cid: CID, *, recursive: bool = True, name: str = "") -> None:
        current = self.get(cid)
        mode = PinMode.RECURSIVE if recursive else PinMode.DIRECT
        if current is not None and current.mode == PinMode.RECURSIVE and not recursive:
            raise PinError(f"{cid} is already pinned recursively")
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO ipfs_pins (cid, mode, name, created_ns) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (cid) DO UPDATE SET mode = excluded.mode, name = excluded.name",
                (cid.to_bytes(), str(mode), name, time.time_ns()),
            )

    def remove(self, cid: CID) -> None:
        with self.db.conn:
            cur = self.db.conn.execute("DELETE FROM ipfs_pins WHERE cid = ?", (cid.to_bytes(),))
        if cur.rowcount == 0:
            raise PinError(f"{cid} is not pinned")

    def get(self, cid: CID) -> Pin | None:
        row = self.db.conn.execute(
            "SELECT cid, mode, name FROM ipfs_pins WHERE cid = ?", (cid.to_bytes(),)
        ).fetchone()
        return None if row is None else _pin(row)

    def ls(self, mode: PinMode | None = None) -> list[Pin]:
        sql = "SELECT cid, mode, name FROM ipfs_pins"
        args: tuple[str, ...] = ()
        if mode is not None:
            sql += " WHERE mode = ?"
            args = (str(mode),)
        return [_pin(row) for row in self.db.conn.execute(sql + " ORDER BY cid", args)]


def _pin(row: tuple[bytes, str, str]) -> Pin:
    return Pin(CID.from_bytes(row[0]), PinMode(row[1]), row[2])


@dataclass(frozen=True, slots=True)
class GcResult:
    kept: int
    removed: tuple[CID, ...]
    compaction: object = None
    """What the store's ``compact()`` reported (pack store: a ``CompactResult``)."""


def reachable(store: Blockstore, roots: list[CID]) -> set[bytes]:
    """Multihashes of every block reachable from ``roots`` (iterative DFS)."""
    seen: set[bytes] = set()
    stack = list(reversed(roots))
    while stack:
        cid = stack.pop()
        if cid.multihash in seen:
            continue
        seen.add(cid.multihash)
        stack.extend(reversed(child_cids(cid, store.get(cid))))
    return seen


def gc(store: Blockstore, pins: PinStore) -> GcResult:
    """Mark from the pins, then sweep every unmarked block."""
    live = reachable(store, [p.cid for p in pins.ls(PinMode.RECURSIVE)])
    live.update(p.cid.multihash for p in pins.ls(PinMode.DIRECT))
    removed = []
    kept = 0
    for cid in list(store.iter_cids()):
        if cid.multihash in live:
            kept += 1
        else:
            removed.append(cid)
    delete_many(store, removed)
    compaction = store.compact() if isinstance(store, CompactingBlockstore) else None
    return GcResult(kept, tuple(removed), compaction)
