"""Length-prefixed frames over a byte stream: 4-byte big-endian length, then the payload.

Used by the direct consensus streams, the status handshake and block sync. A frame over
the reader's limit is refused before its body is read (FrameTooLarge); the caller resets
the stream and counts it against the peer.
"""

from __future__ import annotations

import struct
from typing import Protocol

HEADER = struct.Struct(">I")


class ByteStream(Protocol):
    """What we use of a libp2p stream (INetStream satisfies it structurally)."""

    async def read(self, n: int | None = None) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


class FrameError(Exception):
    """The stream broke the framing (EOF inside a frame, or a frame over the limit)."""


class FrameTooLarge(FrameError):
    """The announced frame length is over the reader's limit."""


class StreamClosed(FrameError):
    """Clean end of stream between frames."""


def encode_frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


async def write_frame(stream: ByteStream, payload: bytes) -> None:
    await stream.write(encode_frame(payload))


async def _read_exactly(stream: ByteStream, n: int, *, at_boundary: bool) -> bytes:
    chunks: list[bytes] = []
    have = 0
    while have < n:
        chunk = await stream.read(n - have)
        if not chunk:
            if at_boundary and have == 0:
                raise StreamClosed("stream closed")
            raise FrameError(f"stream closed inside a frame ({have}/{n} bytes)")
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


async def read_frame(stream: ByteStream, max_bytes: int) -> bytes:
    (length,) = HEADER.unpack(await _read_exactly(stream, HEADER.size, at_boundary=True))
    if length > max_bytes:
        raise FrameTooLarge(f"frame of {length} bytes > limit {max_bytes}")
    if length == 0:
        return b""
    return await _read_exactly(stream, length, at_boundary=False)
