"""Storage backends: the embedded store and a daemon reached over its RPC API.

Both offer the same :class:`IpfsBackend` interface (blocks, add, cat, pins, CAR, GC), and
both expose a :class:`~qos_ipfs.blockstore.Blockstore` as ``blocks``, so one conformance
suite (``tests/unit/ipfs/blockstore_suite.py``) runs against either.

* :class:`EmbeddedBackend`: :class:`~qos_ipfs.packstore.PackBlockstore` (``open``; or any
  ``Blockstore``, e.g. :class:`FileBlockstore`) + :class:`PinStore` + our mark-and-sweep GC.
  An import is one write batch (durable per ``commit_bytes`` and at its end, before the
  pin is recorded); its blocks are hashed once, by the importer. One lock serialises
  add+pin against GC (Kubo's GC lock); it is per process, so one process owns an embedded
  store at a time.
* :class:`KuboBackend`: a Kubo (or js-ipfs) daemon. Files are imported by **our** importer
  and stored with ``block/put``: the CIDs are ours by construction (identical to ``ipfs
  add``, and available for every profile, including ``unixfs-v1-2025`` which ``add`` cannot
  express), and each stored block is checked against the key the daemon returns. Reads go
  through :class:`KuboBlockstore`, which verifies every block, so ``cat`` and CAR export
  never pass on bytes that do not match their CID.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from qos_chain.db import open_database
from qos_ipfs.blockstore import Blockstore, verify, write_batch
from qos_ipfs.car import CarImport, encode_header, export_car, import_car, iter_car
from qos_ipfs.cid import CID, RAW
from qos_ipfs.errors import BlockNotFound
from qos_ipfs.exporter import read_file
from qos_ipfs.importer import KUBO_V0, Importer, ImportResult, PartsSink, Profile
from qos_ipfs.kubo import KuboClient, codec_name
from qos_ipfs.packstore import PackBlockstore, WriteBatch, open_embedded_blockstore
from qos_ipfs.pins import GcResult, Pin, PinMode, PinStore, gc, reachable
from qos_ipfs.varint import encode_varint

Progress = Callable[[int], None]
"""Called with the number of bytes just consumed from the input."""


class KuboBlockstore:
    """The :class:`Blockstore` protocol over a daemon's ``block/*`` calls (verified reads)."""

    def __init__(self, client: KuboClient) -> None:
        self.client = client

    def put(self, cid: CID, data: bytes) -> None:
        verify(cid, data)
        self.client.block_put(data, codec_name(cid))

    def get(self, cid: CID) -> bytes:
        return self.client.block_get(cid)

    def has(self, cid: CID) -> bool:
        try:
            self.client.block_stat(cid)
        except BlockNotFound:
            return False
        return True

    def delete(self, cid: CID) -> None:
        self.client.block_rm(cid)

    def iter_cids(self) -> Iterator[CID]:
        seen: set[bytes] = set()
        for cid in self.client.refs_local():
            if cid.multihash not in seen:
                seen.add(cid.multihash)
                yield CID(1, RAW, cid.multihash)


