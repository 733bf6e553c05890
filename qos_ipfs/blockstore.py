"""Blockstores: the ``Blockstore`` port, an in-memory one and a flatfs-like one on disk.

Blocks are keyed by **multihash**, as in Kubo since 0.12: the CIDv0 and CIDv1 (and any codec)
of the same bytes name one stored block, so ``put`` of either dedupes and ``has``/``get``
answer for both. The codec is therefore not stored, and ``iter_cids`` yields every block as
CIDv1 ``raw`` (Kubo's ``refs local`` does the same); walk DAGs from CIDs you hold (pins).

Every ``put`` checks that the bytes hash to the CID (:class:`HashMismatch` otherwise), so a
store only ever holds verified blocks.

:class:`FileBlockstore` lays files out like Kubo's flatfs with ``next-to-last/2`` sharding:
the key is the RFC 4648 base32 (upper case, unpadded) of the multihash, the file is
``<root>/<key[-3:-1]>/<key>.data``. Writes go to a temp file, are fsync'd and renamed into
place (then the directory is fsync'd); every ``get`` re-hashes the bytes and raises
:class:`CorruptBlock` instead of serving a block that rotted on disk. A writer holds an
``flock`` on its temp file, so the temp files of killed writers (and only those) are swept
at open and by ``compact`` (which ``gc`` runs).

The node's default embedded store is :class:`qos_ipfs.packstore.PackBlockstore` (segment
files + SQLite index, batched durability); :func:`write_batch` gives any store's writer a
batch (one ``fdatasync`` and one index transaction per batch on a pack store, plain ``put``
calls elsewhere).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from qos_ipfs.cid import CID, RAW, SHA2_256, SHA2_256_LEN
from qos_ipfs.errors import BlockNotFound, CorruptBlock, HashMismatch


class Blockstore(Protocol):
    def put(self, cid: CID, data: bytes) -> None:
        """Store ``data`` under ``cid``; idempotent; :class:`HashMismatch` if it does not
        hash to ``cid``."""

    def get(self, cid: CID) -> bytes:
        """The block's bytes; :class:`BlockNotFound` if absent."""

    def has(self, cid: CID) -> bool: ...

    def delete(self, cid: CID) -> None:
        """Remove the block; :class:`BlockNotFound` if absent."""

    def iter_cids(self) -> Iterator[CID]:
        """Every stored block, as CIDv1 ``raw`` (one per multihash)."""


def verify(cid: CID, data: bytes | memoryview) -> None:
    if hashlib.sha256(data).digest() != cid.multihash_digest:
        raise HashMismatch(f"bytes do not hash to {cid}")


class BlockWriter(Protocol):
    """What :func:`write_batch` yields."""

    def put(self, cid: CID, data: bytes) -> None:
        """Verify (:class:`HashMismatch`) and store."""

    def put_verified(self, cid: CID, data: bytes) -> None:
        """Store bytes whose CID the caller has just computed from them (not hashed again
        where the store can avoid it)."""

    def put_parts(self, cid: CID, parts: tuple[bytes | memoryview, ...]) -> None:
        """``put_verified`` of ``b"".join(parts)`` (the importer's ``parts_sink``)."""


@runtime_checkable
class BatchingBlockstore(Protocol):
    def batch(self) -> AbstractContextManager[BlockWriter]: ...


@runtime_checkable
class CompactingBlockstore(Protocol):
    def compact(self) -> object:
        """Reclaim space after deletes (and sweep leftovers of crashed writers)."""


class _Unbatched:
    def __init__(self, store: Blockstore) -> None:
        self.store = store

    def put(self, cid: CID, data: bytes) -> None:
        self.store.put(cid, data)

    def put_verified(self, cid: CID, data: bytes) -> None:
        self.store.put(cid, data)

    def put_parts(self, cid: CID, parts: tuple[bytes | memoryview, ...]) -> None:
        self.store.put(cid, b"".join(parts))


