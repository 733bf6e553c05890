"""PackBlockstore: blocks appended to segment files, indexed in SQLite (the embedded default).

Layout under ``root``::

    index.db                      SQLite (WAL, synchronous=FULL)
      segments(id, state 'open'|'sealed', size)
      blocks(mh BLOB PRIMARY KEY, seg, off, len, head, tail)   -- key: the multihash
    segments/0000000001.pack      block bodies back to back, nothing else

A block is ``head + segment[off:off + len] + tail``; ``head`` and ``tail`` are empty except
for ``kubo-v0`` leaves read in place (below), whose few bytes of dag-pb/UnixFS framing
(``0a .. 08 02 12 ..`` and ``18 ..``) live in the row so that the file's bytes can go to
disk without being moved.

**Writes** go through a :class:`WriteBatch` (``store.batch()``; ``put`` is a batch of one).
A batch owns one *open* segment (its writer; one per concurrent batch, so threads and
processes never append to the same file) and fills page-aligned anonymous ``mmap``
buffers: a block is copied in, or, on import, the file is read straight into the buffer
(:meth:`WriteBatch.read_chunk`, ``readinto``) and the importer's leaf is recognised there
(:meth:`WriteBatch.put_parts`), so the bytes are copied once, by the kernel. Each full
buffer is ``pwrite``-n with ``O_DIRECT`` (no page cache to fill) by the segment's writer
thread while the batch hashes and fills the next one (``hashlib`` and ``pwrite`` release
the GIL). Where the file system refuses ``O_DIRECT`` (``EINVAL``, e.g. tmpfs on older
kernels) the segment falls back to buffered ``pwrite``. **Commit** (every
``commit_bytes``, and at the end of the batch): write the partial last page, wait for the
writes, ``fdatasync`` the segment, then insert the index rows in one SQLite transaction.
A block is visible (``has``/``get``/``iter_cids``) only once both are done, so after
``kill -9`` or a power cut every acknowledged block is present and no partial block is.
With ``O_DIRECT`` the partial last page of a commit is written again (same bytes, more after
them) by the next one; the committed bytes in it are identical in the old and new page.

**Recovery** (at open and before compaction): an ``open`` segment whose writer is gone (its
``flock`` can be taken) is truncated to the end of its last indexed block and sealed;
segment files with no row (a crash between creating the file and committing its row, or
between a compaction's commit and its ``unlink``) are removed.

**Reads** look the block up, ``pread`` it from its segment and re-hash it: bytes that do not
match raise :class:`CorruptBlock` and are never served. **Delete** removes the index row;
:meth:`PackBlockstore.compact` (run by ``gc``) copies the live blocks of sealed segments
that are mostly dead into a fresh segment, switches their rows in one transaction and
unlinks the old file (a reader that raced it looks the block up again).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import mmap
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from qos_ipfs.blockstore import FileBlockstore, verify
from qos_ipfs.cid import CID, RAW
from qos_ipfs.errors import BlockNotFound, BlockstoreError, CorruptBlock

log = logging.getLogger("qos.ipfs.packstore")

ALIGN = 4096
"""``O_DIRECT`` alignment of offsets, lengths and buffers (a page; >= any logical block)."""
BUFFER_BYTES = 1 << 20
BUFFERS = 4
SEGMENT_BYTES = 256 << 20
COMMIT_BYTES = 64 << 20
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
_CID_PAGE = 10_000  # rows per page of iter_cids

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "state TEXT NOT NULL CHECK (state IN ('open', 'sealed')), size INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blocks (mh BLOB PRIMARY KEY, seg INTEGER NOT NULL, "
    "off INTEGER NOT NULL, len INTEGER NOT NULL, head BLOB, tail BLOB) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS blocks_by_seg ON blocks (seg, off)",
)


def _pread(fd: int, size: int, off: int) -> bytes:
    data = os.pread(fd, size, off)
    while len(data) < size:
        more = os.pread(fd, size - len(data), off + len(data))
        if not more:
            break
        data += more
    return data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold ``path``'s exclusive flock (waiting for it) for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(path: Path) -> int | None:
    """An fd holding ``path``'s exclusive flock, or None if a writer holds it (or no file)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@dataclass(frozen=True, slots=True)
