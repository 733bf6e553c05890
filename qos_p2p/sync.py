"""Status handshake and block sync: request/response over a fresh stream each.

`/qos/status/1.0.0`: the opener writes one frame with its Status, the handler answers
with one frame with its own. Status is JSON `{"chain_id", "height", "node_id",
"is_validator", "validator_proof"}` (at most `MAX_STATUS_BYTES`; `validator_proof` is
optional, hex, see qos_p2p.binding). Run by both sides on every new connection; a
different chain id, or a node id that is not the Noise-authenticated peer id, refuses
the peer. `is_validator` is a claim: the receiver grants validator privileges only when
`validator_proof` verifies (qos_p2p.binding.check_claim).

`/qos/sync/1.0.0`: the request is one 12-byte frame `start: u64 BE, count: u32 BE`; the
answer is one frame `n: u32 BE` followed by n length-prefixed blocks, at most
`max_sync_count` blocks and `max_sync_response_bytes` bytes (the server truncates; the
client refuses anything larger or longer than it asked for).
"""

from __future__ import annotations

import json
import struct

from qos_p2p.framing import ByteStream, FrameError, read_frame, write_frame
from qos_p2p.port import PeerId, Status, SyncFailed

STATUS_PROTOCOL = "/qos/status/1.0.0"
SYNC_PROTOCOL = "/qos/sync/1.0.0"

_REQUEST = struct.Struct(">QI")
_U32 = struct.Struct(">I")


class BadStatus(ValueError):
    """An undecodable status frame."""


def encode_status(status: Status) -> bytes:
    data: dict[str, object] = {
        "chain_id": status.chain_id,
        "height": status.height,
        "node_id": status.node_id,
        "is_validator": status.is_validator,
    }
    if status.validator_proof:
        data["validator_proof"] = status.validator_proof
    return json.dumps(
        data,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def decode_status(raw: bytes) -> Status:
    try:
        data = json.loads(raw)
        status = Status(
            chain_id=data["chain_id"],
            height=data["height"],
            node_id=PeerId(data["node_id"]),
            is_validator=data["is_validator"],
            validator_proof=data.get("validator_proof", ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadStatus(f"undecodable status: {exc}") from exc
    if (
        not isinstance(status.chain_id, str)
        or type(status.height) is not int
        or status.height < 0
        or not isinstance(status.node_id, str)
        or not isinstance(status.is_validator, bool)
        or not isinstance(status.validator_proof, str)
    ):
        raise BadStatus("status fields have the wrong types")
    return status


def encode_sync_request(start: int, count: int) -> bytes:
    return _REQUEST.pack(start, count)


def decode_sync_request(raw: bytes) -> tuple[int, int]:
    if len(raw) != _REQUEST.size:
        raise SyncFailed(f"sync request of {len(raw)} bytes")
    start, count = _REQUEST.unpack(raw)
    return int(start), int(count)


def encode_blocks(blocks: list[bytes]) -> bytes:
    parts = [_U32.pack(len(blocks))]
    for block in blocks:
        parts.append(_U32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def decode_blocks(raw: bytes, max_count: int) -> list[bytes]:
    if len(raw) < _U32.size:
        raise SyncFailed("truncated sync answer")
    (n,) = _U32.unpack_from(raw, 0)
    if n > max_count:
        raise SyncFailed(f"sync answer has {n} blocks, asked for at most {max_count}")
    pos = _U32.size
    blocks: list[bytes] = []
    for _ in range(n):
        if pos + _U32.size > len(raw):
            raise SyncFailed("truncated sync answer")
        (size,) = _U32.unpack_from(raw, pos)
        pos += _U32.size
        if pos + size > len(raw):
            raise SyncFailed("truncated sync answer")
        blocks.append(raw[pos : pos + size])
        pos += size
    if pos != len(raw):
        raise SyncFailed("trailing bytes in sync answer")
    return blocks


def sync_answer_limit(max_response_bytes: int, max_count: int) -> int:
    """The largest answer frame a client accepts."""
    return max_response_bytes + _U32.size * (max_count + 1)


async def exchange(stream: ByteStream, request: bytes, max_answer: int) -> bytes:
    """Write one request frame, read one answer frame (FrameError -> SyncFailed)."""
    try:
        await write_frame(stream, request)
        return await read_frame(stream, max_answer)
    except FrameError as exc:
        raise SyncFailed(str(exc)) from exc