@contextlib.contextmanager
def write_batch(store: Blockstore) -> Iterator[BlockWriter]:
    """A batch of puts into ``store``: durable and visible together at the end of the
    ``with`` block (a pack store also commits every ``commit_bytes``); a store without
    batches gets plain ``put`` calls, each durable on its own."""
    if isinstance(store, BatchingBlockstore):
        with store.batch() as batch:
            yield batch
    else:
        yield _Unbatched(store)


def delete_many(store: Blockstore, cids: list[CID]) -> None:
    """Delete blocks (one transaction on a pack store)."""
    many = getattr(store, "delete_many", None)
    if callable(many):
        many(cids)
        return
    for cid in cids:
        store.delete(cid)


class MemoryBlockstore:
    def __init__(self) -> None:
        self._blocks: dict[bytes, bytes] = {}

    def put(self, cid: CID, data: bytes) -> None:
        verify(cid, data)
        self._blocks.setdefault(cid.multihash, bytes(data))

    def get(self, cid: CID) -> bytes:
        try:
            return self._blocks[cid.multihash]
        except KeyError:
            raise BlockNotFound(f"block {cid} not found") from None

    def has(self, cid: CID) -> bool:
        return cid.multihash in self._blocks

    def delete(self, cid: CID) -> None:
        if self._blocks.pop(cid.multihash, None) is None:
            raise BlockNotFound(f"block {cid} not found")

    def iter_cids(self) -> Iterator[CID]:
        for mh in list(self._blocks):
            yield CID(1, RAW, mh)


def _key(cid: CID) -> str:
    return base64.b32encode(cid.multihash).decode("ascii").rstrip("=")


class FileBlockstore:
    SUFFIX = ".data"
    TEMP_SUFFIX = ".tmp"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.sweep_temp()

    def sweep_temp(self) -> int:
        """Remove the temp files of writers that died (no one holds their flock)."""
        removed = 0
        for shard in self.root.iterdir():
            if not shard.is_dir():
                continue
            for path in shard.iterdir():
                name = path.name
                if not (name.startswith(".") and name.endswith(self.TEMP_SUFFIX)):
                    continue
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()  # under the lock: a writer that raced us sees nlink 0
                        removed += 1
                except BlockingIOError:
                    continue  # a live writer's
                finally:
                    os.close(fd)
        return removed

    def compact(self) -> int:
        """Nothing to compact (a deleted block's file is gone); sweeps stale temp files."""
        return self.sweep_temp()

    def path_for(self, cid: CID) -> Path:
        key = _key(cid)
        return self.root / key[-3:-1] / (key + self.SUFFIX)

    def put(self, cid: CID, data: bytes) -> None:
        verify(cid, data)
        path = self.path_for(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        while True:
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{self.TEMP_SUFFIX}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)  # "being written": sweep_temp leaves it alone
            if os.fstat(fd).st_nlink:
                break
            os.close(fd)  # swept between create and lock: take another name
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                os.replace(tmp, path)
            finally:
                os.close(fd)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, cid: CID) -> bytes:
        try:
            data = self.path_for(cid).read_bytes()
        except FileNotFoundError:
            raise BlockNotFound(f"block {cid} not found") from None
        if hashlib.sha256(data).digest() != cid.multihash_digest:
            raise CorruptBlock(f"stored block {cid} does not match its hash")
        return data

    def has(self, cid: CID) -> bool:
        return self.path_for(cid).is_file()

    def delete(self, cid: CID) -> None:
        try:
            self.path_for(cid).unlink()
        except FileNotFoundError:
            raise BlockNotFound(f"block {cid} not found") from None

    def iter_cids(self) -> Iterator[CID]:
        prefix = bytes((SHA2_256, SHA2_256_LEN))
        for shard in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(shard.glob("*" + self.SUFFIX)):
                key = path.name[: -len(self.SUFFIX)]
                try:
                    mh = base64.b32decode(key + "=" * (-len(key) % 8))
                except ValueError:
                    continue  # not ours
                if mh.startswith(prefix) and len(mh) == 2 + SHA2_256_LEN:
                    yield CID(1, RAW, mh)
