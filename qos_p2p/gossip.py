"""GossipSub v1.1 for transactions and evidence, configured around py-libp2p's defaults.

Measured in shared/notes/py-libp2p.md and handled here:
- only `/meshsub/1.1.0` (1.2's IDONTWANT raised p50 from 4 ms to 315 ms);
- spam protection OFF (it drops silently above 10 msg/s); our validator hook instead;
- heartbeat 1 s (default 120 s) and explicit D / D_lo / D_hi;
- `Pubsub.counter` from `time.time_ns()` (a fast restart would reuse seqnos);
- payloads over `MAX_GOSSIP_BYTES` refused before publish (~1 MiB fails silently);
- the subscription channel (32, drops silently) is replaced by `_Sink`, which hands each
  message straight to our inbound channel and counts any overflow;
- `publish()` has no backpressure and the per-peer outbound RPC queue (32) drops
  silently: `GossipPublisher` publishes from one task and first waits until every peer
  queue is at most `PUBSUB_PEER_QUEUE_HIGH_WATER` long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, GossipSub
from libp2p.pubsub.pubsub import Pubsub

from qos_p2p.limits import GOSSIP_OUTBOUND_QUEUE, PUBSUB_PEER_QUEUE_HIGH_WATER
from qos_p2p.port import InboundMessage, MessageKind, PeerId

log = logging.getLogger(__name__)

GOSSIP_KINDS = (MessageKind.TX, MessageKind.EVIDENCE)
MESH_D = 6
MESH_D_LO = 4
MESH_D_HI = 12
HEARTBEAT_S = 1
QUEUE_POLL_S = 0.002


def topic_for(chain_id: str, kind: MessageKind) -> str:
    return f"/qos/{chain_id}/{kind.value}/1"


def make_pubsub(host: Any) -> tuple[Any, Any]:
    """A (Pubsub, GossipSub) pair configured as the module docstring says."""
    router = GossipSub(
        protocols=[PROTOCOL_ID_V11],
        degree=MESH_D,
        degree_low=MESH_D_LO,
        degree_high=MESH_D_HI,
        heartbeat_initial_delay=0.1,
        heartbeat_interval=HEARTBEAT_S,
        spam_protection_enabled=False,
        eclipse_protection_enabled=False,  # every devnet peer shares 127.0.0.1
    )
    pubsub = Pubsub(host, router, strict_signing=True)
    pubsub.counter = time.time_ns()
    return pubsub, router


def peer_id_of(raw: Any) -> PeerId:
    return PeerId(str(raw.to_base58()))


class _Sink:
    """Stands in for py-libp2p's subscription send channel (`send_nowait` only)."""

    def __init__(
        self,
        kind: MessageKind,
        deliver: Callable[[InboundMessage], bool],
        on_drop: Callable[[], None],
    ) -> None:
        self._kind = kind
        self._deliver = deliver
        self._on_drop = on_drop

    def send_nowait(self, msg: Any) -> None:
        from_id = _id_from_bytes(msg.from_id)
        if not self._deliver(InboundMessage(from_id, self._kind, bytes(msg.data))):
            self._on_drop()

    def close(self) -> None:
        """Called by Pubsub.unsubscribe; nothing to release."""

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def _id_from_bytes(raw: bytes) -> PeerId:
    return peer_id_of(ID(raw))


def install_sink(
    pubsub: Any,
    topic: str,
    kind: MessageKind,
    deliver: Callable[[InboundMessage], bool],
    on_drop: Callable[[], None],
) -> None:
    """Replace the bounded (32) subscription channel of `topic` with our sink."""
    pubsub.subscribed_topics_send[topic] = _Sink(kind, deliver, on_drop)


def gossip_peer_count(pubsub: Any, topic: str) -> int:
    """How many connected peers announced a subscription to `topic`."""
    return len(pubsub.peer_topics.get(topic, ()))


class GossipPublisher:
    """Our outbound gossip queue: callers wait for room (backpressure), nothing drops."""

    def __init__(self, pubsub: Any, on_published: Callable[[], None]) -> None:
        self._pubsub = pubsub
        self._on_published = on_published
        self._send, self._recv = trio.open_memory_channel[tuple[str, bytes]](GOSSIP_OUTBOUND_QUEUE)

    async def publish(self, topic: str, payload: bytes) -> None:
        await self._send.send((topic, payload))

    def _peer_queues_have_room(self) -> bool:
        queues = self._pubsub.peer_queues
        return all(len(q) <= PUBSUB_PEER_QUEUE_HIGH_WATER for q in list(queues.values()))

    async def run(self) -> None:
        async for topic, payload in self._recv:
            while not self._peer_queues_have_room():
                await trio.sleep(QUEUE_POLL_S)
            await self._pubsub.publish(topic, payload)
            self._on_published()
