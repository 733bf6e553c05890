"""UnixFS v1 ``Data`` message, carried in ``PBNode.Data`` of dag-pb file nodes.

Spec: https://specs.ipfs.tech/unixfs/ ::

    message Data {
      enum DataType { Raw = 0; Directory = 1; File = 2; Metadata = 3; Symlink = 4; HAMTShard = 5; }
      required DataType Type = 1;  optional bytes Data = 2;  optional uint64 filesize = 3;
      repeated uint64 blocksizes = 4;  optional uint64 hashType = 5;  optional uint64 fanout = 6;
      optional uint32 mode = 7;  optional UnixTime mtime = 8;
    }

Encoding follows go-unixfs (boxo ``FSNode``): fields in number order, ``filesize`` always
written (0 for an empty file), ``Data`` omitted when absent, and ``blocksizes`` written as
repeated *unpacked* varints (proto2 default). The decoder also accepts packed blocksizes,
as protobuf parsers must; fields 5-8 (directories, metadata) are parsed and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from qos_ipfs import protobuf as pb
from qos_ipfs.errors import MalformedNode
from qos_ipfs.varint import VarintError, decode_varint


class DataType(IntEnum):
    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: DataType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()


def encode(msg: UnixFSData) -> bytes:
    parts = [pb.varint_field(1, msg.type)]
    if msg.data is not None:
        parts.append(pb.bytes_field(2, msg.data))
    if msg.filesize is not None:
        parts.append(pb.varint_field(3, msg.filesize))
    parts.extend(pb.varint_field(4, size) for size in msg.blocksizes)
    return b"".join(parts)


def file_leaf(chunk: bytes) -> bytes:
    """The UnixFS payload of a dag-pb file leaf (what ``ipfs add`` writes without raw leaves)."""
    return encode(UnixFSData(DataType.FILE, chunk if chunk else None, len(chunk)))


def decode(data: bytes | memoryview) -> UnixFSData:
    type_: int | None = None
    payload: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    for field, wt, value in pb.iter_fields(data):
        if field == 1:
            type_ = pb.expect_int(field, wt, value)
        elif field == 2:
            payload = bytes(pb.expect_bytes(field, wt, value))
        elif field == 3:
            filesize = pb.expect_int(field, wt, value)
        elif field == 4:
            if isinstance(value, int):
                blocksizes.append(value)
            else:
                blocksizes.extend(_packed(value))
        elif field > 8:
            raise MalformedNode(f"unknown UnixFS field {field}")
    if type_ is None:
        raise MalformedNode("UnixFS Data without Type")
    try:
        kind = DataType(type_)
    except ValueError as exc:
        raise MalformedNode(f"unknown UnixFS type {type_}") from exc
    return UnixFSData(kind, payload, filesize, tuple(blocksizes))


def _packed(view: memoryview) -> list[int]:
    out = []
    pos = 0
    try:
        while pos < len(view):
            value, pos = decode_varint(view, pos)
            out.append(value)
    except VarintError as exc:
        raise MalformedNode(f"bad packed blocksizes: {exc}") from exc
    return out
