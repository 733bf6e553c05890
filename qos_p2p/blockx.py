"""IPFS block exchange between QOS nodes: `/qos/blocks/1.0.0` (docs/network.md).

Request/response over a fresh stream, like block sync (qos_p2p.sync): the opener writes
one frame, the handler answers with one frame and closes.

Request: `n: u32 BE`, then n times `len: u32 BE` + a binary CID (CIDv0 multihash or CIDv1),
1 <= n <= `max_block_request_count`, each CID at most `MAX_CID_BYTES`.

Answer: `n: u32 BE` (the request's n), then one entry per requested CID, in order: a status
byte, `MISSING` (0: the server does not have it), `FOUND` (1: followed by `len: u32 BE` and
the block) or `OMITTED` (2: not sent because the answer reached `max_block_response_bytes`;
ask again). A block is at most `max_block_bytes`; the server always sends at least the
first block it has, so every answer makes progress.

The server answers from the node's `BlockSource` and does not re-hash (the node's
blockstore verifies on read). The client checks the answer's shape and VERIFIES every block
against its CID's sha2-256 multihash before returning it: a block that does not match, or
an answer that breaks the framing, counts against the peer (`on_bad`) and is discarded.
Both port implementations share this module's client loop (`fetch_from_peer`,
`fetch_from_any`) and server (`answer`).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import struct
from collections.abc import Awaitable, Callable, Sequence

from qos_ipfs.cid import CID
from qos_ipfs.errors import InvalidCid
from qos_p2p.limits import MAX_CID_BYTES
from qos_p2p.port import (
    BlockExchangeFailed,
    BlockSource,
    Limits,
    PeerId,
    PeerInfo,
    PeerUnavailable,
    UnverifiableCid,
)

log = logging.getLogger(__name__)

BLOCKS_PROTOCOL = "/qos/blocks/1.0.0"

MISSING = 0
FOUND = 1
OMITTED = 2

_U32 = struct.Struct(">I")


class MalformedAnswer(BlockExchangeFailed):
    """The peer's answer broke the protocol (counted against the peer)."""


class _Omitted:
    """An entry the server left out for the byte limit."""


OMIT = _Omitted()
Entry = bytes | None | _Omitted
"""A decoded answer entry: the block, None (missing) or OMIT (ask again)."""

Ask = Callable[[PeerId, bytes], Awaitable[bytes]]
"""Send one encoded request to a peer, return its raw answer frame (transport-specific)."""
OnBad = Callable[[PeerId, str], None]
"""Count a misbehaving answer against a peer (score, counter, log)."""


# ------------------------------------------------------------------ limits and CIDs


def request_frame_limit(limits: Limits) -> int:
    """The largest request frame a server reads."""
    return _U32.size + limits.max_block_request_count * (_U32.size + MAX_CID_BYTES)


def answer_frame_limit(limits: Limits, count: int) -> int:
    """The largest answer frame a client accepts for `count` CIDs."""
    return _U32.size + count * (1 + _U32.size) + limits.max_block_response_bytes


def check_cid(cid: bytes) -> CID:
    """The CID for `cid` bytes, or UnverifiableCid (the block could not be verified)."""
    if len(cid) > MAX_CID_BYTES:
        raise UnverifiableCid(f"CID of {len(cid)} bytes > {MAX_CID_BYTES}")
    try:
        return CID.from_bytes(cid)
    except InvalidCid as exc:
        raise UnverifiableCid(f"cannot verify blocks for CID {cid.hex()}: {exc}") from exc


def matches(cid: CID, block: bytes) -> bool:
    """True when `block` hashes to `cid`'s sha2-256 multihash (CID enforces sha2-256)."""
    return hashlib.sha256(block).digest() == cid.multihash_digest


# ------------------------------------------------------------------ codec


def encode_request(cids: Sequence[bytes]) -> bytes:
    parts = [_U32.pack(len(cids))]
    for cid in cids:
        parts.append(_U32.pack(len(cid)))
        parts.append(cid)
    return b"".join(parts)


def decode_request(raw: bytes, limits: Limits) -> list[bytes]:
    if len(raw) < _U32.size:
        raise BlockExchangeFailed("truncated block request")
    (n,) = _U32.unpack_from(raw, 0)
    if not 1 <= n <= limits.max_block_request_count:
        raise BlockExchangeFailed(f"block request for {n} CIDs")
    pos = _U32.size
    cids: list[bytes] = []
    for _ in range(n):
        if pos + _U32.size > len(raw):
            raise BlockExchangeFailed("truncated block request")
        (size,) = _U32.unpack_from(raw, pos)
        pos += _U32.size
        if size > MAX_CID_BYTES or pos + size > len(raw):
            raise BlockExchangeFailed("bad CID length in block request")
        cids.append(raw[pos : pos + size])
        pos += size
    if pos != len(raw):
        raise BlockExchangeFailed("trailing bytes in block request")
    return cids


