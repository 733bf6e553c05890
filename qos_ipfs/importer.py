"""Streaming UnixFS file importer producing Kubo-identical CIDs.

Profiles (``PROFILES``):

=================  ======  ===========  ===========  =========
name               CID     leaves       chunk size   max links
=================  ======  ===========  ===========  =========
``kubo-v0``        v0      dag-pb File  262144       174        ``ipfs add`` defaults
``kubo-v1``        v1      raw          262144       174        ``ipfs add --cid-version=1``
``unixfs-v1-2025`` v1      raw          1048576      1024       IPIP-499 / Helia default
=================  ======  ===========  ===========  =========

Layout: go-unixfs / boxo ``importer/balanced``. Its recursive builder fills a root with up
to ``max_links`` children, and when data remains makes the old root the first child of a
new, one level deeper root and fills the rest with subtrees of the old depth. The result is
the tree in which leaves are grouped ``max_links`` at a time into height-1 nodes, those
``max_links`` at a time into height-2 nodes, and so on, every node full except on the right
edge, the root being the lowest single node covering everything (a single chunk is its own
root; an empty file is one empty leaf). :class:`Importer` builds that same tree bottom-up
while the bytes stream in, holding only the pending links of each level, never the file.

Every internal node is dag-pb + UnixFS File with ``filesize`` and one ``blocksizes`` entry
(file bytes) per child; each link has an empty Name and ``Tsize`` = the serialised size of
the child's whole subtree (for a dag-pb node: its block length plus its links' Tsizes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from qos_ipfs import dagpb, unixfs
from qos_ipfs.cid import CID, DAG_PB, RAW, SHA2_256, SHA2_256_LEN
from qos_ipfs.errors import UnknownProfile
from qos_ipfs.varint import encode_varint

_MH_PREFIX = bytes((SHA2_256, SHA2_256_LEN))

BlockSink = Callable[[CID, bytes], None]
"""Receives each block as soon as it is built (children before parents)."""

PartsSink = Callable[[CID, tuple[bytes | memoryview, ...]], None]
"""Like :data:`BlockSink`, the block given as pieces to concatenate (a ``kubo-v0`` leaf is
``prefix, chunk, suffix``: a store that copies into its own buffers never joins them).
The pieces are valid only during the call."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int
    max_links: int

    def __post_init__(self) -> None:
        if self.cid_version == 0 and self.raw_leaves:
            raise ValueError("raw leaves need CIDv1")
        if self.chunk_size < 1 or self.max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")


