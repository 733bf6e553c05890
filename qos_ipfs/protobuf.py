"""The sliver of protobuf (proto2 wire format) that dag-pb and UnixFS need.

Only wire types 0 (varint) and 2 (length-delimited) occur in those schemas; anything else is
refused as malformed rather than skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from qos_ipfs.errors import MalformedNode
from qos_ipfs.varint import VarintError, decode_varint, encode_varint

VARINT = 0
LEN = 2


def key(field: int, wire_type: int) -> bytes:
    return encode_varint(field << 3 | wire_type)


def varint_field(field: int, value: int) -> bytes:
    return key(field, VARINT) + encode_varint(value)


def bytes_field(field: int, value: bytes | memoryview) -> bytes:
    return key(field, LEN) + encode_varint(len(value)) + bytes(value)


def iter_fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield ``(field, wire_type, value)``; ``value`` is an int or a zero-copy view."""
    view = memoryview(data)
    pos = 0
    try:
        while pos < len(view):
            tag, pos = decode_varint(view, pos)
            field, wire_type = tag >> 3, tag & 7
            if field == 0:
                raise MalformedNode("protobuf field number 0")
            if wire_type == VARINT:
                value, pos = decode_varint(view, pos)
                yield field, wire_type, value
            elif wire_type == LEN:
                length, pos = decode_varint(view, pos)
                if pos + length > len(view):
                    raise MalformedNode("protobuf field runs past the end of the block")
                yield field, wire_type, view[pos : pos + length]
                pos += length
            else:
                raise MalformedNode(f"unexpected protobuf wire type {wire_type}")
    except VarintError as exc:
        raise MalformedNode(f"bad protobuf varint: {exc}") from exc


def expect_int(field: int, wire_type: int, value: int | memoryview) -> int:
    if wire_type != VARINT or not isinstance(value, int):
        raise MalformedNode(f"field {field} must be a varint")
    return value


def expect_bytes(field: int, wire_type: int, value: int | memoryview) -> memoryview:
    if wire_type != LEN or isinstance(value, int):
        raise MalformedNode(f"field {field} must be length-delimited")
    return value
