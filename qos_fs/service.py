"""``FileService``: the node-local side of files: uploads, local pins, progress, tokens.

* **Uploads** stream into the backend's importer (``IpfsBackend.add``), one chunk at a
  time, never the whole file in memory; a configurable size limit (``UploadTooLarge``).
  An acknowledged upload is a local pin (status ``pinned``) of the uploader's DID.
* **Local pins** (the IPFS Pinning Service API): a request is recorded ``queued``, goes
  ``pinning`` while the node pins it (and, when a ``fetch`` hook is wired, fetches missing
  blocks from ``origins`` / the network), then ``pinned`` or ``failed`` with details.
* **On-chain pins** (``qos_fs.module``): the chain holds ownership and intent; this node
  records its own progress for each committed record in ``fs_chain_pins``.
* **Reference counting**: the backend holds one recursive pin per CID as long as any
  pinned local or on-chain record names it; removing the last one unpins it.
* **GC lock**: uploads register as in flight; ``gc()`` waits until none is, and holds the
  service lock, so GC never sweeps the blocks of an import whose root is not pinned yet,
  and an unpin that would race an upload of the same content is deferred until it ends.
* **Tokens**: bearer tokens issued to a DID (after the API checked a DID-signed request),
  stored as SHA-256 hashes, revocable one by one.

Tables (sqlite-utils migration set ``qos_fs``): ``fs_pins``, ``fs_chain_pins``,
``fs_tokens``, ``fs_token_requests``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, BinaryIO

from sqlite_utils import Database, Migrations

from qos_fs.errors import LocalPinNotFound, TokenError, UploadTooLarge
from qos_ipfs.backend import IpfsBackend
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound, IpfsError, PinError
from qos_ipfs.exporter import file_size
from qos_ipfs.importer import KUBO_V0, Profile

DEFAULT_MAX_UPLOAD = 1 << 30  # 1 GiB
MAX_LIST = 1000
_IN_CHUNK = 500  # host parameters per IN (...) list
TOKEN_PREFIX = "qos_pat_"  # noqa: S105 - a public prefix, not a secret

migrations = Migrations("qos_fs")


@migrations()
def m001_files(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE fs_pins (
            requestid TEXT PRIMARY KEY, owner TEXT NOT NULL, cid BLOB NOT NULL,
            cid_text TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', meta TEXT NOT NULL,
            origins TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL DEFAULT '',
            size INTEGER, created_ns INTEGER NOT NULL UNIQUE, updated_ns INTEGER NOT NULL);
        CREATE INDEX fs_pins_owner ON fs_pins (owner, created_ns);
        CREATE INDEX fs_pins_cid ON fs_pins (cid);
        CREATE TABLE fs_chain_pins (
            owner TEXT NOT NULL, cid BLOB NOT NULL, status TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '', updated_ns INTEGER NOT NULL,
            PRIMARY KEY (owner, cid));
        CREATE INDEX fs_chain_pins_cid ON fs_chain_pins (cid);
        CREATE TABLE fs_tokens (
            id TEXT PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE, did TEXT NOT NULL,
            label TEXT NOT NULL, created_ns INTEGER NOT NULL, revoked_ns INTEGER);
        CREATE INDEX fs_tokens_did ON fs_tokens (did);
        CREATE TABLE fs_token_requests (digest BLOB PRIMARY KEY, created_ns INTEGER NOT NULL);
        """
    )


@migrations()
def m002_listing_indexes(db: Database) -> None:
    """Indexes for the Pinning API's listing and the name filters (measured with 1M pins:
    the default listing's count scanned ~100k rows, a name filter walked the table)."""
    db.executescript(
        """
        CREATE INDEX fs_pins_owner_status ON fs_pins (owner, status, created_ns);
        CREATE INDEX fs_pins_owner_name ON fs_pins (owner, name, created_ns);
        CREATE INDEX fs_pins_name ON fs_pins (name, created_ns);
        """
    )


