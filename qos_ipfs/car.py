"""CARv1 (Content Addressable aRchive) export and import.

Spec: https://ipld.io/specs/transport/car/carv1/ ::

    varint(len(header)) | header | { varint(len(cid) + len(block)) | cid | block }*
    header = dag-cbor {"roots": [CID, ...], "version": 1}

The header is written with a dozen lines of dag-cbor (canonical map key order: length
first, so ``roots`` before ``version``; CIDs as tag 42 over ``0x00 + binary CID``) and read
back with a small, bounded dag-cbor decoder. Export walks the DAG depth-first from the root,
each block once, as ``ipfs dag export`` does. Import verifies every block's hash before
storing it, bounds the header and every section, and reports malformed input precisely.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from qos_ipfs.blockstore import Blockstore, verify, write_batch
from qos_ipfs.cid import CID
from qos_ipfs.dagpb import child_cids
from qos_ipfs.errors import HashMismatch, InvalidCid, MalformedCar
from qos_ipfs.varint import MAX_VARINT_BYTES, VarintError, decode_varint, encode_varint

MAX_HEADER_SIZE = 64 * 1024
MAX_SECTION_SIZE = 2 * 1024 * 1024 + 128  # a 2 MiB block (Kubo's limit) plus its CID
MAX_ROOTS = 1024
_CID_TAG = 42


# ------------------------------------------------------------------ dag-cbor (header only)


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes((major << 5 | value,))
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes((major << 5 | extra,)) + value.to_bytes(size, "big")
    raise ValueError("CBOR value too large")


def encode_header(roots: list[CID]) -> bytes:
    out = bytearray(_cbor_head(5, 2))
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\0" + root.to_bytes()
        out += _cbor_head(6, _CID_TAG) + _cbor_head(2, len(raw)) + raw
    out += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return bytes(out)


class _CborReader:
    """Decodes the subset of dag-cbor a CAR header uses: uints, text, bytes, arrays, maps
    with text keys, tag 42. Depth and counts are bounded by the header size."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedCar("truncated CAR header")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def _head(self) -> tuple[int, int]:
        first = self._take(1)[0]
        major, info = first >> 5, first & 31
        if info < 24:
            return major, info
        if info > 27:
            raise MalformedCar(f"unsupported CBOR additional info {info} in CAR header")
        value = int.from_bytes(self._take(1 << (info - 24)), "big")
        return major, value

    def item(self, depth: int = 0) -> object:
        if depth > 8:
            raise MalformedCar("CAR header nested too deeply")
        major, value = self._head()
        if major == 0:
            return value
        if major in (2, 3):
            raw = self._take(value)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedCar("CAR header text is not UTF-8") from exc
        if major == 4:
            self._bound(value)
            return [self.item(depth + 1) for _ in range(value)]
        if major == 5:
            self._bound(value)
            out: dict[str, object] = {}
            for _ in range(value):
                key = self.item(depth + 1)
                if not isinstance(key, str) or key in out:
                    raise MalformedCar("CAR header map keys must be distinct strings")
                out[key] = self.item(depth + 1)
            return out
        if major == 6 and value == _CID_TAG:
            inner = self.item(depth + 1)
            if not isinstance(inner, bytes) or not inner.startswith(b"\0"):
                raise MalformedCar("tag 42 must wrap 0x00-prefixed CID bytes")
            try:
                return CID.from_bytes(inner[1:])
            except InvalidCid as exc:
                raise MalformedCar(f"bad root CID in CAR header: {exc}") from exc
        raise MalformedCar(f"unsupported CBOR major type {major} in CAR header")

    def _bound(self, count: int) -> None:
        if count > len(self.data) - self.pos:
            raise MalformedCar("CBOR collection longer than the CAR header")


