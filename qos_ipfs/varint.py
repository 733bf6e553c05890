"""Unsigned LEB128 varints (multiformats unsigned-varint, protobuf base-128 varints).

Multiformats caps varints at 9 bytes (63 bits) and forbids non-minimal encodings; the same
rules are applied to protobuf fields here, which only ever hold sizes, codes and lengths.
"""

from __future__ import annotations

MAX_VARINT_BYTES = 9


class VarintError(ValueError):
    """Bytes are not a minimal unsigned varint of at most 9 bytes."""


def encode_varint(value: int) -> bytes:
    if value < 0 or value >= 1 << 63:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode the varint at ``data[pos:]``; return ``(value, next_pos)``."""
    value = 0
    shift = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise VarintError("truncated varint")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and i > 0:
                raise VarintError("non-minimal varint")
            return value, pos + i + 1
        shift += 7
    raise VarintError("varint longer than 9 bytes")