@migrations()
def m003_pin_counts(db: Database) -> None:
    """Per owner and status, the number of local pins, kept by triggers in the same
    transaction as every insert, delete and status (or owner) change of ``fs_pins``: the
    Pinning API's ``count`` without a ``count(*)`` over an owner's rows."""
    db.executescript(
        """
        CREATE TABLE fs_pin_counts (
            owner TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (owner, status)) WITHOUT ROWID;
        INSERT INTO fs_pin_counts (owner, status, n)
            SELECT owner, status, count(*) FROM fs_pins GROUP BY owner, status;
        CREATE TRIGGER fs_pins_count_insert AFTER INSERT ON fs_pins BEGIN
            INSERT INTO fs_pin_counts (owner, status, n) VALUES (new.owner, new.status, 1)
                ON CONFLICT (owner, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER fs_pins_count_delete AFTER DELETE ON fs_pins BEGIN
            UPDATE fs_pin_counts SET n = n - 1 WHERE owner = old.owner AND status = old.status;
        END;
        CREATE TRIGGER fs_pins_count_update AFTER UPDATE OF owner, status ON fs_pins
            WHEN new.owner IS NOT old.owner OR new.status IS NOT old.status BEGIN
            UPDATE fs_pin_counts SET n = n - 1 WHERE owner = old.owner AND status = old.status;
            INSERT INTO fs_pin_counts (owner, status, n) VALUES (new.owner, new.status, 1)
                ON CONFLICT (owner, status) DO UPDATE SET n = n + 1;
        END;
        """
    )


@migrations()
def m004_listing_indexes(db: Database) -> None:
    """``GET /pins?name=..&match=iexact``: the owner's pins by ``lower(name)`` (the filter's
    own expression), newest first (without it a big owner's rows were all read: 176 ms for
    100,000 pins); a CID's local pins newest first (``pins(cid)``, ``file(cid)``) without
    sorting them."""
    db.executescript(
        """
        CREATE INDEX fs_pins_owner_lname ON fs_pins (owner, lower(name), created_ns);
        DROP INDEX fs_pins_cid;
        CREATE INDEX fs_pins_cid ON fs_pins (cid, created_ns);
        """
    )


@migrations()
def m005_owner_status_covers_name(db: Database) -> None:
    """``fs_pins_owner_status`` also holds the name: a ``partial`` / ``ipartial`` name
    filter's count reads the index only (99 -> 17 ms over 100,000 pins of one owner)."""
    db.executescript(
        """
        DROP INDEX fs_pins_owner_status;
        CREATE INDEX fs_pins_owner_status ON fs_pins (owner, status, created_ns, name);
        """
    )


@migrations()
def m006_pin_meta(db: Database) -> None:
    """Each local pin's ``meta`` pairs, kept by triggers, keyed by owner, key and value and
    linked by ``created_ns`` (unique, never changes, and in the owner's listing indexes):
    a ``meta`` filter checks the owner's index entries against this index instead of
    parsing every row's JSON (132 ms for 100,000 pins of one owner)."""
    db.executescript(
        """
        CREATE TABLE fs_pin_meta (
            owner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            created_ns INTEGER NOT NULL, PRIMARY KEY (owner, key, value, created_ns)
        ) WITHOUT ROWID;
        CREATE INDEX fs_pin_meta_pin ON fs_pin_meta (created_ns);
        INSERT INTO fs_pin_meta (owner, key, value, created_ns)
            SELECT p.owner, j.key, j.value, p.created_ns FROM fs_pins AS p, json_each(p.meta) AS j
            WHERE p.meta != '{}' AND j.type = 'text';
        CREATE TRIGGER fs_pins_meta_insert AFTER INSERT ON fs_pins
            WHEN new.meta != '{}' BEGIN
            INSERT INTO fs_pin_meta (owner, key, value, created_ns)
                SELECT new.owner, j.key, j.value, new.created_ns FROM json_each(new.meta) AS j
                WHERE j.type = 'text';
        END;
        CREATE TRIGGER fs_pins_meta_delete AFTER DELETE ON fs_pins BEGIN
            DELETE FROM fs_pin_meta WHERE created_ns = old.created_ns;
        END;
        CREATE TRIGGER fs_pins_meta_update AFTER UPDATE OF owner, meta, created_ns ON fs_pins
            BEGIN
            DELETE FROM fs_pin_meta WHERE created_ns = old.created_ns;
            INSERT INTO fs_pin_meta (owner, key, value, created_ns)
                SELECT new.owner, j.key, j.value, new.created_ns FROM json_each(new.meta) AS j
                WHERE j.type = 'text';
        END;
        """
    )