class CompactResult:
    segments_removed: int
    blocks_moved: int
    bytes_freed: int
    corrupt: tuple[CID, ...] = ()
    """Live blocks found corrupt while copying: their segments are left as they are."""


class _Segment:
    """One open segment, appended to by one batch at a time.

    The batch's thread fills page-aligned anonymous ``mmap`` buffers (by copying a block
    in, or by reading the input file straight into them: :meth:`reserve`); each full buffer
    is handed to a writer thread that ``pwrite``s it (``O_DIRECT``) while the batch's thread
    goes on hashing and filling the next one (``hashlib`` and ``pwrite`` release the GIL).
    """

    def __init__(self, seg_id: int, fd: int, direct: bool) -> None:
        self.id = seg_id
        self.fd = fd  # holds the flock: the segment's writer is alive
        self.direct = direct
        self.end = 0  # logical end: bytes appended so far (written, queued or buffered)
        self.base = 0  # file offset of buffer[0] (a multiple of ALIGN when direct)
        self.buffer = mmap.mmap(-1, BUFFER_BYTES)
        self.pos = 0
        self.free: list[mmap.mmap] = [mmap.mmap(-1, BUFFER_BYTES) for _ in range(BUFFERS - 1)]
        self.pending: deque[tuple[Future[None], mmap.mmap]] = deque()
        self.broken = False
        self.reserved: memoryview | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qos-pack")

    # ------------------------------------------------------------ appending

    def append(self, parts: tuple[bytes | memoryview, ...]) -> int:
        """Copy ``parts`` (one block, or its body) to the end; return its offset."""
        self.reserved = None
        start = self.end
        for part in parts:
            with memoryview(part) as whole:
                view = whole.cast("B") if whole.format != "B" else whole
                done = 0
                size = len(view)
                while done < size:
                    k = min(size - done, BUFFER_BYTES - self.pos)
                    self.buffer[self.pos : self.pos + k] = view[done : done + k]
                    self.pos += k
                    done += k
                    if self.pos == BUFFER_BYTES:
                        self._rotate()
                self.end += size
        return start

    def reserve(self, n: int) -> memoryview:
        """A writable view of the next ``n`` bytes of the buffer (contiguous; the buffer is
        rotated first if they do not fit). Nothing is appended until :meth:`commit_reserved`;
        the view is valid until the next call on this segment."""
        if n > BUFFER_BYTES - ALIGN:
            raise ValueError(f"cannot reserve {n} bytes")
        if self.pos + n > BUFFER_BYTES:
            self._rotate()
        view = memoryview(self.buffer)[self.pos : self.pos + n]
        self.reserved = view
        return view

    def commit_reserved(self, n: int) -> int:
        """Append the first ``n`` bytes of the reserved view (already in place)."""
        self.reserved = None
        start = self.end
        self.pos += n
        self.end += n
        if self.pos == BUFFER_BYTES:
            self._rotate()
        return start

    def _rotate(self) -> None:
        """Hand the buffer's whole pages to the writer; carry a partial page over."""
        n = self.pos
        length = n - n % ALIGN if self.direct else n
        old = self.buffer
        new = self._free_buffer()
        keep = n - length
        if keep:
            new[:keep] = old[length:n]
        if length:
            self._submit(old, length)
        else:
            self.free.append(old)
        self.buffer = new
        self.base += length
        self.pos = keep

    def _submit(self, buf: mmap.mmap, length: int) -> None:
        fut = self._executor.submit(self._write, buf, length, self.base)
        self.pending.append((fut, buf))

    def _free_buffer(self) -> mmap.mmap:
        if not self.free:
            fut, buf = self.pending.popleft()
            self._result(fut)
            return buf
        return self.free.pop()

    def _result(self, fut: Future[None]) -> None:
        try:
            fut.result()
        except BaseException:
            self.broken = True
            raise

    def _write(self, buf: mmap.mmap, length: int, offset: int) -> None:
        with memoryview(buf) as view:
            done = 0
            while done < length:
                try:
                    done += os.pwrite(self.fd, view[done:length], offset + done)
                except OSError as exc:
                    if exc.errno != errno.EINVAL or not self.direct:
                        raise
                    self._drop_direct()

    def _drop_direct(self) -> None:
        """The file system refused an O_DIRECT write: continue buffered."""
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
        self.direct = False

    def sync(self) -> None:
        """Make every appended byte durable (written and ``fdatasync``'d)."""
        self.reserved = None
        n = self.pos
        if n:
            length = n
            if self.direct:
                length = -(-n // ALIGN) * ALIGN
                self.buffer[n:length] = bytes(length - n)
            self._submit(self.buffer, length)
        while self.pending:
            fut, buf = self.pending.popleft()
            self._result(fut)
            if buf is not self.buffer:
                self.free.append(buf)
        try:
            os.fdatasync(self.fd)
        except BaseException:
            self.broken = True
            raise
        keep = n % ALIGN if self.direct else 0  # the partial page is written again next time
        if keep:
            self.buffer.move(0, n - keep, keep)
        self.base += n - keep
        self.pos = keep

    def close(self) -> None:
        self.reserved = None
        for fut, _ in self.pending:
            with contextlib.suppress(BaseException):
                fut.result()
        self.pending.clear()
        self._executor.shutdown(wait=True)
        os.close(self.fd)
        for buf in (self.buffer, *self.free):
            with contextlib.suppress(BufferError):  # a caller's view still alive: GC frees it
                buf.close()
        self.free.clear()


class WriteBatch:
    """Puts that become durable and visible together, at :meth:`commit` (or at the end of
    the ``with store.batch()`` block). Not thread-safe: one batch per thread."""

    def __init__(self, store: PackBlockstore) -> None:
        self.store = store
        self._segment: _Segment | None = None
        self._rows: dict[bytes, tuple[int, int, int, bytes, bytes]] = {}
        self._moves: list[tuple[bytes, int, int, int, int]] = []  # mh, new seg/off, old seg/off
        self._since_commit = 0
        self.closed = False

    def put(self, cid: CID, data: bytes) -> None:
        """Store a block from elsewhere: its bytes are hashed (:class:`HashMismatch`)."""
        verify(cid, data)
        self.put_verified(cid, data)

    def put_verified(self, cid: CID, data: bytes | memoryview) -> None:
        """Store a block whose CID the caller has just computed from these very bytes
        (the importer, a CAR section already verified): not hashed again."""
        self.put_parts(cid, (data,))

    def put_parts(self, cid: CID, parts: tuple[bytes | memoryview, ...]) -> None:
        """``put_verified`` of the block ``b"".join(parts)``, without joining. When the
        block is ``(chunk,)`` or ``(head, chunk, tail)`` and ``chunk`` is the whole view
        :meth:`read_chunk` returned, the chunk is already in place in the segment's buffer
        and only ``head``/``tail`` (a few bytes) go to the index row: nothing is copied."""
        if self.closed:
            raise BlockstoreError("write batch already closed")
        mh = cid.multihash
        seg = self._segment
        if len(parts) in (1, 3) and seg is not None and seg.reserved is not None:
            body = parts[0] if len(parts) == 1 else parts[1]
            if (
                isinstance(body, memoryview)
                and body.obj is seg.buffer
                and body.nbytes == seg.reserved.nbytes
            ):
                if mh in self._rows or self.store.has(cid):
                    seg.reserved = None
                    return
                n = body.nbytes
                head = bytes(parts[0]) if len(parts) == 3 else b""
                tail = bytes(parts[2]) if len(parts) == 3 else b""
                off = seg.commit_reserved(n)
                self._rows[mh] = (seg.id, off, n, head, tail)
                self._account(n)
                return
        if mh in self._rows or self.store.has(cid):
            return
        size = sum(len(p) for p in parts)
        seg = self._writer(size)
        off = seg.append(parts)
        self._rows[mh] = (seg.id, off, size, b"", b"")
        self._account(size)

    def read_chunk(self, stream: BinaryIO, n: int) -> bytes | memoryview:
        """Up to ``n`` bytes of ``stream``, read straight into the segment's aligned buffer
        when the stream has ``readinto`` (a read-only view, valid until the next call on
        this batch); ``b""`` at the end. Pass the chunk to :meth:`put_parts` to store it
        without a copy."""
        readinto = getattr(stream, "readinto", None)
        if readinto is None or n > BUFFER_BYTES // 2:
            data: bytes = stream.read(n)
            return data
        seg = self._writer(n)
        view = seg.reserve(n)
        got = 0
        while got < n:
            k = readinto(view[got:])
            if not k:
                break
            got += k
        if not got:
            seg.reserved = None
            return b""
        if got < n:
            view = view[:got]
            seg.reserved = view
        return view.toreadonly()

    def _relocate(self, mh: bytes, data: bytes, old_seg: int, old_off: int) -> None:
        seg = self._writer(len(data))
        off = seg.append((data,))
        self._moves.append((mh, seg.id, off, old_seg, old_off))
        self._account(len(data))

    def _account(self, size: int) -> None:
        self._since_commit += size
        if self._since_commit >= self.store.commit_bytes:
            self.commit()

    def _writer(self, size: int) -> _Segment:
        seg = self._segment
        if seg is not None and seg.end and seg.end + size > self.store.segment_bytes:
            self.commit()
            self.store._seal(seg)
            seg = self._segment = None
        if seg is None:
            seg = self._segment = self.store._acquire_segment()
        return seg

    def commit(self) -> None:
        """Durable, then visible: ``fdatasync`` the segment, then one index transaction."""
        seg = self._segment
        if seg is None or not (self._rows or self._moves):
            return
        seg.sync()
        self.store._commit(
            seg,
            [(mh, s, o, n, h or None, t or None) for mh, (s, o, n, h, t) in self._rows.items()],
            self._moves,
        )
        self._rows.clear()
        self._moves.clear()
        self._since_commit = 0

    def close(self, commit: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        seg, self._segment = self._segment, None
        if seg is None:
            return
        try:
            if commit and not seg.broken:
                self.closed = False
                self._segment = seg
                try:
                    self.commit()
                finally:
                    self.closed = True
                    self._segment = None
        finally:
            self.store._release(seg)

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # blocks stored before the failure are verified and complete: keep them (as
        # separate puts would have), unless the segment's own I/O failed
        with contextlib.suppress(Exception):
            self.close()
        self.close(commit=False)


class PackBlockstore:
    """The ``Blockstore`` protocol (plus batches and compaction) over segment files."""

    def __init__(
        self,
        root: Path | str,
        *,
        direct: bool = True,
        segment_bytes: int = SEGMENT_BYTES,
        commit_bytes: int = COMMIT_BYTES,
    ) -> None:
        if segment_bytes < ALIGN or commit_bytes < 1:
            raise ValueError("segment_bytes must be >= 4096 and commit_bytes >= 1")
        self.root = Path(root)
        self.segments_dir = self.root / "segments"
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        self.direct = direct and bool(_O_DIRECT)
        self.segment_bytes = segment_bytes
        self.commit_bytes = commit_bytes
        self._db = sqlite3.connect(
            self.root / "index.db", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db_lock = threading.RLock()
        with self._db_lock, _exclusive(self.root / "index.init.lock"):
            # one process at a time: two opening a new store at once both switch it to WAL,
            # and SQLite refuses the second at once ("database is locked", no busy wait)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            for sql in _SCHEMA:
                self._db.execute(sql)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(blocks)")}
            for column in ("head", "tail"):  # a store created before they existed
                if column not in columns:
                    self._db.execute(f"ALTER TABLE blocks ADD COLUMN {column} BLOB")
        self._idle: list[_Segment] = []
        self._segments_lock = threading.Lock()
        self._closed = False
        self.recover()

    # ------------------------------------------------------------ paths, db

    def segment_path(self, seg_id: int) -> Path:
        return self.segments_dir / f"{seg_id:010d}.pack"

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._db_lock:
            if self._closed:
                raise BlockstoreError("blockstore is closed")
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------ segments

    def _acquire_segment(self) -> _Segment:
        with self._segments_lock:
            if self._closed:
                raise BlockstoreError("blockstore is closed")
            if self._idle:
                return self._idle.pop()
        with self._tx() as db:  # the row becomes visible only with the file locked
            row = db.execute(
                "INSERT INTO segments (state, size) VALUES ('open', 0) RETURNING id"
            ).fetchone()
            seg_id = int(row[0])
            path = self.segment_path(seg_id)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            direct = self.direct
            try:
                fd = os.open(path, flags | (_O_DIRECT if direct else 0), 0o644)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not direct:
                    raise
                direct = False
                fd = os.open(path, flags, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        _fsync_dir(self.segments_dir)
        return _Segment(seg_id, fd, direct)

    def _release(self, seg: _Segment) -> None:
        if seg.broken:
            seg.close()  # its tail is recovered (truncated) by the next open or compaction
            return
        if seg.end >= self.segment_bytes:
            self._seal(seg)
            return
        with self._segments_lock:
            if not self._closed:
                self._idle.append(seg)
                return
        self._seal(seg)

    def _seal(self, seg: _Segment) -> None:
        """No more appends: record its size, mark it sealed (compactable), close it."""
        end = seg.end  # sealed only after its batch committed: every byte is durable
        with self._tx() as db:
            db.execute("UPDATE segments SET state = 'sealed', size = ? WHERE id = ?", (end, seg.id))
        seg.close()

    def _commit(
        self,
        seg: _Segment,
        rows: list[tuple[bytes, int, int, int, bytes | None, bytes | None]],
        moves: list[tuple[bytes, int, int, int, int]],
    ) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO blocks (mh, seg, off, len, head, tail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "UPDATE blocks SET seg = ?, off = ? WHERE mh = ? AND seg = ? AND off = ?",
                [(s, o, mh, old_s, old_o) for mh, s, o, old_s, old_o in moves],
            )
            db.execute("UPDATE segments SET size = ? WHERE id = ?", (seg.end, seg.id))

    def recover(self) -> None:
        """Seal the open segments of dead writers (truncated to their indexed end) and
        remove segment files that have no row. Safe while other writers run."""
        own = {seg.id for seg in self._idle}
        rows = self._query("SELECT id, state FROM segments")
        for raw_id, state in rows:
            seg_id = int(raw_id)
            if state != "open" or seg_id in own:
                continue
            fd = _try_lock(self.segment_path(seg_id))
            if fd is None:
                if not self.segment_path(seg_id).exists():
                    with self._tx() as db:
                        db.execute("UPDATE segments SET state = 'sealed' WHERE id = ?", (seg_id,))
                continue
            try:
                row = self._query(
                    "SELECT COALESCE(MAX(off + len), 0) FROM blocks WHERE seg = ?", (seg_id,)
                )
                end = int(row[0][0])
                if os.fstat(fd).st_size > end:
                    os.ftruncate(fd, end)
                    os.fsync(fd)
                with self._tx() as db:
                    db.execute(
                        "UPDATE segments SET state = 'sealed', size = ? WHERE id = ?",
                        (end, seg_id),
                    )
            finally:
                os.close(fd)
        # files without a row: a segment is created (and flocked) only inside the
        # transaction that inserts its row, so under our own write transaction a file
        # with no row is an orphan (creator crashed, or a compaction's unlink was lost)
        with self._tx() as db:
            known = {int(r[0]) for r in db.execute("SELECT id FROM segments")}
            for path in self.segments_dir.iterdir():
                name = path.name
                if not name.endswith(".pack") or not name[:-5].isdigit():
                    continue
                if int(name[:-5]) in known:
                    continue
                fd = _try_lock(path)
                if fd is None:
                    continue
                try:
                    path.unlink(missing_ok=True)
                finally:
                    os.close(fd)

    # ------------------------------------------------------------ Blockstore

    @contextlib.contextmanager
    def batch(self) -> Iterator[WriteBatch]:
        with WriteBatch(self) as batch:
            yield batch

    def put(self, cid: CID, data: bytes) -> None:
        verify(cid, data)
        if self.has(cid):
            return
        with self.batch() as batch:
            batch.put_verified(cid, data)

    def put_many(self, blocks: Iterable[tuple[CID, bytes]]) -> None:
        """Verify and store ``blocks``: one ``fdatasync`` and one index transaction."""
        with self.batch() as batch:
            for cid, data in blocks:
                batch.put(cid, data)

    def _locate(self, cid: CID) -> tuple[int, int, int, bytes, bytes] | None:
        rows = self._query(
            "SELECT seg, off, len, head, tail FROM blocks WHERE mh = ?", (cid.multihash,)
        )
        if not rows:
            return None
        seg, off, size, head, tail = rows[0]
        return int(seg), int(off), int(size), head or b"", tail or b""

    def get(self, cid: CID) -> bytes:
        for _ in range(5):
            loc = self._locate(cid)
            if loc is None:
                raise BlockNotFound(f"block {cid} not found")
            seg_id, off, size, head, tail = loc
            try:
                fd = os.open(self.segment_path(seg_id), os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # compacted meanwhile: its row now names another segment
            try:
                body = _pread(fd, size, off)
            finally:
                os.close(fd)
            data = head + body + tail if head or tail else body
            if len(body) != size or hashlib.sha256(data).digest() != cid.multihash_digest:
                raise CorruptBlock(f"stored block {cid} does not match its hash")
            return data
        raise CorruptBlock(f"the segment of block {cid} keeps disappearing")

    def has(self, cid: CID) -> bool:
        return bool(self._query("SELECT 1 FROM blocks WHERE mh = ?", (cid.multihash,)))

    def delete(self, cid: CID) -> None:
        with self._tx() as db:
            cur = db.execute("DELETE FROM blocks WHERE mh = ?", (cid.multihash,))
        if cur.rowcount == 0:
            raise BlockNotFound(f"block {cid} not found")

    def delete_many(self, cids: Iterable[CID]) -> int:
        """Remove these blocks (absent ones are skipped) in one transaction; the count."""
        with self._tx() as db:
            cur = db.executemany("DELETE FROM blocks WHERE mh = ?", [(c.multihash,) for c in cids])
        return cur.rowcount

    def iter_cids(self) -> Iterator[CID]:
        """Every block, in multihash order, read in pages (memory bounded at any size)."""
        after = b""
        while True:
            rows = self._query(
                "SELECT mh FROM blocks WHERE mh > ? ORDER BY mh LIMIT ?", (after, _CID_PAGE)
            )
            for (mh,) in rows:
                if isinstance(mh, bytes):
                    yield CID(1, RAW, mh)
            if len(rows) < _CID_PAGE:
                return
            after = rows[-1][0]

    # ------------------------------------------------------------ space

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.segments_dir.glob("*.pack"))

    def compact(self, *, min_dead_fraction: float = 0.5) -> CompactResult:
        """Reclaim the space of deleted blocks: every sealed segment at least
        ``min_dead_fraction`` dead has its live blocks (verified) copied to a fresh segment,
        its rows switched in one transaction, and its file unlinked."""
        self.recover()
        rows = self._query(
            "SELECT s.id, s.size, COALESCE(SUM(b.len), 0), COUNT(b.mh) FROM segments s "
            "LEFT JOIN blocks b ON b.seg = s.id WHERE s.state = 'sealed' GROUP BY s.id"
        )
        removed = moved = freed = 0
        corrupt: list[CID] = []
        for raw_id, raw_size, raw_live, _ in rows:
            seg_id, live = int(raw_id), int(raw_live)
            path = self.segment_path(seg_id)
            try:
                on_disk = path.stat().st_size
            except FileNotFoundError:
                on_disk = 0
            size = max(on_disk, int(raw_size))
            if size and live > size * (1 - min_dead_fraction):
                continue
            blocks = self._query(
                "SELECT mh, off, len, head, tail FROM blocks WHERE seg = ? ORDER BY off",
                (seg_id,),
            )
            bad = self._copy_live(seg_id, blocks)
            if bad:
                corrupt.extend(bad)
                continue
            with self._tx() as db:
                left = db.execute("SELECT COUNT(*) FROM blocks WHERE seg = ?", (seg_id,))
                if int(left.fetchone()[0]):
                    continue  # a row was written meanwhile (cannot happen to a sealed one)
                db.execute("DELETE FROM segments WHERE id = ?", (seg_id,))
            path.unlink(missing_ok=True)
            removed += 1
            moved += len(blocks)
            freed += on_disk - live
        if removed:
            _fsync_dir(self.segments_dir)
        return CompactResult(removed, moved, max(freed, 0), tuple(corrupt))

    def _copy_live(self, seg_id: int, blocks: list[tuple[Any, ...]]) -> list[CID]:
        if not blocks:
            return []
        bad: list[CID] = []
        fd = os.open(self.segment_path(seg_id), os.O_RDONLY | os.O_CLOEXEC)
        try:
            with self.batch() as batch:
                for raw_mh, raw_off, raw_len, head, tail in blocks:
                    mh, off, size = bytes(raw_mh), int(raw_off), int(raw_len)
                    body = _pread(fd, size, off)
                    cid = CID(1, RAW, mh)
                    whole = (head or b"") + body + (tail or b"")
                    if len(body) != size or hashlib.sha256(whole).digest() != mh[2:]:
                        bad.append(cid)
                        continue
                    batch._relocate(mh, body, seg_id, off)  # head and tail stay in the row
                if bad:
                    batch._moves.clear()  # leave the segment as it is; its copies are dead
        finally:
            os.close(fd)
        return bad

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        # closed and the idle list taken in one step: a batch released after this seals
        # its own segment (``_release``) instead of joining a list nobody seals
        with self._segments_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        for seg in idle:
            self._seal(seg)
        with self._db_lock:
            self._db.close()

    def __enter__(self) -> PackBlockstore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def migrate_flatfs(flatfs: Path, store: PackBlockstore) -> tuple[int, int]:
    """Move the blocks of an old ``FileBlockstore`` directory into ``store``: each is
    verified, stored (one durable batch), then its file is removed; a file that does not
    verify is left where it is (logged). Idempotent and safe to interrupt. Returns
    (moved, left)."""
    if not flatfs.is_dir():
        return 0, 0
    old = FileBlockstore(flatfs)
    cids = list(old.iter_cids())
    moved: list[CID] = []
    left = 0
    with store.batch() as batch:
        for cid in cids:
            try:
                data = old.get(cid)
            except (CorruptBlock, BlockNotFound) as exc:
                log.warning("not migrating block %s: %s", cid, exc)
                left += 1
                continue
            batch.put_verified(cid, data)
            moved.append(cid)
    for cid in moved:
        old.path_for(cid).unlink(missing_ok=True)
    old.sweep_temp()
    if not left:
        for shard in flatfs.iterdir():
            if shard.is_dir():
                with contextlib.suppress(OSError):
                    shard.rmdir()
        with contextlib.suppress(OSError):
            flatfs.rmdir()
    return len(moved), left


def open_embedded_blockstore(directory: Path) -> PackBlockstore:
    """The node's embedded store: ``directory/packs``; blocks of an older node's flatfs
    store (``directory/blocks``) are moved into it on open."""
    store = PackBlockstore(directory / "packs")
    try:
        moved, left = migrate_flatfs(directory / "blocks", store)
    except BaseException:
        store.close()
        raise
    if moved or left:
        log.info("moved %d blocks from %s into the pack store (%d left)", moved, directory, left)
    return store
