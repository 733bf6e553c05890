"""Framing, status/sync codecs, scoring and the memory hub's seeded faults."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from qos_p2p.framing import FrameError, FrameTooLarge, encode_frame, read_frame
from qos_p2p.memory import MemoryHub
from qos_p2p.port import MessageKind, PeerId, Status, SyncFailed
from qos_p2p.scoring import PeerScores
from qos_p2p.sync import (
    BadStatus,
    decode_blocks,
    decode_status,
    decode_sync_request,
    encode_blocks,
    encode_status,
    encode_sync_request,
)
from tests.p2p.harness import collect


class _Chunks:
    """A stream that returns its data in small pieces (as TCP may)."""

    def __init__(self, data: bytes, piece: int = 3) -> None:
        self._data = data
        self._piece = piece

    async def read(self, n: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        take = min(self._piece, n or self._piece)
        out, self._data = self._data[:take], self._data[take:]
        return out

    async def write(self, data: bytes) -> None:
        raise AssertionError("read-only")


def test_frames_roundtrip_in_pieces_and_enforce_limits() -> None:
    async def main() -> None:
        stream = _Chunks(encode_frame(b"hello") + encode_frame(b"") + encode_frame(b"x" * 50))
        assert await read_frame(stream, 100) == b"hello"
        assert await read_frame(stream, 100) == b""
        with pytest.raises(FrameTooLarge):
            await read_frame(stream, 10)
        with pytest.raises(FrameError):
            await read_frame(_Chunks(encode_frame(b"abc")[:-1]), 10)

    trio.run(main)


def test_status_and_sync_codecs() -> None:
    status = Status("qos-1", 5, PeerId("12D3KooWabc"), True)
    assert decode_status(encode_status(status)) == status
    for bad in (
        b"{",
        b'{"chain_id": 1}',
        b'{"chain_id":"c","height":-1,"node_id":"n","is_validator":true}',
    ):
        with pytest.raises(BadStatus):
            decode_status(bad)
    assert decode_sync_request(encode_sync_request(7, 3)) == (7, 3)
    blocks = [b"a", b"", b"ccc"]
    assert decode_blocks(encode_blocks(blocks), 3) == blocks
    with pytest.raises(SyncFailed):
        decode_blocks(encode_blocks(blocks), 2)
    with pytest.raises(SyncFailed):
        decode_blocks(encode_blocks(blocks)[:-1], 3)


def test_scores_ban_then_forgive() -> None:
    scores = PeerScores(ban_seconds=10, threshold=-20)
    assert not scores.rejected("p", now=0)
    assert scores.rejected("p", now=1)
    assert scores.is_banned("p", now=5)
    assert not scores.is_banned("p", now=11)
    assert scores.score("p") == 0.0


def test_memory_hub_seeded_drops_and_delays_replay_exactly() -> None:
    def run(seed: int) -> list[bytes]:
        async def main() -> list[bytes]:
            hub = MemoryHub(seed=seed, drop_rate=0.3, max_delay=0.01)
            a, b = hub.node("a", chain_id="c"), hub.node("b", chain_id="c")
            async with trio.open_nursery() as nursery:
                await nursery.start(a.run)
                await nursery.start(b.run)
                for i in range(100):
                    await a.send_consensus(bytes([i]))
                got = await collect(b, 100 - hub.simulated_drops, MessageKind.CONSENSUS)
                nursery.cancel_scope.cancel()
            return [m.payload for m in got]

        return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    first = run(3)
    assert 40 < len(first) < 100
    assert first != sorted(first)  # delays reorder
    assert run(3) == first