class PinStatus(StrEnum):
    QUEUED = "queued"
    PINNING = "pinning"
    PINNED = "pinned"
    FAILED = "failed"


class Match(StrEnum):
    EXACT = "exact"
    IEXACT = "iexact"
    PARTIAL = "partial"
    IPARTIAL = "ipartial"


@dataclass(frozen=True, slots=True)
class LocalPin:
    requestid: str
    owner: str
    cid: CID
    cid_text: str  # the CID as the client wrote it
    name: str
    meta: dict[str, str]
    origins: tuple[str, ...]
    status: PinStatus
    details: str
    size: int | None
    created_ns: int


@dataclass(frozen=True, slots=True)
class ChainProgress:
    status: PinStatus
    details: str
    updated_ns: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    did: str
    label: str
    created_ns: int
    revoked_ns: int | None


@dataclass(frozen=True, slots=True)
class PinQuery:
    """Filters of ``GET /pins`` (the Pinning Service API's, same meaning)."""

    cids: tuple[bytes, ...] = ()
    name: str | None = None
    match: Match = Match.EXACT
    statuses: tuple[PinStatus, ...] = (PinStatus.PINNED,)
    before_ns: int | None = None
    after_ns: int | None = None
    meta: tuple[tuple[str, str], ...] = ()
    limit: int = 10


Fetch = Callable[[CID, tuple[str, ...]], None]
"""Fetch a DAG's missing blocks into the backend (block exchange; origins as hints)."""

_COLS = "requestid, owner, cid, cid_text, name, meta, origins, status, details, size, created_ns"
_INSERT = f"INSERT INTO fs_pins ({_COLS}, updated_ns) "
_SELECT = f"SELECT {_COLS} FROM fs_pins"  # noqa: S608 - constant column list


def _row(r: tuple[Any, ...]) -> LocalPin:
    size = None if r[9] is None else int(r[9])
    return LocalPin(
        r[0], r[1], CID.from_bytes(bytes(r[2])), r[3], r[4], json.loads(r[5]),
        tuple(json.loads(r[6])), PinStatus(r[7]), r[8], size, int(r[10]),
    )  # fmt: skip