KUBO_V0 = Profile("kubo-v0", 0, raw_leaves=False, chunk_size=262144, max_links=174)
KUBO_V1 = Profile("kubo-v1", 1, raw_leaves=True, chunk_size=262144, max_links=174)
UNIXFS_V1_2025 = Profile("unixfs-v1-2025", 1, raw_leaves=True, chunk_size=1 << 20, max_links=1024)
PROFILES: dict[str, Profile] = {p.name: p for p in (KUBO_V0, KUBO_V1, UNIXFS_V1_2025)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; known: {sorted(PROFILES)}") from None


@dataclass(frozen=True, slots=True)
class ImportResult:
    root: CID
    size: int
    """File size in bytes."""
    tsize: int
    """Total serialised size of all blocks of the DAG (the root link's Tsize)."""
    blocks: int


@dataclass(frozen=True, slots=True)
class _Child:
    cid: CID
    filesize: int
    tsize: int


class Importer:
    """Push-style builder: ``write()`` bytes in any pieces, then ``finish()`` once."""

    def __init__(
        self,
        profile: Profile = KUBO_V0,
        sink: BlockSink | None = None,
        *,
        parts_sink: PartsSink | None = None,
    ) -> None:
        if sink is not None and parts_sink is not None:
            raise ValueError("give sink or parts_sink, not both")
        self.profile = profile
        self._sink = sink
        self._parts_sink = parts_sink
        if parts_sink is not None:
            self._sink = lambda cid, block: parts_sink(cid, (block,))
        self._buffer = bytearray()
        self._levels: list[list[_Child]] = [[]]  # levels[h]: pending children of height h
        self._size = 0
        self._blocks = 0
        self._finished = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise ValueError("importer already finished")
        chunk = self.profile.chunk_size
        self._size += len(data)
        if not self._buffer:
            # fast path (pieces of whole chunks, as import_file reads): cut leaves straight
            # from the caller's bytes, copying nothing but the remainder
            view = memoryview(data).cast("B")
            full = len(view) - len(view) % chunk
            if full == len(view) == chunk and isinstance(data, bytes):
                self._add_leaf(data)
            else:
                for start in range(0, full, chunk):
                    self._add_leaf(view[start : start + chunk])
            self._buffer += view[full:]
            view.release()
            return
        self._buffer += data
        if len(self._buffer) >= chunk:
            view = memoryview(self._buffer)
            full = len(self._buffer) - len(self._buffer) % chunk
            for start in range(0, full, chunk):
                self._add_leaf(bytes(view[start : start + chunk]))
            view.release()
            del self._buffer[:full]

    def finish(self) -> ImportResult:
        if self._finished:
            raise ValueError("importer already finished")
        self._finished = True
        if self._buffer or self._size == 0:
            self._add_leaf(bytes(self._buffer))
            self._buffer.clear()
        levels = self._levels
        height = 0
        while True:
            top = max(h for h, pending in enumerate(levels) if pending)
            if height == top and len(levels[height]) == 1:
                root = levels[height][0]
                return ImportResult(root.cid, root.filesize, root.tsize, self._blocks)
            if levels[height]:
                self._pack(height)
            height += 1

    # ------------------------------------------------------------------ building

    def _emit(self, cid: CID, block: bytes) -> None:
        self._blocks += 1
        if self._sink is not None:
            self._sink(cid, block)

    def _add_leaf(self, chunk: bytes | memoryview) -> None:
        n = len(chunk)
        if self.profile.raw_leaves:
            cid = CID.hash(chunk, version=1, codec=RAW)
            self._blocks += 1
            if self._parts_sink is not None:
                self._parts_sink(cid, (chunk,))
            elif self._sink is not None:
                self._sink(cid, chunk if isinstance(chunk, bytes) else bytes(chunk))
            self._push(0, _Child(cid, n, n))
            return
        if not n:
            block = dagpb.encode_node((), unixfs.file_leaf(b""))
            cid = CID.hash(block, version=self.profile.cid_version, codec=DAG_PB)
            self._emit(cid, block)
            self._push(0, _Child(cid, 0, len(block)))
            return
        # the leaf is PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: n}}, i.e.
        # prefix + chunk + suffix (exactly dagpb.encode_node((), unixfs.file_leaf(chunk))):
        # hashed in three pieces, and joined only when a sink wants the block
        size_n = encode_varint(n)
        inner = 3 + len(size_n) + n + 1 + len(size_n)  # 08 02 | 12 len chunk | 18 n
        prefix = b"\x0a" + encode_varint(inner) + b"\x08\x02\x12" + size_n
        suffix = b"\x18" + size_n
        if self._sink is None or self._parts_sink is not None:
            h = hashlib.sha256(prefix)
            h.update(chunk)
            h.update(suffix)
            cid = CID(self.profile.cid_version, DAG_PB, _MH_PREFIX + h.digest())
            self._blocks += 1
            if self._parts_sink is not None:
                self._parts_sink(cid, (prefix, chunk, suffix))
            self._push(0, _Child(cid, n, len(prefix) + n + len(suffix)))
            return
        block = b"".join((prefix, chunk, suffix))
        cid = CID.hash(block, version=self.profile.cid_version, codec=DAG_PB)
        self._emit(cid, block)
        self._push(0, _Child(cid, n, len(block)))

    def _push(self, height: int, child: _Child) -> None:
        if height == len(self._levels):
            self._levels.append([])
        self._levels[height].append(child)
        if len(self._levels[height]) == self.profile.max_links:
            self._pack(height)

    def _pack(self, height: int) -> None:
        """Turn the pending children of ``height`` into one node of ``height + 1``."""
        children = self._levels[height]
        self._levels[height] = []
        filesize = sum(c.filesize for c in children)
        data = unixfs.encode(
            unixfs.UnixFSData(
                unixfs.DataType.FILE,
                filesize=filesize,
                blocksizes=tuple(c.filesize for c in children),
            )
        )
        links = [dagpb.PBLink(c.cid, "", c.tsize) for c in children]
        block = dagpb.encode_node(links, data)
        cid = CID.hash(block, version=self.profile.cid_version, codec=DAG_PB)
        self._emit(cid, block)
        tsize = len(block) + sum(c.tsize for c in children)
        self._push(height + 1, _Child(cid, filesize, tsize))


def import_chunks(
    chunks: Iterable[bytes | bytearray | memoryview],
    profile: Profile = KUBO_V0,
    sink: BlockSink | None = None,
) -> ImportResult:
    """Import a file given as an iterable of byte pieces (any sizes). ``sink=None`` is
    ``--only-hash``: blocks are built and hashed, then dropped."""
    importer = Importer(profile, sink)
    for piece in chunks:
        importer.write(piece)
    return importer.finish()


def import_file(
    stream: BinaryIO, profile: Profile = KUBO_V0, sink: BlockSink | None = None
) -> ImportResult:
    """Import from a binary file object, reading one chunk at a time."""
    size = profile.chunk_size
    return import_chunks(iter(lambda: stream.read(size), b""), profile, sink)


def only_hash(chunks: Iterable[bytes | bytearray | memoryview], profile: Profile = KUBO_V0) -> CID:
    """The root CID ``ipfs add --only-hash`` would print; no block is kept."""
    return import_chunks(chunks, profile).root
