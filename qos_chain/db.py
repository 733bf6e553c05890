"""Opening the node's SQLite database: WAL mode (readers run beside the single writer),
``synchronous=FULL`` for block commits, a busy timeout for readers, and migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database


def open_database(path: Path | str, *, readonly: bool = False) -> Database:
    """Open (creating if needed) a database at ``path`` in WAL mode."""
    if readonly:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=1")
        return Database(conn)
    db = Database(sqlite3.connect(str(path), check_same_thread=False))
    db.enable_wal()
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def memory_database() -> Database:
    db = Database(memory=True)
    db.execute("PRAGMA foreign_keys=ON")
    return db