def decode_answer(raw: bytes, count: int, limits: Limits) -> list[Entry]:
    """The entries of an answer to `count` CIDs; MalformedAnswer if it breaks the rules."""
    if len(raw) < _U32.size:
        raise MalformedAnswer("truncated block answer")
    (n,) = _U32.unpack_from(raw, 0)
    if n != count:
        raise MalformedAnswer(f"block answer has {n} entries for {count} CIDs")
    pos = _U32.size
    total = 0
    entries: list[Entry] = []
    for _ in range(n):
        if pos >= len(raw):
            raise MalformedAnswer("truncated block answer")
        status = raw[pos]
        pos += 1
        if status == MISSING:
            entries.append(None)
        elif status == OMITTED:
            entries.append(OMIT)
        elif status == FOUND:
            if pos + _U32.size > len(raw):
                raise MalformedAnswer("truncated block answer")
            (size,) = _U32.unpack_from(raw, pos)
            pos += _U32.size
            total += size
            if size > limits.max_block_bytes or total > limits.max_block_response_bytes:
                raise MalformedAnswer("block answer over the size limits")
            if pos + size > len(raw):
                raise MalformedAnswer("truncated block answer")
            entries.append(raw[pos : pos + size])
            pos += size
        else:
            raise MalformedAnswer(f"unknown entry status {status}")
    if pos != len(raw):
        raise MalformedAnswer("trailing bytes in block answer")
    return entries


# ------------------------------------------------------------------ server


async def _lookup(source: BlockSource, cid: bytes) -> bytes | None:
    try:
        CID.from_bytes(cid)
    except InvalidCid:
        return None
    try:
        result = source(cid)
        if inspect.isawaitable(result):
            result = await result
    except Exception:  # a source failure (corrupt or unreadable block) is a miss
        log.exception("block source failed for %s", cid.hex())
        return None
    return result


async def answer(request: bytes, source: BlockSource | None, limits: Limits) -> tuple[bytes, int]:
    """The answer frame to an encoded request, and how many blocks it carries."""
    cids = decode_request(request, limits)
    parts = [_U32.pack(len(cids))]
    total = served = 0
    full = False
    for cid in cids:
        block = None if full or source is None else await _lookup(source, cid)
        if full:
            parts.append(bytes((OMITTED,)))
        elif block is None or len(block) > limits.max_block_bytes:
            parts.append(bytes((MISSING,)))
        elif served and total + len(block) > limits.max_block_response_bytes:
            full = True
            parts.append(bytes((OMITTED,)))
        else:
            parts += [bytes((FOUND,)), _U32.pack(len(block)), block]
            total += len(block)
            served += 1
    return b"".join(parts), served


# ------------------------------------------------------------------ client


def wanted(cids: Sequence[bytes]) -> list[tuple[bytes, CID]]:
    """The distinct requested CIDs, parsed (UnverifiableCid before anything is sent)."""
    return [(cid, check_cid(cid)) for cid in dict.fromkeys(bytes(c) for c in cids)]


async def fetch_from_peer(
    peer: PeerId,
    want: Sequence[tuple[bytes, CID]],
    ask: Ask,
    *,
    limits: Limits,
    on_bad: OnBad,
    on_block: Callable[[], None] = lambda: None,
) -> dict[bytes, bytes]:
    """Ask one peer for `want`, in requests of at most `max_block_request_count` CIDs;
    OMITTED entries are asked again. Returns the verified blocks found."""
    found: dict[bytes, bytes] = {}
    queue = list(want)
    step = max(1, limits.max_block_request_count)
    while queue:
        batch, queue = queue[:step], queue[step:]
        raw = await ask(peer, encode_request([cid for cid, _ in batch]))
        try:
            entries = decode_answer(raw, len(batch), limits)
        except MalformedAnswer as exc:
            on_bad(peer, str(exc))
            raise
        retry: list[tuple[bytes, CID]] = []
        for (cid_bytes, cid), entry in zip(batch, entries, strict=True):
            if isinstance(entry, _Omitted):
                retry.append((cid_bytes, cid))
            elif entry is None:
                continue
            elif matches(cid, entry):
                found[cid_bytes] = entry
                on_block()
            else:
                on_bad(peer, f"block does not match its CID {cid}")
        if len(retry) == len(batch):
            on_bad(peer, "block answer omitted every block")
            raise MalformedAnswer(f"{peer} omitted every block of a request")
        queue = retry + queue
    return found


async def fetch_from_any(
    peers: Sequence[PeerId],
    want: Sequence[tuple[bytes, CID]],
    ask: Ask,
    *,
    limits: Limits,
    on_bad: OnBad,
    on_block: Callable[[], None] = lambda: None,
) -> dict[bytes, bytes]:
    """Ask `peers` in turn for what is still missing; a failing peer is skipped."""
    found: dict[bytes, bytes] = {}
    for peer in peers:
        pending = [w for w in want if w[0] not in found]
        if not pending:
            break
        try:
            found.update(
                await fetch_from_peer(
                    peer, pending, ask, limits=limits, on_bad=on_bad, on_block=on_block
                )
            )
        except (PeerUnavailable, BlockExchangeFailed) as exc:
            log.info("block request to %s failed: %s", peer, exc)
    return found


async def fetch(
    peer: PeerId | None,
    cids: Sequence[bytes],
    *,
    connected: Callable[[PeerId], bool],
    peers: Callable[[], Sequence[PeerInfo]],
    ask: Ask,
    limits: Limits,
    on_bad: OnBad,
    on_block: Callable[[], None] = lambda: None,
) -> dict[bytes, bytes]:
    """``Network.fetch_blocks`` for both implementations: one named peer, or every connected
    peer in turn, best score first."""
    want = wanted(cids)
    if peer is not None:
        if not connected(peer):
            raise PeerUnavailable(f"{peer} is not connected")
        return await fetch_from_peer(
            peer, want, ask, limits=limits, on_bad=on_bad, on_block=on_block
        )
    order = sorted(peers(), key=lambda p: -p.score)
    return await fetch_from_any(
        [p.peer_id for p in order], want, ask, limits=limits, on_bad=on_bad, on_block=on_block
    )