class IpfsBackend(Protocol):
    @property
    def blocks(self) -> Blockstore: ...

    def add(
        self,
        stream: BinaryIO,
        profile: Profile = KUBO_V0,
        *,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Import a file (streaming), store its blocks, pin the root recursively."""

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]: ...

    def pin(self, cid: CID, recursive: bool = True) -> None:
        """Pin; the DAG (or the block, if direct) must be present: BlockNotFound if not."""

    def unpin(self, cid: CID) -> None:
        """PinError if ``cid`` is not pinned."""

    def pins(self) -> list[Pin]: ...

    def export_car(self, root: CID) -> Iterator[bytes]: ...

    def import_car(self, stream: BinaryIO, *, pin_roots: bool = True) -> CarImport: ...

    def gc(self) -> GcResult: ...

    def close(self) -> None: ...


def _import(
    stream: BinaryIO,
    profile: Profile,
    sink: Callable[[CID, bytes], None] | None,
    progress: Progress | None,
    parts_sink: PartsSink | None = None,
    *,
    read: Callable[[int], bytes | memoryview] | None = None,
) -> ImportResult:
    importer = Importer(profile, sink, parts_sink=parts_sink)
    read = read or stream.read
    while piece := read(profile.chunk_size):
        importer.write(piece)
        if progress is not None:
            progress(len(piece))
    return importer.finish()


def only_hash(
    stream: BinaryIO, profile: Profile = KUBO_V0, progress: Progress | None = None
) -> ImportResult:
    """``ipfs add --only-hash``: no backend is touched, nothing is written."""
    return _import(stream, profile, None, progress)


class EmbeddedBackend:
    def __init__(self, blocks: Blockstore, pins: PinStore) -> None:
        self._blocks = blocks
        self.pin_store = pins
        self._lock = threading.RLock()

    @classmethod
    def open(cls, directory: Path, db_path: Path) -> EmbeddedBackend:
        """Blocks in the pack store ``directory/packs`` (an old flatfs ``directory/blocks``
        is moved into it), pins in the SQLite file ``db_path``."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        blocks = open_embedded_blockstore(directory)
        try:
            return cls(blocks, PinStore(open_database(db_path)))
        except BaseException:
            blocks.close()
            raise

    @property
    def blocks(self) -> Blockstore:
        return self._blocks

    def add(
        self,
        stream: BinaryIO,
        profile: Profile = KUBO_V0,
        *,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> ImportResult:
        with self._lock:
            with write_batch(self._blocks) as batch:  # durable before the pin below
                read = None
                if isinstance(batch, WriteBatch):  # the file is read into the write buffer
                    read = functools.partial(batch.read_chunk, stream)
                result = _import(stream, profile, None, progress, batch.put_parts, read=read)
            if pin:
                self.pin_store.add(result.root)
            return result

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return read_file(self._blocks, cid, offset, length)

    def pin(self, cid: CID, recursive: bool = True) -> None:
        with self._lock:
            if recursive:
                reachable(self._blocks, [cid])  # the whole DAG must be here (and intact)
            elif not self._blocks.has(cid):
                raise BlockNotFound(f"block {cid} not found")
            self.pin_store.add(cid, recursive=recursive)

    def unpin(self, cid: CID) -> None:
        with self._lock:
            self.pin_store.remove(cid)

    def pins(self) -> list[Pin]:
        return self.pin_store.ls()

    def export_car(self, root: CID) -> Iterator[bytes]:
        return export_car(self._blocks, root)

    def import_car(self, stream: BinaryIO, *, pin_roots: bool = True) -> CarImport:
        with self._lock:
            result = import_car(stream, self._blocks)
            if pin_roots:
                for root in result.roots:
                    self.pin(root)
            return result

    def gc(self) -> GcResult:
        with self._lock:
            return gc(self._blocks, self.pin_store)

    def close(self) -> None:
        self.pin_store.db.close()
        if isinstance(self._blocks, PackBlockstore):
            self._blocks.close()


class KuboBackend:
    def __init__(self, client: KuboClient) -> None:
        self.client = client
        self._blocks = KuboBlockstore(client)

    @property
    def blocks(self) -> Blockstore:
        return self._blocks

    def add(
        self,
        stream: BinaryIO,
        profile: Profile = KUBO_V0,
        *,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> ImportResult:
        result = _import(stream, profile, self._blocks.put, progress)
        if pin:
            self.pin(result.root)
        return result

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return read_file(self._blocks, cid, offset, length)

    def pin(self, cid: CID, recursive: bool = True) -> None:
        self.client.block_stat(cid)  # a quick BlockNotFound (js-ipfs would wait for it)
        self.client.pin_add(cid, recursive=recursive)

    def unpin(self, cid: CID) -> None:
        self.client.pin_rm(cid)

    def pins(self) -> list[Pin]:
        out = [
            Pin(info.cid, PinMode(mode), "")
            for mode in ("recursive", "direct")
            for info in self.client.pin_ls(mode)
        ]
        return sorted(out, key=lambda p: p.cid.to_bytes())

    def export_car(self, root: CID) -> Iterator[bytes]:
        return self.client.dag_export(root)

    def import_car(self, stream: BinaryIO, *, pin_roots: bool = True) -> CarImport:
        """Parse and verify the CAR here (the same errors as the embedded store), stream
        the verified sections to ``dag/import``."""
        roots, sections = iter_car(stream)
        count = 0

        def body() -> Iterator[bytes]:
            nonlocal count
            header = encode_header(roots)
            yield encode_varint(len(header)) + header
            for cid, block in sections:
                raw_cid = cid.to_bytes()
                count += 1
                yield encode_varint(len(raw_cid) + len(block)) + raw_cid + block

        self.client.dag_import(body(), pin_roots=pin_roots)
        return CarImport(tuple(roots), count)

    def gc(self) -> GcResult:
        removed = self.client.repo_gc()
        kept = sum(1 for _ in self._blocks.iter_cids())
        return GcResult(kept, tuple(removed))

    def close(self) -> None:
        self.client.close()
