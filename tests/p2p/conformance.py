"""The port conformance suite: every Network implementation passes these (ARCHITECTURE 7.3).

Each check is an async function taking a factory `nets(n, chain_ids=None)` (an async
context manager yielding n started, connected networks); test_conformance.py runs them all
against MemoryNetwork and Libp2pNetwork.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import pytest
import trio

from qos_ipfs.cid import CID, DAG_PB
from qos_p2p.port import (
    Accept,
    Ignore,
    InboundMessage,
    MessageKind,
    MessageTooLarge,
    Network,
    PeerId,
    PeerUnavailable,
    Reject,
    SyncFailed,
    UnverifiableCid,
    Verdict,
)
from tests.p2p.harness import collect, wait_until

Nets = Callable[..., AbstractAsyncContextManager[list[Network]]]
MiB = 1024 * 1024


async def consensus_reaches_every_validator(nets: Nets) -> None:
    """500 consensus messages at a sustained rate: every other validator gets all, in order."""
    async with nets(3) as (a, b, c):
        sent = [f"vote-{i}".encode() for i in range(500)]

        async def send() -> None:
            for payload in sent:
                await a.send_consensus(payload)
                await trio.sleep(0.001)  # sleep-ok: pacing the offered load (~500-1000 msg/s)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            got_b = await collect(b, 500, MessageKind.CONSENSUS)
            got_c = await collect(c, 500, MessageKind.CONSENSUS)
        for got in (got_b, got_c):
            assert [m.payload for m in got] == sent
            assert {m.peer for m in got} == {a.peer_id}
        assert a.stats().consensus_dropped == 0


async def tx_burst_reaches_everyone(nets: Nets) -> None:
    """200 txs published in a tight loop all arrive (py-libp2p's defaults delivered 17)."""
    async with nets(4) as group:
        origin, others = group[0], group[1:]
        txs = [f"tx-{i:04d}".encode() + b"x" * 200 for i in range(200)]
        for tx in txs:
            await origin.publish_tx(tx)
        for net in others:
            got = await collect(net, 200, MessageKind.TX, timeout=30)
            assert sorted(m.payload for m in got) == txs
            assert net.stats().gossip_dropped == 0
        with trio.move_on_after(0.2):
            echo = await collect(origin, 1)
            raise AssertionError(f"own publish delivered back: {echo}")


async def direct_txs_reach_every_validator(nets: Nets) -> None:
    """A validator's tx batches go straight to each validator peer, in order, once each;
    the peers' validator still vets them (a rejected one is not delivered)."""
    async with nets(3) as (a, b, c):
        b.set_validator(_reject_bad)
        c.set_validator(_reject_bad)
        sent = [f"txs-{i:04d}".encode() + b"x" * 2000 for i in range(300)]
        got: dict[Network, list[InboundMessage]] = {b: [], c: []}
        with trio.fail_after(15):  # send_txs counts a peer once its tx stream is up
            while await a.send_txs(b"dup-probe") < 2:  # ignored by b and c: not delivered
                await trio.sleep(0.005)  # sleep-ok: poll interval of a deadline-bounded wait
        for start in range(0, 300, 50):  # in steps, within the per-peer queue bound
            chunk = sent[start : start + 50]
            if start == 150:
                chunk = [b"bad", *chunk]
            assert {await a.send_txs(payload) for payload in chunk} == {2}
            for net in (b, c):
                got[net] += await collect(net, 50, MessageKind.TX, timeout=30)
        for net in (b, c):
            assert [m.payload for m in got[net]] == sent
            assert {m.peer for m in got[net]} == {a.peer_id}
            await wait_until(lambda net=net: net.stats().rejected == 1)  # type: ignore[misc]
        with trio.move_on_after(0.2):
            extra = await collect(b, 1)
            raise AssertionError(f"delivered twice or the rejected one: {extra}")
        assert a.stats().txs_direct_dropped == 0
        with pytest.raises(MessageTooLarge):
            await a.send_txs(b"x" * (a.limits.max_gossip_bytes + 1))


async def evidence_reaches_everyone(nets: Nets) -> None:
    async with nets(3) as (a, b, c):
        await b.publish_evidence(b"double-sign")
        for net in (a, c):
            (msg,) = await collect(net, 1, MessageKind.EVIDENCE)
            assert msg.payload == b"double-sign"
            assert msg.peer == b.peer_id


async def peers_and_status(nets: Nets) -> None:
    async with nets(3) as (a, b, c):
        b.set_height(7)
        infos = {p.peer_id: p for p in a.peers()}
        assert set(infos) == {b.peer_id, c.peer_id}
        assert all(p.is_validator for p in infos.values())
        assert all(p.score == 0.0 for p in infos.values())
        assert await a.status_of(b.peer_id) == 7
        assert {p.peer_id: p.height for p in a.peers()}[b.peer_id] == 7
        with pytest.raises(PeerUnavailable):
            await a.status_of(PeerId("12D3KooWNotAPeerNotAPeerNotAPeerNotAPeerNotAPeerNo"))


async def request_blocks_bounded(nets: Nets) -> None:
    """Sync answers the requested range, bounded by the count limit; a 1 MiB block works."""
    chain = [bytes([i % 256]) * (MiB if i == 3 else 100) for i in range(300)]
    calls: list[tuple[int, int]] = []

    async def provider(start: int, count: int) -> list[bytes]:
        calls.append((start, count))
        await trio.lowlevel.checkpoint()
        return chain[start : start + count]

    async with nets(2) as (a, b):
        b.set_block_provider(provider)
        got = await a.request_blocks(b.peer_id, 0, 5)
        assert got == chain[:5]
        assert len(got[3]) == MiB
        limit = a.limits.max_sync_count
        many = await a.request_blocks(b.peer_id, 10, 10_000)
        assert many == chain[10 : 10 + limit]
        assert max(c for _, c in calls) <= limit
        assert await a.request_blocks(b.peer_id, 299, 5) == chain[299:]
        assert await a.request_blocks(b.peer_id, 1000, 5) == []
        with pytest.raises(SyncFailed):
            await b.request_blocks(a.peer_id, 0, 1)  # a serves no blocks
        assert b.stats().sync_served >= 4


def _reject_bad(kind: MessageKind, payload: bytes) -> Verdict:
    if payload.startswith(b"bad"):
        return Reject("bad payload")
    if payload.startswith(b"dup"):
        return Ignore()
    return Accept()


async def invalid_rejected_and_peer_banned(nets: Nets) -> None:
    """Rejected messages are never delivered; they lower the sender's score to a ban."""
    async with nets(2) as (a, b):
        b.set_validator(_reject_bad)
        await a.send_consensus(b"dup-1")
        await a.send_consensus(b"bad-1")
        await a.publish_tx(b"bad-tx")
        await a.send_consensus(b"good-1")
        (msg,) = await collect(b, 1)
        assert msg.payload == b"good-1"
        await wait_until(lambda: b.stats().rejected >= 2)
        assert b.stats().ignored == 1
        assert {p.peer_id: p.score for p in b.peers()}[a.peer_id] < 0
        for i in range(10):
            await a.send_consensus(f"bad-{i}".encode())
        await wait_until(lambda: b.stats().peers_banned == 1)
        await wait_until(lambda: a.peer_id not in {p.peer_id for p in b.peers()})
        await a.send_consensus(b"good-after-ban")
        await a.publish_tx(b"good-tx-after-ban")
        with trio.move_on_after(0.3):
            extra = await collect(b, 1)
            raise AssertionError(f"delivered from a banned peer: {extra}")


async def oversize_refused(nets: Nets) -> None:
    async with nets(2) as (a, _b):
        with pytest.raises(MessageTooLarge):
            await a.send_consensus(b"x" * (a.limits.max_consensus_bytes + 1))
        with pytest.raises(MessageTooLarge):
            await a.publish_tx(b"x" * (a.limits.max_gossip_bytes + 1))
        with pytest.raises(MessageTooLarge):
            await a.publish_evidence(b"x" * (2 * MiB))
        assert a.stats().oversize_refused == 3


async def wrong_chain_refused(nets: Nets) -> None:
    async with nets(2, chain_ids=["qos-a", "qos-b"]) as (a, b):
        await wait_until(lambda: a.stats().handshakes_refused + b.stats().handshakes_refused > 0)
        assert a.peers() == []
        assert b.peers() == []


def _ipfs_blocks(n: int, size: int, tag: bytes = b"") -> dict[bytes, bytes]:
    """n deterministic blocks of `size` bytes by binary CID (CIDv1 raw; every 7th CIDv0)."""
    out: dict[bytes, bytes] = {}
    for i in range(n):
        data = (tag + i.to_bytes(4, "big")) * (size // (len(tag) + 4)) or tag + bytes([i])
        cid = CID.hash(data, version=0, codec=DAG_PB) if i % 7 == 0 else CID.hash(data)
        out[cid.to_bytes()] = data
    return out


async def fetch_blocks_verified(nets: Nets) -> None:
    """One block, many (more than one request's count and bytes), missing ones, no source."""
    blocks = _ipfs_blocks(100, 100 * 1024)
    big = b"b" * (3 * MiB)  # over max_block_bytes: the server reports it missing
    big_cid = CID.hash(big).to_bytes()
    absent = CID.hash(b"nobody has this").to_bytes()
    served: list[bytes] = []

    async def source(cid: bytes) -> bytes | None:
        served.append(cid)
        await trio.lowlevel.checkpoint()
        return {**blocks, big_cid: big}.get(cid)

    async with nets(2) as (a, b):
        b.set_block_source(source)
        first = next(iter(blocks))
        assert await a.fetch_blocks(b.peer_id, [first]) == {first: blocks[first]}
        assert a.limits.max_block_request_count < len(blocks)
        assert sum(map(len, blocks.values())) > a.limits.max_block_response_bytes
        got = await a.fetch_blocks(b.peer_id, [*blocks, absent, big_cid, first])
        assert got == blocks
        assert await a.fetch_blocks(None, [absent]) == {}
        assert await a.fetch_blocks(None, list(blocks)[:3]) == dict(list(blocks.items())[:3])
        assert await b.fetch_blocks(a.peer_id, [first]) == {}  # a has no block source
        assert await a.fetch_blocks(b.peer_id, []) == {}
        with pytest.raises(UnverifiableCid):
            await a.fetch_blocks(b.peer_id, [b"not a cid"])
        with pytest.raises(PeerUnavailable):
            await a.fetch_blocks(
                PeerId("12D3KooWNotAPeerNotAPeerNotAPeerNotAPeerNotAPeerNo"), [first]
            )
        assert b.stats().blocks_served == 1 + 100 + 3
        assert a.stats().blocks_fetched == 1 + 100 + 3
        assert a.stats().blocks_rejected == 0
        assert a.stats().rejected == 0


async def lying_block_peer_penalised(nets: Nets) -> None:
    """A peer answering bytes that do not hash to the CID: discarded, peer penalised;
    with peer=None the block still comes from an honest peer."""
    blocks = _ipfs_blocks(3, 1000, b"honest")

    def honest(cid: bytes) -> bytes | None:
        return blocks.get(cid)

    def liar(cid: bytes) -> bytes | None:
        return b"forged " + blocks[cid] if cid in blocks else None

    async with nets(3) as (a, b, c):
        b.set_block_source(liar)
        c.set_block_source(honest)
        assert await a.fetch_blocks(b.peer_id, list(blocks)) == {}
        assert a.stats().blocks_rejected == 3
        assert {p.peer_id: p.score for p in a.peers()}[b.peer_id] == -30
        # peers are asked best score first: c answers, b is not asked
        assert await a.fetch_blocks(None, list(blocks)) == blocks
        assert a.stats().blocks_fetched == 3
        assert a.stats().blocks_rejected == 3
        assert await a.fetch_blocks(b.peer_id, list(blocks)[:2]) == {}
        assert a.stats().peers_banned == 1
        await wait_until(lambda: b.peer_id not in {p.peer_id for p in a.peers()})
        assert await a.fetch_blocks(None, list(blocks)) == blocks


CHECKS: Sequence[Callable[[Nets], object]] = (
    consensus_reaches_every_validator,
    tx_burst_reaches_everyone,
    direct_txs_reach_every_validator,
    evidence_reaches_everyone,
    peers_and_status,
    request_blocks_bounded,
    invalid_rejected_and_peer_banned,
    oversize_refused,
    wrong_chain_refused,
    fetch_blocks_verified,
    lying_block_peer_penalised,
)
