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
:class:`CorruptBlock` instead of serving a block that rotted on disk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

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


def verify(cid: CID, data: bytes) -> None:
    if hashlib.sha256(data).digest() != cid.multihash_digest:
        raise HashMismatch(f"bytes do not hash to {cid}")


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

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, cid: CID) -> Path:
        key = _key(cid)
        return self.root / key[-3:-1] / (key + self.SUFFIX)

    def put(self, cid: CID, data: bytes) -> None:
        verify(cid, data)
        path = self.path_for(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
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