def decode_header(data: bytes) -> list[CID]:
    reader = _CborReader(data)
    header = reader.item()
    if reader.pos != len(data):
        raise MalformedCar("trailing bytes in CAR header")
    if not isinstance(header, dict):
        raise MalformedCar("CAR header is not a map")
    if header.get("version") != 1:
        raise MalformedCar(f"unsupported CAR version {header.get('version')!r} (CARv1 only)")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise MalformedCar("CAR header roots must be a list of CIDs")
    if len(roots) > MAX_ROOTS:
        raise MalformedCar("too many roots in CAR header")
    return [r for r in roots if isinstance(r, CID)]


# ------------------------------------------------------------------ export


def export_car(store: Blockstore, root: CID) -> Iterator[bytes]:
    """Yield a CARv1 with one root: the header, then each reachable block once, DFS order."""
    header = encode_header([root])
    yield encode_varint(len(header)) + header
    seen: set[bytes] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        if cid.multihash in seen:
            continue
        seen.add(cid.multihash)
        block = store.get(cid)
        raw_cid = cid.to_bytes()
        yield encode_varint(len(raw_cid) + len(block)) + raw_cid + block
        stack.extend(reversed(child_cids(cid, block)))


def write_car(store: Blockstore, root: CID, out: BinaryIO) -> None:
    for piece in export_car(store, root):
        out.write(piece)


# ------------------------------------------------------------------ import


@dataclass(frozen=True, slots=True)
class CarImport:
    roots: tuple[CID, ...]
    blocks: int


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise MalformedCar(f"truncated CAR: {what} needs {n} bytes, got {len(data)}")
    return data


def _read_varint(stream: BinaryIO, what: str) -> int | None:
    """A varint from the stream, or None at a clean end of stream."""
    buf = bytearray()
    while True:
        byte = stream.read(1)
        if not byte:
            if buf:
                raise MalformedCar(f"truncated varint in {what}")
            return None
        buf += byte
        if byte[0] < 0x80 or len(buf) >= MAX_VARINT_BYTES:
            break
    try:
        value, _ = decode_varint(bytes(buf))
    except VarintError as exc:
        raise MalformedCar(f"bad varint in {what}: {exc}") from exc
    return value


def iter_car(stream: BinaryIO) -> tuple[list[CID], Iterator[tuple[CID, bytes]]]:
    """Read the header now; return the roots and an iterator of verified ``(cid, block)``."""
    size = _read_varint(stream, "header length")
    if size is None or size == 0:
        raise MalformedCar("empty CAR: no header")
    if size > MAX_HEADER_SIZE:
        raise MalformedCar(f"CAR header of {size} bytes exceeds {MAX_HEADER_SIZE}")
    roots = decode_header(_read_exact(stream, size, "header"))
    return roots, _sections(stream)


def _sections(stream: BinaryIO) -> Iterator[tuple[CID, bytes]]:
    index = 0
    while True:
        size = _read_varint(stream, f"section {index} length")
        if size is None:
            return
        if size > MAX_SECTION_SIZE:
            raise MalformedCar(f"CAR section {index} of {size} bytes exceeds {MAX_SECTION_SIZE}")
        section = _read_exact(stream, size, f"section {index}")
        try:
            cid, start = CID.read_bytes(section)
        except InvalidCid as exc:
            raise MalformedCar(f"section {index}: bad CID: {exc}") from exc
        block = section[start:]
        try:
            verify(cid, block)
        except HashMismatch as exc:
            raise MalformedCar(f"section {index}: block does not hash to {cid}") from exc
        yield cid, block
        index += 1


def import_car(stream: BinaryIO, store: Blockstore) -> CarImport:
    """Store every block of a CARv1 stream (each verified first); return the header roots.
    One write batch: durable together (a bad section keeps the verified blocks before it)."""
    roots, sections = iter_car(stream)
    count = 0
    with write_batch(store) as batch:
        for cid, block in sections:
            batch.put_verified(cid, block)  # _sections verified it
            count += 1
    return CarImport(tuple(roots), count)
