"""Read a UnixFS file back from a blockstore, streaming, with byte ranges.

``read_file(store, root, offset, length)`` yields the file's bytes in order, one block's
worth at a time. It uses each node's ``blocksizes`` to skip children wholly outside the
range, so a range read only fetches the blocks on the paths to the bytes it returns. A raw
CID is a file whose content is the block; a dag-pb node's content is its UnixFS ``Data``
followed by its children (the layout every UnixFS importer produces).
"""

from __future__ import annotations

from collections.abc import Iterator

from qos_ipfs import dagpb, unixfs
from qos_ipfs.blockstore import Blockstore
from qos_ipfs.cid import CID, RAW
from qos_ipfs.errors import InvalidRange, MalformedNode

MAX_DEPTH = 64
_FILE_TYPES = (unixfs.DataType.FILE, unixfs.DataType.RAW)


def file_size(store: Blockstore, root: CID) -> int:
    """The file's size from its root block alone."""
    block = store.get(root)
    if root.codec == RAW:
        return len(block)
    _node, fs = _decode(root, block)
    if fs.filesize is not None:
        return fs.filesize
    return len(fs.data or b"") + sum(fs.blocksizes)


def read_file(
    store: Blockstore, root: CID, offset: int = 0, length: int | None = None
) -> Iterator[bytes]:
    """Yield the bytes ``[offset, offset + length)`` of the file at ``root`` (to the end
    when ``length`` is None); a range past the end yields less, or nothing."""
    if offset < 0 or (length is not None and length < 0):
        raise InvalidRange(f"invalid range offset={offset} length={length}")
    end = None if length is None else offset + length
    if end == offset:
        return
    yield from _read(store, root, offset, end, 0)


def read_all(store: Blockstore, root: CID) -> bytes:
    return b"".join(read_file(store, root))


def _decode(cid: CID, block: bytes) -> tuple[dagpb.PBNode, unixfs.UnixFSData]:
    node = dagpb.decode_node(block)
    if node.data is None:
        raise MalformedNode(f"{cid} has no UnixFS data")
    fs = unixfs.decode(node.data)
    if fs.type not in _FILE_TYPES:
        raise MalformedNode(f"{cid} is a UnixFS {fs.type.name.lower()}, not a file")
    if len(fs.blocksizes) != len(node.links):
        raise MalformedNode(f"{cid} has {len(node.links)} links but {len(fs.blocksizes)} sizes")
    return node, fs


def _slice(data: bytes, offset: int, end: int | None) -> bytes:
    return data[offset:end] if offset or (end is not None and end < len(data)) else data


def _read(store: Blockstore, cid: CID, offset: int, end: int | None, depth: int) -> Iterator[bytes]:
    """Yield this subtree's bytes within ``[offset, end)``, both relative to the subtree."""
    if depth > MAX_DEPTH:
        raise MalformedNode(f"DAG deeper than {MAX_DEPTH} levels")
    block = store.get(cid)
    if cid.codec == RAW:
        piece = _slice(block, offset, end)
        if piece:
            yield piece
        return
    node, fs = _decode(cid, block)
    data = fs.data or b""
    piece = _slice(data, offset, end)
    if piece:
        yield piece
    pos = len(data)
    for link, size in zip(node.links, fs.blocksizes, strict=True):
        if end is not None and pos >= end:
            return
        if pos + size > offset:
            child_end = size if end is None else min(end - pos, size)
            yield from _read(store, link.hash, max(offset - pos, 0), child_end, depth + 1)
        pos += size
