"""MemoryNetwork: the network port for N nodes in one trio process (node tests, simulation).

A `MemoryHub` connects every running node with the same chain id to every other (a full
mesh, as the validators' direct streams are). Delivery applies the receiver's validator
first, like the libp2p implementation; rejections score the sender and a banned peer is
cut off both ways. Optional seeded faults: `drop_rate` (each copy lost with that
probability) and `max_delay` (each copy delayed uniformly in [0, max_delay] seconds,
which also reorders). With `drop_rate=0` and `max_delay=0` delivery is synchronous and
lossless unless a receiver's inbound queue overflows (counted in `stats()`).
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

import trio

from qos_p2p import binding, blockx
from qos_p2p.binding import ClaimCheck
from qos_p2p.counters import Counters
from qos_p2p.limits import DEFAULT_LIMITS, INBOUND_QUEUE
from qos_p2p.port import (
    Accept,
    BlockProvider,
    BlockSource,
    InboundMessage,
    Limits,
    MessageKind,
    MessageTooLarge,
    NetworkStats,
    NotRunning,
    PeerId,
    PeerInfo,
    PeerUnavailable,
    Reject,
    SyncFailed,
    Validator,
    ValidatorAuth,
    ValidatorProof,
    accept_all,
    check_size,
    clamp_sync_answer,
)
from qos_p2p.scoring import PeerScores

if TYPE_CHECKING:
    from trio_typing import TaskStatus

log = logging.getLogger(__name__)


class MemoryHub:
    """The shared medium. One per simulated network."""

    def __init__(self, *, seed: int = 0, drop_rate: float = 0.0, max_delay: float = 0.0) -> None:
        self._rng = random.Random(seed)  # noqa: S311  (simulated faults, not crypto)
        self.drop_rate = drop_rate
        self.max_delay = max_delay
        self.simulated_drops = 0
        self._running: dict[PeerId, MemoryNetwork] = {}

    def node(
        self,
        peer_id: str,
        *,
        chain_id: str,
        is_validator: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        ban_seconds: float = 60.0,
    ) -> MemoryNetwork:
        return MemoryNetwork(
            self,
            PeerId(peer_id),
            chain_id=chain_id,
            is_validator=is_validator,
            limits=limits,
            ban_seconds=ban_seconds,
        )

    def _join(self, net: MemoryNetwork) -> None:
        self._running[net.peer_id] = net
        for other in self._running.values():
            if other is not net and other.chain_id != net.chain_id:
                net._counters.inc("handshakes_refused")
                other._counters.inc("handshakes_refused")

    def _leave(self, net: MemoryNetwork) -> None:
        if self._running.get(net.peer_id) is net:
            del self._running[net.peer_id]

    def linked(self, a: MemoryNetwork, b_id: PeerId) -> MemoryNetwork | None:
        """The running peer `b_id` when a and b are connected (same chain, no ban)."""
        b = self._running.get(b_id)
        if b is None or b is a or b.chain_id != a.chain_id:
            return None
        now = trio.current_time()
        if a._scores.is_banned(b_id, now) or b._scores.is_banned(a.peer_id, now):
            return None
        return b

    def neighbours(self, a: MemoryNetwork) -> list[MemoryNetwork]:
        return [b for pid in list(self._running) if (b := self.linked(a, pid)) is not None]

    def transmit(self, src: MemoryNetwork, dst: MemoryNetwork, msg: InboundMessage) -> None:
        if self.drop_rate and self._rng.random() < self.drop_rate:
            self.simulated_drops += 1
            return
        if self.max_delay and src._nursery is not None:
            delay = self._rng.uniform(0.0, self.max_delay)
            src._nursery.start_soon(self._later, delay, src, dst, msg)
            return
        dst._receive(msg)

    async def _later(
        self, delay: float, src: MemoryNetwork, dst: MemoryNetwork, msg: InboundMessage
    ) -> None:
        await trio.sleep(delay)
        if self.linked(src, dst.peer_id) is dst:
            dst._receive(msg)


class MemoryNetwork:
    """One node's port on a MemoryHub (see qos_p2p.port.Network)."""

    def __init__(
        self,
        hub: MemoryHub,
        peer_id: PeerId,
        *,
        chain_id: str,
        is_validator: bool,
        limits: Limits,
        ban_seconds: float,
    ) -> None:
        self._hub = hub
        self._peer_id = peer_id
        self.chain_id = chain_id
        self.is_validator = is_validator
        self._limits = limits
        self._height = 0
        self._validator: Validator = accept_all
        self._auth: ValidatorAuth | None = None
        self._proof: ValidatorProof | None = None
        self._checked: dict[tuple[PeerId, str], ClaimCheck] = {}  # signature checks done
        self._provider: BlockProvider | None = None
        self._block_source: BlockSource | None = None
        self._scores = PeerScores(ban_seconds=ban_seconds)
        self._counters = Counters()
        self._send, self._recv = trio.open_memory_channel[InboundMessage](INBOUND_QUEUE)
        self._nursery: trio.Nursery | None = None

    @property
    def peer_id(self) -> PeerId:
        return self._peer_id

    @property
    def limits(self) -> Limits:
        return self._limits

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._hub._join(self)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._hub._leave(self)

    def set_validator(self, validator: Validator) -> None:
        self._validator = validator

    def set_block_provider(self, provider: BlockProvider) -> None:
        self._provider = provider

    def set_validator_auth(self, auth: ValidatorAuth) -> None:
        self._auth = auth
        self._proof = None
        self._checked.clear()

    def revalidate_peers(self) -> None:
        """Nothing to do: every send judges the peers against the current set."""

    def _claim(self) -> tuple[bool, str]:
        """What our status would say: (is_validator, hex proof) (qos_p2p.binding)."""
        auth = self._auth
        if auth is None:
            return self.is_validator, ""
        if self._proof is None:
            self._proof = auth.prove(binding.statement(self.chain_id, self._peer_id.encode()))
        if self._proof is None or not auth.is_validator_key(self._proof.public_key):
            return False, ""
        return True, binding.encode_proof(self._proof)

    def _am_validator(self) -> bool:
        return self._claim()[0]

    def _is_validator_peer(self, peer: MemoryNetwork) -> bool:
        """The peer's claim, judged as Libp2pNetwork judges a status (no penalties here:
        a memory peer cannot forge a claim)."""
        claimed, proof = peer._claim()
        auth = self._auth
        if auth is None or not claimed:
            return claimed
        key = (peer.peer_id, proof)
        check = self._checked.get(key)
        if check is None:  # the signature once; the set membership on every call
            check = binding.check_claim(
                self.chain_id, peer.peer_id.encode(), claimed, proof, lambda _: True
            )
            self._checked[key] = check
        if check is not ClaimCheck.VALIDATOR:
            return False
        return auth.is_validator_key(binding.decode_proof(proof).public_key)

    def set_height(self, height: int) -> None:
        self._height = height

    def _require_running(self) -> None:
        if self._nursery is None:
            raise NotRunning(f"{self._peer_id} is not running")

    def _broadcast(self, kind: MessageKind, payload: bytes, *, validators_only: bool) -> int:
        self._require_running()
        check_size(kind, payload, self._limits)
        msg = InboundMessage(self._peer_id, kind, payload)
        sent = 0
        if validators_only and self._auth is not None and not self._am_validator():
            return 0  # proven validators only talk to each other directly (as over libp2p)
        for peer in self._hub.neighbours(self):
            if validators_only and not self._is_validator_peer(peer):
                continue
            self._hub.transmit(self, peer, msg)
            sent += 1
        return sent

    async def send_consensus(self, payload: bytes) -> None:
        try:
            sent = self._broadcast(MessageKind.CONSENSUS, payload, validators_only=True)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        self._counters.inc("consensus_sent", sent)
        await trio.lowlevel.checkpoint()

    async def publish_tx(self, payload: bytes) -> None:
        await self._publish(MessageKind.TX, payload)

    async def send_txs(self, payload: bytes) -> int:
        if not self._am_validator():
            self._require_running()
            return 0
        try:
            sent = self._broadcast(MessageKind.TX, payload, validators_only=True)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        self._counters.inc("txs_direct_sent", sent)
        await trio.lowlevel.checkpoint()
        return sent

    async def publish_evidence(self, payload: bytes) -> None:
        await self._publish(MessageKind.EVIDENCE, payload)

    async def _publish(self, kind: MessageKind, payload: bytes) -> None:
        try:
            self._broadcast(kind, payload, validators_only=False)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        self._counters.inc("gossip_published")
        await trio.lowlevel.checkpoint()

    def _receive(self, msg: InboundMessage) -> None:
        if self._nursery is None:
            return
        verdict = self._validator(msg.kind, msg.payload)
        if isinstance(verdict, Reject):
            self._counters.inc("rejected")
            log.info("rejected %s from %s: %s", msg.kind.value, msg.peer, verdict.reason)
            if self._scores.rejected(msg.peer, trio.current_time()):
                self._counters.inc("peers_banned")
                log.warning("banned peer %s (score under threshold)", msg.peer)
            return
        if not isinstance(verdict, Accept):
            self._counters.inc("ignored")
            return
        self._scores.accepted(msg.peer)
        name = "consensus_received" if msg.kind is MessageKind.CONSENSUS else "gossip_received"
        self._counters.inc(name)
        try:
            self._send.send_nowait(msg)
        except trio.WouldBlock:
            self._counters.inc("inbound_dropped")
            log.warning("inbound queue full: dropped %s from %s", msg.kind.value, msg.peer)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # our node stopped reading (its runtime is shutting down): to the sender this
            # is a peer going away, which must never fail the sender's own runtime
            self._counters.inc("inbound_dropped")

    async def request_blocks(self, peer: PeerId, start: int, count: int) -> list[bytes]:
        self._require_running()
        other = self._hub.linked(self, peer)
        if other is None:
            raise PeerUnavailable(f"{peer} is not connected")
        if other._provider is None:
            raise SyncFailed(f"{peer} serves no blocks")
        count = max(0, min(count, self._limits.max_sync_count))
        blocks = await other._provider(start, count)
        other._counters.inc("sync_served")
        return clamp_sync_answer(blocks, count, self._limits)

    # -- IPFS block exchange (the codec and client loop of qos_p2p.blockx) ----------

    def set_block_source(self, source: BlockSource) -> None:
        self._block_source = source

    async def fetch_blocks(self, peer: PeerId | None, cids: list[bytes]) -> dict[bytes, bytes]:
        self._require_running()
        return await blockx.fetch(
            peer,
            cids,
            connected=lambda p: self._hub.linked(self, p) is not None,
            peers=self.peers,
            ask=self._ask_blocks,
            limits=self._limits,
            on_bad=self._bad_blocks,
            on_block=self._got_block,
        )

    async def _ask_blocks(self, peer: PeerId, request: bytes) -> bytes:
        other = self._hub.linked(self, peer)
        if other is None:
            raise PeerUnavailable(f"{peer} is not connected")
        raw, served = await blockx.answer(request, other._block_source, other._limits)
        other._counters.inc("blocks_served", served)
        return raw

    def _got_block(self) -> None:
        self._counters.inc("blocks_fetched")

    def _bad_blocks(self, peer: PeerId, reason: str) -> None:
        self._counters.inc("blocks_rejected")
        self.penalise(peer, reason)

    def penalise(self, peer: PeerId, reason: str) -> None:
        self._counters.inc("rejected")
        log.info("rejected a message from %s: %s", peer, reason)
        if self._scores.rejected(peer, trio.current_time()):
            self._counters.inc("peers_banned")
            log.warning("banned peer %s (score under threshold)", peer)

    def inbound(self) -> trio.MemoryReceiveChannel[InboundMessage]:
        return self._recv

    def peers(self) -> list[PeerInfo]:
        if self._nursery is None:
            return []
        return [
            PeerInfo(
                peer_id=p.peer_id,
                addrs=(f"/memory/{p.peer_id}",),
                is_validator=self._is_validator_peer(p),
                score=self._scores.score(p.peer_id),
                height=p._height,
            )
            for p in self._hub.neighbours(self)
        ]

    async def status_of(self, peer: PeerId) -> int:
        self._require_running()
        other = self._hub.linked(self, peer)
        if other is None:
            raise PeerUnavailable(f"{peer} is not connected")
        await trio.lowlevel.checkpoint()
        return other._height

    def stats(self) -> NetworkStats:
        return self._counters.stats()