class _Limited:
    """A read-only file object over ``stream`` that refuses more than ``limit`` bytes."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._add(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer`` (the pack store's write buffer: no copy of the bytes here)
        when the stream can; otherwise one copy of what ``read`` returns."""
        inner = getattr(self._stream, "readinto", None)
        if inner is not None:
            k = int(inner(buffer))
        else:
            dest = memoryview(buffer).cast("B")
            data = self._stream.read(len(dest))
            k = len(data)
            dest[:k] = data
        self._add(k)
        return k

    def _add(self, k: int) -> None:
        self.count += k
        if self.count > self._limit:
            raise UploadTooLarge(f"upload exceeds the limit of {self._limit} bytes")


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class FileService:
    def __init__(
        self,
        backend: IpfsBackend,
        db: Database,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
        profile: Profile = KUBO_V0,
        clock: Callable[[], int] = time.time_ns,
        fetch: Fetch | None = None,
        delegates: Sequence[str] = (),
    ) -> None:
        self.backend = backend
        self.db = db
        self.max_upload_bytes = max_upload_bytes
        self.profile = profile
        self.delegates = tuple(delegates)
        self._clock = clock
        self._fetch = fetch
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._deferred: set[bytes] = set()
        self._last_created = 0
        migrations.apply(db)
        row = db.conn.execute("SELECT max(created_ns) FROM fs_pins").fetchone()
        self._last_created = int(row[0] or 0)

    # ------------------------------------------------------------------ helpers

    def _now_unique(self) -> int:
        """A creation time strictly above every earlier one (pagination needs uniqueness)."""
        now = max(self._clock(), self._last_created + 1)
        self._last_created = now
        return now

    def _pinned_refs(self, cid: bytes) -> int:
        row = self.db.conn.execute(
            "SELECT (SELECT count(*) FROM fs_pins WHERE cid = ? AND status = 'pinned') + "
            "(SELECT count(*) FROM fs_chain_pins WHERE cid = ? AND status = 'pinned')",
            (cid, cid),
        ).fetchone()
        return int(row[0])

    def _release(self, cid: bytes) -> None:
        """Unpin ``cid`` in the backend if nothing pinned names it any more (lock held)."""
        if self._pinned_refs(cid):
            return
        if self._inflight:
            self._deferred.add(cid)
            return
        with contextlib.suppress(PinError):
            self.backend.unpin(CID.from_bytes(cid))

    def _end_upload(self) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            deferred, self._deferred = self._deferred, set()
            for cid in sorted(deferred):
                self._release(cid)
            self._idle.notify_all()

    def _pin_in_backend(self, cid: CID, origins: tuple[str, ...]) -> tuple[PinStatus, str]:
        """Pin (lock held); fetch missing blocks first when a fetcher is wired."""
        try:
            self.backend.pin(cid)
        except BlockNotFound as exc:
            if self._fetch is None:
                return PinStatus.FAILED, f"content not available on this node: {exc.message}"
            try:
                self._fetch(cid, origins)
                self.backend.pin(cid)
            except IpfsError as exc2:
                return PinStatus.FAILED, f"could not fetch the content: {exc2.message}"
        except IpfsError as exc:
            return PinStatus.FAILED, exc.message
        return PinStatus.PINNED, ""

    def _size_of(self, cid: CID) -> int | None:
        try:
            return file_size(self.backend.blocks, cid)
        except IpfsError:
            return None

    # ------------------------------------------------------------------ uploads

    def add(
        self,
        stream: BinaryIO,
        owner: str,
        *,
        name: str | Callable[[], str] = "",
        profile: Profile | None = None,
    ) -> LocalPin:
        """Import ``stream`` (streaming, size-limited), pin it, record a pinned local pin.
        ``name`` may be a callable, asked once the stream is consumed (multipart filenames)."""
        with self._lock:
            self._inflight += 1
        try:
            limited = _Limited(stream, self.max_upload_bytes)
            result = self.backend.add(limited, profile or self.profile, pin=True)  # type: ignore[arg-type]
            final_name = name() if callable(name) else name
            with self._lock:
                now = self._now_unique()
                rid = str(uuid.uuid4())
                with self.db.conn:
                    self.db.conn.execute(
                        _INSERT
                        + "VALUES (?, ?, ?, ?, ?, '{}', '[]', 'pinned', '', ?, ?, ?)",
                        (rid, owner, result.root.to_bytes(), str(result.root),
                         final_name[:255], result.size, now, now),
                    )  # fmt: skip
                return self.get_pin(owner, rid)
        finally:
            with self._lock:
                self._end_upload()

    # ------------------------------------------------------------------ local pins

    def request_pin(
        self,
        owner: str,
        cid_text: str,
        *,
        name: str = "",
        meta: dict[str, str] | None = None,
        origins: Sequence[str] = (),
    ) -> LocalPin:
        """Record a ``queued`` pin request (``InvalidCid`` for a bad CID)."""
        cid = CID.parse(cid_text)
        with self._lock:
            now = self._now_unique()
            rid = str(uuid.uuid4())
            with self.db.conn:
                self.db.conn.execute(
                    _INSERT
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', '', NULL, ?, ?)",
                    (rid, owner, cid.to_bytes(), cid_text, name, json.dumps(meta or {}),
                     json.dumps(list(origins)), now, now),
                )  # fmt: skip
            return self.get_pin(owner, rid)

    def _set_status(self, rid: str, status: PinStatus, details: str, size: int | None) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE fs_pins SET status = ?, details = ?, size = coalesce(?, size), "
                "updated_ns = ? WHERE requestid = ?",
                (str(status), details, size, self._clock(), rid),
            )

    def process(self, owner: str, requestid: str) -> LocalPin:
        """Drive a queued request: ``pinning`` then ``pinned`` or ``failed``."""
        with self._lock:
            pin = self.get_pin(owner, requestid)
            if pin.status is not PinStatus.QUEUED:
                return pin
            self._set_status(requestid, PinStatus.PINNING, "", None)
            status, details = self._pin_in_backend(pin.cid, pin.origins)
            size = self._size_of(pin.cid) if status is PinStatus.PINNED else None
            self._set_status(requestid, status, details, size)
            return self.get_pin(owner, requestid)

    def get_pin(self, owner: str, requestid: str) -> LocalPin:
        row = self.db.conn.execute(
            _SELECT + " WHERE requestid = ? AND owner = ?", (requestid, owner)
        ).fetchone()
        if row is None:
            raise LocalPinNotFound(f"no pin request {requestid[:64]!r}")
        return _row(row)

    def remove_pin(self, owner: str, requestid: str) -> None:
        with self._lock:
            pin = self.get_pin(owner, requestid)
            with self.db.conn:
                self.db.conn.execute("DELETE FROM fs_pins WHERE requestid = ?", (requestid,))
            self._release(pin.cid.to_bytes())

    def replace_pin(
        self,
        owner: str,
        requestid: str,
        cid_text: str,
        *,
        name: str = "",
        meta: dict[str, str] | None = None,
        origins: Sequence[str] = (),
    ) -> LocalPin:
        """Add the new pin, then remove the old one (blocks common to both stay pinned)."""
        with self._lock:
            self.get_pin(owner, requestid)
            new = self.request_pin(owner, cid_text, name=name, meta=meta, origins=origins)
            new = self.process(owner, new.requestid)
            self.remove_pin(owner, requestid)
            return new

    def list_pins(self, owner: str, q: PinQuery) -> tuple[int, list[LocalPin]]:
        """``(count of all matches, the newest ``q.limit`` of them)``, read in one statement
        (one snapshot: the count and the page agree). Filtered by the owner and statuses
        only, the count is the sum of the owner's ``fs_pin_counts``; otherwise a
        ``count(*)`` that the other filters bound (CIDs, a name, a time range, meta)."""
        # every pin has one of the four statuses: all four is no status filter at all
        # (the planner then walks (owner, created_ns) newest first and stops at the limit)
        statuses = () if set(q.statuses) == set(PinStatus) else q.statuses
        where = ["owner = ?"]
        args: list[object] = [owner]
        if q.cids:
            where.append(f"cid IN ({', '.join('?' * len(q.cids))})")
            args.extend(q.cids)
        if q.name is not None:
            where.append(
                {
                    Match.EXACT: "name = ?",
                    Match.IEXACT: "lower(name) = lower(?)",
                    Match.PARTIAL: "instr(name, ?) > 0",
                    Match.IPARTIAL: "instr(lower(name), lower(?)) > 0",
                }[q.match]
            )
            args.append(q.name)
        by_counter = len(where) == 1
        for key, value in q.meta:  # fs_pin_meta: the pairs of every pin's meta
            where.append(
                "created_ns IN (SELECT created_ns FROM fs_pin_meta "
                "WHERE owner = ? AND key = ? AND value = ?)"
            )
            args.extend((owner, key, value))
        if q.before_ns is not None:
            where.append("created_ns < ?")
            args.append(q.before_ns)
        if q.after_ns is not None:
            where.append("created_ns > ?")
            args.append(q.after_ns)
        by_counter = by_counter and len(where) == 1
        if statuses:
            marks = ", ".join("?" * len(statuses))
            where.append(f"status IN ({marks})")
            args.extend(str(s) for s in statuses)
        cond = " AND ".join(where)
        # an exact name is the selective filter, but (owner, status, created_ns, name)
        # holds the name too and looks cheaper to the planner (no statistics): name it
        table = (
            {
                Match.EXACT: "fs_pins INDEXED BY fs_pins_owner_name",
                Match.IEXACT: "fs_pins INDEXED BY fs_pins_owner_lname",
            }.get(q.match, "fs_pins")
            if q.name is not None
            else "fs_pins"
        )
        if by_counter:
            count_sql = "SELECT coalesce(sum(n), 0) FROM fs_pin_counts WHERE owner = ?"
            count_args: list[object] = [owner]
            if statuses:
                count_sql += f" AND status IN ({marks})"
                count_args.extend(str(s) for s in statuses)
        else:
            count_sql, count_args = f"SELECT count(*) FROM {table} WHERE {cond}", args  # noqa: S608
        rows = self.db.conn.execute(
            f"SELECT * FROM ({count_sql}) LEFT JOIN (SELECT {_COLS} FROM {table} "  # noqa: S608
            f"WHERE {cond} ORDER BY created_ns DESC LIMIT ?)",
            [*count_args, *args, q.limit],
        ).fetchall()
        page = sorted((r[1:] for r in rows if r[1] is not None), key=lambda r: -int(r[10]))
        return int(rows[0][0]), [_row(r) for r in page]

    def pin_count(self, owner: str, statuses: Sequence[PinStatus] = ()) -> int:
        """The owner's local pins in ``statuses`` (all when empty), from ``fs_pin_counts``."""
        sql = "SELECT coalesce(sum(n), 0) FROM fs_pin_counts WHERE owner = ?"
        args: list[object] = [owner]
        if statuses:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            args.extend(str(s) for s in statuses)
        return int(self.db.conn.execute(sql, args).fetchone()[0])

    def local_pins(
        self,
        *,
        owner: str | None,
        cid: bytes | None,
        status: PinStatus | None,
        name: str | None,
        before_ns: int | None,
        limit: int,
    ) -> list[LocalPin]:
        """Local pins newest first (GraphQL ``pins``), any owner when ``owner`` is None."""
        where, args = ["1 = 1"], []  # type: list[str], list[object]
        for col, val in (("owner", owner), ("cid", cid), ("status", status), ("name", name)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(str(val) if isinstance(val, PinStatus) else val)
        if before_ns is not None:
            where.append("created_ns < ?")
            args.append(before_ns)
        # an owner's pins of a name: the name index (see list_pins), whatever the status
        table = "fs_pins"
        if owner is not None and name is not None and cid is None:
            table += " INDEXED BY fs_pins_owner_name"
        rows = self.db.conn.execute(
            f"SELECT {_COLS} FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY created_ns DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [_row(r) for r in rows]

    # ------------------------------------------------------------------ on-chain pins

    def on_chain_pin(self, owner: str, cid: bytes) -> ChainProgress:
        """A committed ``MsgPin``: record ``queued``, then pin here and record the outcome."""
        with self._lock:
            self._set_chain(owner, cid, PinStatus.PINNING, "")
            status, details = self._pin_in_backend(CID.from_bytes(cid), ())
            self._set_chain(owner, cid, status, details)
            progress = self.chain_progress(owner, cid)
            assert progress is not None
            return progress

    def on_chain_unpin(self, owner: str, cid: bytes) -> None:
        with self._lock:
            with self.db.conn:
                self.db.conn.execute(
                    "DELETE FROM fs_chain_pins WHERE owner = ? AND cid = ?", (owner, cid)
                )
            self._release(cid)

    def _set_chain(self, owner: str, cid: bytes, status: PinStatus, details: str) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO fs_chain_pins (owner, cid, status, details, updated_ns) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, cid) DO UPDATE SET "
                "status = excluded.status, details = excluded.details, "
                "updated_ns = excluded.updated_ns",
                (owner, cid, str(status), details, self._clock()),
            )

    def chain_progress(self, owner: str, cid: bytes) -> ChainProgress | None:
        row = self.db.conn.execute(
            "SELECT status, details, updated_ns FROM fs_chain_pins WHERE owner = ? AND cid = ?",
            (owner, cid),
        ).fetchone()
        return None if row is None else ChainProgress(PinStatus(row[0]), row[1], int(row[2]))

    def chain_progress_many(
        self, pins: Sequence[tuple[str, bytes]]
    ) -> dict[tuple[str, bytes], ChainProgress]:
        """This node's progress on many on-chain records ``(owner, cid)`` (a listing page)
        at once: one ``owner = ? AND cid IN (...)`` read per owner; records without
        progress are absent from the answer."""
        by_owner: dict[str, list[bytes]] = {}
        for owner, cid in pins:
            by_owner.setdefault(owner, []).append(cid)
        out: dict[tuple[str, bytes], ChainProgress] = {}
        conn = self.db.conn
        for owner, cids in by_owner.items():
            for lo in range(0, len(cids), _IN_CHUNK):
                part = cids[lo : lo + _IN_CHUNK]
                rows = conn.execute(
                    "SELECT cid, status, details, updated_ns FROM fs_chain_pins "  # noqa: S608
                    f"WHERE owner = ? AND cid IN ({', '.join('?' * len(part))})",
                    (owner, *part),
                ).fetchall()
                for r in rows:
                    out[owner, bytes(r[0])] = ChainProgress(PinStatus(r[1]), r[2], int(r[3]))
        return out

    # ------------------------------------------------------------------ content

    def has(self, cid: CID) -> bool:
        return self.backend.blocks.has(cid)

    def size(self, cid: CID) -> int:
        return file_size(self.backend.blocks, cid)

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return self.backend.cat(cid, offset, length)

    def block(self, cid: CID) -> bytes:
        return self.backend.blocks.get(cid)

    def car(self, cid: CID) -> Iterator[bytes]:
        return self.backend.export_car(cid)

    def gc(self) -> int:
        """Wait for in-flight uploads to finish, then collect (the service lock held)."""
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0)
            return len(self.backend.gc().removed)

    # ------------------------------------------------------------------ tokens

    def issue_token(self, did: str, label: str, request_digest: bytes) -> tuple[str, str]:
        """``(token id, token)`` for ``did``; the token is shown once and stored hashed.
        ``request_digest`` identifies the signed request: one request mints one token."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        tid = secrets.token_hex(8)
        now = self._clock()
        with self._lock, self.db.conn:
            cur = self.db.conn.execute(
                "INSERT OR IGNORE INTO fs_token_requests (digest, created_ns) VALUES (?, ?)",
                (request_digest, now),
            )
            if cur.rowcount == 0:
                raise TokenError("this signed token request was already used", code="replayed")
            self.db.conn.execute(
                "INSERT INTO fs_tokens (id, token_hash, did, label, created_ns) "
                "VALUES (?, ?, ?, ?, ?)",
                (tid, token_hash(token), did, label, now),
            )
        return tid, token

    def authenticate(self, token: str) -> str:
        """The DID a live token was issued to; ``TokenError`` otherwise."""
        row = self.db.conn.execute(
            "SELECT did, revoked_ns FROM fs_tokens WHERE token_hash = ?", (token_hash(token),)
        ).fetchone()
        if row is None or row[1] is not None:
            raise TokenError("access token is missing, unknown or revoked")
        return str(row[0])

    def revoke_token(self, did: str, token_id: str) -> None:
        with self._lock, self.db.conn:
            cur = self.db.conn.execute(
                "UPDATE fs_tokens SET revoked_ns = ? "
                "WHERE id = ? AND did = ? AND revoked_ns IS NULL",
                (self._clock(), token_id, did),
            )
        if cur.rowcount == 0:
            raise LocalPinNotFound(f"no live token {token_id[:32]!r} of this DID")

    def tokens(self, did: str) -> list[TokenInfo]:
        rows = self.db.conn.execute(
            "SELECT id, did, label, created_ns, revoked_ns FROM fs_tokens WHERE did = ? "
            "ORDER BY created_ns, id",
            (did,),
        ).fetchall()
        return [TokenInfo(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]

    def close(self) -> None:
        self.db.conn.close()
        self.backend.close()
