"""Libp2pNetwork: the network port on a py-libp2p host (docs/network.md).

Noise only (plaintext, secio and TLS are not offered, so a plaintext dialer fails to
negotiate), yamux only (mplex resets ~1 MiB answers), a persistent ed25519 node key.
Channels: consensus on direct persistent streams among validators (qos_p2p.direct); a
validator's own txs on direct tx streams to the other validators (``send_txs``); txs of
full nodes and evidence on GossipSub v1.1 (qos_p2p.gossip); status and block sync as
request/response (qos_p2p.sync). A peer is a validator only when its status carries a
proof that binds its peer id to a key of the current validator set (qos_p2p.binding,
checked with the node's ValidatorAuth); consensus and tx streams run only between
proven validators. Every received message passes the node's validator
before it is delivered or relayed; rejections score the sending peer (qos_p2p.scoring)
and a peer under the threshold is disconnected and refused for a while. Configured
peers, and validator peers met on inbound connections, are redialled with exponential
backoff (py-libp2p never reconnects).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio
from libp2p import create_yamux_muxer_option, new_host
from libp2p.abc import INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr

from qos_p2p import binding, blockx, gossip
from qos_p2p.binding import ClaimCheck
from qos_p2p.counters import Counters
from qos_p2p.direct import CONSENSUS_PROTOCOL, TX_PROTOCOL, DirectLink
from qos_p2p.framing import ByteStream, FrameError, FrameTooLarge, read_frame, write_frame
from qos_p2p.keys import NodeKey
from qos_p2p.limits import (
    DEFAULT_LIMITS,
    DIAL_TIMEOUT_S,
    HANDSHAKE_TIMEOUT_S,
    INBOUND_QUEUE,
    LINK_STABLE_S,
    MAX_STATUS_BYTES,
    MAX_SYNC_REQUEST_BYTES,
    PEER_OUTBOUND_QUEUE,
    RECONNECT_BACKOFF_MAX_S,
    RECONNECT_BACKOFF_MIN_S,
    REQUEST_TIMEOUT_S,
    TX_OUTBOUND_QUEUE,
)
from qos_p2p.port import (
    Accept,
    BlockExchangeFailed,
    BlockProvider,
    BlockSource,
    InboundMessage,
    Limits,
    MessageKind,
    MessageTooLarge,
    NetworkStats,
    NotRunning,
    P2PError,
    PeerId,
    PeerInfo,
    PeerUnavailable,
    Reject,
    Status,
    SyncFailed,
    Validator,
    ValidatorAuth,
    ValidatorProof,
    Verdict,
    accept_all,
    check_size,
    clamp_sync_answer,
)
from qos_p2p.scoring import PeerScores
from qos_p2p.sync import (
    STATUS_PROTOCOL,
    SYNC_PROTOCOL,
    BadStatus,
    decode_blocks,
    decode_status,
    decode_sync_request,
    encode_blocks,
    encode_status,
    encode_sync_request,
    exchange,
    sync_answer_limit,
)

if TYPE_CHECKING:
    from trio_typing import TaskStatus

log = logging.getLogger(__name__)

# py-libp2p's yamux sends a WINDOW_UPDATE frame (Noise-encrypted, one more socket write)
# after every read by default; measured ~6 % of a loaded validator's CPU. Off, it credits
# the sender once half the window is consumed, as go-yamux does. Read at call time.
os.environ.setdefault("PY_YAMUX_RELEASE_ON_READ", "0")

STOP_TIMEOUT_S = 5.0
STATUS_REFRESH_S = 10.0  # every connected peer's status (height) is refreshed this often
CONNECTED_RECHECK_S = 1.0
_STOP_RACE = "Nursery is closed to new arrivals"


def noise_only_security(key: NodeKey) -> dict[TProtocol, Any]:
    """The security options we pass to new_host: Noise and nothing else."""
    noise = NoiseTransport(key.key_pair, noise_privkey=create_x25519_key_pair().private_key)
    return {NOISE_PROTOCOL_ID: noise}


def _pid(raw: Any) -> PeerId:
    return PeerId(str(raw.to_base58()))


@dataclass
class _Peer:
    """What we know of a connected peer."""

    status: Status | None = None
    ready: trio.Event = field(default_factory=trio.Event)
    link: DirectLink | None = None
    tx_link: DirectLink | None = None
    addrs: tuple[str, ...] = ()
    backoff: dict[str, float] = field(default_factory=dict)  # next link reopen delay, by protocol
    check: ClaimCheck = ClaimCheck.NOT_CLAIMED  # its validator claim, judged on each status
    judged: tuple[bool, str] | None = None  # the (claim, proof) judged last (penalise once)

    @property
    def validator(self) -> bool:
        return self.check is ClaimCheck.VALIDATOR


class _Notifee(INotifee):
    def __init__(self, net: Libp2pNetwork) -> None:
        self._net = net

    async def opened_stream(self, network: Any, stream: Any) -> None:
        await trio.lowlevel.checkpoint()

    async def closed_stream(self, network: Any, stream: Any) -> None:
        await trio.lowlevel.checkpoint()

    async def connected(self, network: Any, conn: Any) -> None:
        self._net._conns.add(conn)
        self._net._on_connected(_pid(conn.muxed_conn.peer_id))
        await trio.lowlevel.checkpoint()

    async def disconnected(self, network: Any, conn: Any) -> None:
        self._net._on_disconnected(_pid(conn.muxed_conn.peer_id))
        self._net._conns.discard(conn)
        await _close_socket(conn)

    async def listen(self, network: Any, multiaddr: Any) -> None:
        await trio.lowlevel.checkpoint()

    async def listen_close(self, network: Any, multiaddr: Any) -> None:
        await trio.lowlevel.checkpoint()


class Libp2pNetwork:
    """See qos_p2p.port.Network. Construct, then `await nursery.start(net.run)`."""

    def __init__(
        self,
        key: NodeKey,
        *,
        chain_id: str,
        listen: str = "/ip4/127.0.0.1/tcp/0",
        bootstrap: Sequence[str] = (),
        is_validator: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        ban_seconds: float = 60.0,
        seed: int | None = None,
        status_refresh_s: float = STATUS_REFRESH_S,
    ) -> None:
        self._key = key
        self._status_refresh_s = status_refresh_s
        self.chain_id = chain_id
        self._listen = listen
        self._bootstrap = tuple(bootstrap)
        self.is_validator = is_validator
        self._limits = limits
        self._height = 0
        self._validator: Validator = accept_all
        self._auth: ValidatorAuth | None = None
        self._proof: ValidatorProof | None = None  # ours, once the node signed it
        self._provider: BlockProvider | None = None
        self._block_source: BlockSource | None = None
        self._scores = PeerScores(ban_seconds=ban_seconds)
        self._counters = Counters()
        self._rng = random.Random(seed)  # noqa: S311  (dial jitter, not crypto)
        self._send, self._recv = trio.open_memory_channel[InboundMessage](INBOUND_QUEUE)
        self._peers: dict[PeerId, _Peer] = {}
        self._redial: set[PeerId] = set()
        self._met: set[PeerId] = set()  # peers we completed a handshake with, ever
        self._conns: set[Any] = set()  # every live connection, to close its socket on stop
        self._changed = trio.Event()
        self._host: Any = None
        self._pubsub: Any = None
        self._publisher: gossip.GossipPublisher | None = None
        self._nursery: trio.Nursery | None = None

    # -- identity and configuration -------------------------------------------------

    @property
    def peer_id(self) -> PeerId:
        return self._key.peer_id

    @property
    def limits(self) -> Limits:
        return self._limits

    def listen_addrs(self) -> list[str]:
        """Our dialable addresses, each ending in /p2p/<peer id> (after start)."""
        if self._host is None:
            return []
        return [str(a) for a in self._host.get_addrs()]

    def set_validator(self, validator: Validator) -> None:
        self._validator = validator

    def set_validator_auth(self, auth: ValidatorAuth) -> None:
        self._auth = auth
        self._proof = None

    def set_block_provider(self, provider: BlockProvider) -> None:
        self._provider = provider

    def set_height(self, height: int) -> None:
        self._height = height

    def _own_proof(self) -> ValidatorProof | None:
        """Our proof while we are in the current validator set (None: not a validator)."""
        auth = self._auth
        if auth is None:
            return None
        if self._proof is None:  # signed once: the statement never changes
            self._proof = auth.prove(binding.statement(self.chain_id, _peer_bytes(self.peer_id)))
        if self._proof is None or not auth.is_validator_key(self._proof.public_key):
            return None
        return self._proof

    def _am_validator(self) -> bool:
        """We are a validator: proven with a ValidatorAuth, else as constructed."""
        if self._auth is None:
            return self.is_validator
        return self._own_proof() is not None

    def _status(self) -> Status:
        if self._auth is None:
            return Status(self.chain_id, self._height, self.peer_id, self.is_validator)
        proof = self._own_proof()
        text = "" if proof is None else binding.encode_proof(proof)
        return Status(self.chain_id, self._height, self.peer_id, proof is not None, text)

    def peer_score(self, peer: PeerId) -> float:
        """A peer's score, connected or not (a gossip publisher we never met has one)."""
        return self._scores.score(peer)

    # -- lifecycle ------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        host = new_host(
            key_pair=self._key.key_pair,
            sec_opt=noise_only_security(self._key),
            muxer_opt=create_yamux_muxer_option(),
        )
        pubsub, router = gossip.make_pubsub(host)
        self._host, self._pubsub = host, pubsub
        host.get_network().register_notifee(_Notifee(self))
        host.set_stream_handler(TProtocol(STATUS_PROTOCOL), self._serve_status)
        host.set_stream_handler(TProtocol(SYNC_PROTOCOL), self._serve_sync)
        host.set_stream_handler(TProtocol(blockx.BLOCKS_PROTOCOL), self._serve_block_request)
        host.set_stream_handler(TProtocol(CONSENSUS_PROTOCOL), self._serve_consensus)
        host.set_stream_handler(TProtocol(TX_PROTOCOL), self._serve_txs)
        try:
            async with (
                host.run([Multiaddr(self._listen)]),
                background_trio_service(pubsub),
                background_trio_service(router),
            ):
                await pubsub.wait_until_ready()
                for kind in gossip.GOSSIP_KINDS:
                    await self._subscribe(kind)
                self._publisher = gossip.GossipPublisher(
                    pubsub, lambda: self._counters.inc("gossip_published")
                )
                try:
                    async with trio.open_nursery() as nursery:
                        self._nursery = nursery
                        nursery.start_soon(self._publisher.run)
                        nursery.start_soon(self._refresh_statuses)
                        for addr in self._bootstrap:
                            nursery.start_soon(self._keep_dialled, addr, None)
                        task_status.started()
                        await trio.sleep_forever()
                finally:
                    self._nursery = None
                    # Leaving host.run() by cancellation does not close the swarm's
                    # connections and listeners (their sockets leak): close explicitly.
                    with trio.CancelScope(shield=True), trio.move_on_after(STOP_TIMEOUT_S):
                        await _close_host(host)
                        for conn in list(self._conns):
                            await _close_socket(conn)
                        self._conns.clear()
        except BaseExceptionGroup as group:
            # py-libp2p can raise this while stopping with messages in flight: contain it.
            _, rest = group.split(lambda e: isinstance(e, RuntimeError) and _STOP_RACE in str(e))
            if rest is not None:
                raise rest from None
            log.info("contained py-libp2p stop race (%s)", _STOP_RACE)
        finally:
            self._nursery = None
            self._publisher = None
            for peer in self._peers.values():
                _close_links(peer)
            self._peers.clear()

    def _require_running(self) -> trio.Nursery:
        if self._nursery is None:
            raise NotRunning(f"{self.peer_id} is not running")
        return self._nursery

    def _spawn(self, fn: Any, *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    # -- connections, handshake, bans ---------------------------------------------

    async def _open(self, peer: PeerId, protocol: str) -> Any:
        return await self._host.new_stream(ID.from_base58(peer), [TProtocol(protocol)])

    def _is_connected(self, peer: PeerId) -> bool:
        host = self._host
        return host is not None and ID.from_base58(peer) in host.get_connected_peers()

    def _notify_change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _on_connected(self, peer: PeerId) -> None:
        self._notify_change()
        if self._scores.is_banned(peer, trio.current_time()):
            log.info("refusing banned peer %s", peer)
            self._spawn(self._disconnect, peer)
            return
        stale = self._peers.get(peer)
        if stale is not None and stale.status is not None:
            # A new connection is a new session: py-libp2p does not always report the old
            # one's end, and its stream may be dead. Start over (unsent frames are counted).
            del self._peers[peer]
            _close_links(stale)
        self._spawn(self._handshake, peer)

    def _on_disconnected(self, peer: PeerId) -> None:
        self._notify_change()
        if self._is_connected(peer):
            return  # another connection to the same peer is still up
        state = self._peers.pop(peer, None)
        if state is not None:
            _close_links(state)

    async def _disconnect(self, peer: PeerId) -> None:
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            try:
                await self._host.disconnect(ID.from_base58(peer))
            except Exception as exc:  # already gone: nothing to do
                log.debug("disconnect %s: %s", peer, exc)

    def _ban(self, peer: PeerId) -> None:
        self._counters.inc("peers_banned")
        log.warning("banned peer %s for %.0f s", peer, self._scores.ban_seconds)
        self._spawn(self._disconnect, peer)

    def _state(self, peer: PeerId) -> _Peer:
        state = self._peers.get(peer)
        if state is None:
            state = self._peers[peer] = _Peer()
        return state

    async def _handshake(self, peer: PeerId) -> None:
        """Open /qos/status/1.0.0 and exchange statuses (the handler side answers)."""
        for attempt in range(3):
            try:
                with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                    stream = await self._open(peer, STATUS_PROTOCOL)
                    try:
                        raw = await exchange(
                            stream, encode_status(self._status()), MAX_STATUS_BYTES
                        )
                    finally:
                        await _close(stream)
                self._accept_status(peer, raw)
                return
            except Exception as exc:
                if not self._is_connected(peer):
                    return
                log.debug("status handshake with %s failed (attempt %d): %s", peer, attempt, exc)
                await trio.sleep(0.05 * (attempt + 1))
        log.warning("status handshake with %s failed: disconnecting", peer)
        await self._disconnect(peer)

    def _accept_status(self, peer: PeerId, raw: bytes) -> bool:
        try:
            status = decode_status(raw)
        except BadStatus as exc:
            return self._refuse(peer, f"bad status: {exc}")
        if status.chain_id != self.chain_id:
            return self._refuse(peer, f"chain id {status.chain_id!r} != {self.chain_id!r}")
        if status.node_id != peer:
            return self._refuse(peer, "node id is not the authenticated peer id")
        if not self._is_connected(peer):
            return False
        state = self._state(peer)
        first = state.status is None
        state.status = status
        self._judge_claim(peer, state)
        if first:
            if peer in self._met:
                self._counters.inc("reconnects")
            self._met.add(peer)
            state.addrs = self._peer_addrs(peer)
        self._apply_role(peer, state)
        if first:
            state.ready.set()
            self._notify_change()
        return True

    def _judge_claim(self, peer: PeerId, state: _Peer) -> None:
        """Judge the peer's validator claim (its last status) with the node's auth: a
        claim without a valid proof makes a full node; a malformed or forged proof also
        costs the peer a rejection (once per distinct proof, not per status exchange)."""
        status = state.status
        assert status is not None
        auth = self._auth
        if auth is None:  # no node knowledge (tests, demos): claims are trusted
            state.check = ClaimCheck.VALIDATOR if status.is_validator else ClaimCheck.NOT_CLAIMED
            return
        check = binding.check_claim(
            self.chain_id,
            _peer_bytes(peer),
            status.is_validator,
            status.validator_proof,
            auth.is_validator_key,
        )
        state.check = check
        judged = (status.is_validator, status.validator_proof)
        if check in (ClaimCheck.NOT_CLAIMED, ClaimCheck.VALIDATOR) or state.judged == judged:
            state.judged = judged
            return
        state.judged = judged
        if check in binding.PENALISED:
            self._counters.inc("validator_proofs_invalid")
            log.warning("peer %s claims validator with a %s proof", peer, check.value)
            self._penalise(peer, f"{check.value} validator proof")
        else:
            self._counters.inc("validator_claims_unproven")
            log.info("peer %s claims validator (%s): treated as a full node", peer, check.value)

    def _apply_role(self, peer: PeerId, state: _Peer) -> None:
        """Direct links iff the peer and we are validators; keep a validator dialled."""
        if state.validator and self._am_validator():
            if state.link is None or state.link.closed:
                self._start_link(peer, state)
            if state.tx_link is None or state.tx_link.closed:
                self._start_link(peer, state, TX_PROTOCOL)
        elif state.link is not None or state.tx_link is not None:
            _close_links(state)
            state.link = state.tx_link = None
        if state.validator and peer not in self._redial and state.addrs:
            self._spawn(self._keep_dialled, None, (peer, state.addrs))

    def revalidate_peers(self) -> None:
        """The validator set changed: re-judge every peer's last status now (links open
        or close) and exchange statuses again, so peers re-judge us as well."""
        for peer, state in list(self._peers.items()):
            if state.status is None:
                continue
            self._judge_claim(peer, state)
            self._apply_role(peer, state)
            self._spawn(self._refresh_status, peer)

    async def _refresh_status(self, peer: PeerId) -> None:
        try:
            await self.status_of(peer)
        except P2PError as exc:  # gone or refused: the next connection re-handshakes
            log.debug("status refresh with %s failed: %s", peer, exc)

    def _refuse(self, peer: PeerId, reason: str) -> bool:
        log.warning("refusing peer %s: %s", peer, reason)
        self._counters.inc("handshakes_refused")
        self._scores.ban(peer, trio.current_time(), self._scores.ban_seconds)
        self._spawn(self._disconnect, peer)
        return False

    def _peer_addrs(self, peer: PeerId) -> tuple[str, ...]:
        try:
            addrs = self._host.get_peerstore().addrs(ID.from_base58(peer))
        except Exception:  # the peerstore raises when it has no address
            return ()
        return tuple(f"{a}/p2p/{peer}" for a in addrs if "/p2p/" not in str(a))

    async def _serve_status(self, stream: Any) -> None:
        peer = _pid(stream.muxed_conn.peer_id)
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                raw = await read_frame(stream, MAX_STATUS_BYTES)
                await write_frame(stream, encode_status(self._status()))
        except Exception as exc:
            log.debug("status from %s failed: %s", peer, exc)
            await _reset(stream)
            return
        await _close(stream)
        self._accept_status(peer, raw)

    async def status_of(self, peer: PeerId) -> int:
        self._require_running()
        state = self._peers.get(peer)
        if state is None or state.status is None:
            raise PeerUnavailable(f"{peer} is not connected")
        try:
            with trio.fail_after(REQUEST_TIMEOUT_S):
                stream = await self._open(peer, STATUS_PROTOCOL)
                try:
                    raw = await exchange(stream, encode_status(self._status()), MAX_STATUS_BYTES)
                finally:
                    await _close(stream)
        except trio.TooSlowError as exc:
            raise PeerUnavailable(f"status of {peer} timed out") from exc
        except SyncFailed as exc:
            raise PeerUnavailable(f"status of {peer} failed: {exc}") from exc
        except Exception as exc:
            raise PeerUnavailable(f"status of {peer} failed: {exc}") from exc
        if not self._accept_status(peer, raw):
            raise PeerUnavailable(f"{peer} was refused")
        return decode_status(raw).height

    async def _refresh_statuses(self) -> None:
        """Exchange statuses with every connected peer every ``status_refresh_s``: a peer's
        height (``peers()``, the ``peers`` API, a follower's sync) is otherwise the one from
        the connection's handshake, and the exchange tells the peer our height too."""
        while True:
            await trio.sleep(self._status_refresh_s)
            for peer, state in list(self._peers.items()):
                if state.status is None:
                    continue
                try:
                    await self.status_of(peer)
                except P2PError as exc:  # gone or refused: the connection handling copes
                    log.debug("status refresh of %s failed: %s", peer, exc)

    # -- reconnect ------------------------------------------------------------------

    async def _keep_dialled(
        self, addr: str | None, known: tuple[PeerId, tuple[str, ...]] | None
    ) -> None:
        """Keep a connection to one peer: dial, wait for a disconnect, redial with backoff."""
        if addr is not None:
            info = info_from_p2p_addr(Multiaddr(addr))
        else:
            assert known is not None
            info = info_from_p2p_addr(Multiaddr(known[1][0]))
            for extra in known[1][1:]:
                info.addrs.extend(info_from_p2p_addr(Multiaddr(extra)).addrs)
        peer = _pid(info.peer_id)
        if peer == self.peer_id or peer in self._redial:
            return
        self._redial.add(peer)
        backoff = RECONNECT_BACKOFF_MIN_S
        while True:
            if self._is_connected(peer):
                backoff = RECONNECT_BACKOFF_MIN_S
                # py-libp2p does not always notify a dropped connection: re-check each second.
                with trio.move_on_after(CONNECTED_RECHECK_S):
                    await self._changed.wait()
                continue
            now = trio.current_time()
            if self._scores.is_banned(peer, now):
                await trio.sleep(self._scores.ban_seconds)
                continue
            try:
                with trio.fail_after(DIAL_TIMEOUT_S):
                    await self._host.connect(info)
                continue
            except Exception as exc:  # unreachable now: back off and try again
                log.debug("dial %s failed: %s", peer, exc)
            await trio.sleep(backoff * (0.5 + self._rng.random()))
            backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_S)

    # -- consensus: direct streams ----------------------------------------------

    def _start_link(self, peer: PeerId, state: _Peer, protocol: str = CONSENSUS_PROTOCOL) -> None:
        async def open_stream() -> ByteStream:
            stream: ByteStream = await self._host.new_stream(ID.from_base58(peer), [protocol])
            return stream

        if protocol == TX_PROTOCOL:
            link = DirectLink(
                peer,
                open_stream,
                capacity=TX_OUTBOUND_QUEUE,
                on_drop=lambda n: self._counters.inc("txs_direct_dropped", n),
                on_sent=lambda n: self._counters.inc("txs_direct_sent", n),
                protocol=protocol,
            )
            state.tx_link = link
        else:
            link = DirectLink(
                peer,
                open_stream,
                capacity=PEER_OUTBOUND_QUEUE,
                on_drop=lambda n: self._counters.inc("consensus_dropped", n),
                on_sent=lambda n: self._counters.inc("consensus_sent", n),
            )
            state.link = link
        self._spawn(self._run_link, link)

    async def _run_link(self, link: DirectLink) -> None:
        try:
            await link.run()
        except Exception as exc:  # the stream broke: the peer is gone or misbehaving
            log.info("%s link to %s ended: %s", link.protocol, link.peer, exc)
        state = self._peers.get(link.peer)
        if state is None or not self._current(link, state):
            return
        # Same connection, new stream: at once after a stable link; else with exponential
        # backoff (a peer refusing the protocol is not reopened in a tight loop).
        opened = link.opened_at
        if opened is not None and trio.current_time() - opened >= LINK_STABLE_S:
            state.backoff.pop(link.protocol, None)
        else:
            delay = state.backoff.get(link.protocol, RECONNECT_BACKOFF_MIN_S)
            state.backoff[link.protocol] = min(delay * 2, RECONNECT_BACKOFF_MAX_S)
            await trio.sleep(delay * (0.5 + self._rng.random()))
            if self._peers.get(link.peer) is not state or not self._current(link, state):
                return
        self._start_link(link.peer, state, link.protocol)

    def _current(self, link: DirectLink, state: _Peer) -> bool:
        """`link` is still the peer's link for its protocol, on a live connection."""
        return (link is state.link or link is state.tx_link) and self._is_connected(link.peer)

    async def send_consensus(self, payload: bytes) -> None:
        self._require_running()
        try:
            check_size(MessageKind.CONSENSUS, payload, self._limits)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        for state in list(self._peers.values()):
            if state.link is not None and not state.link.closed:
                state.link.offer(payload)
        await trio.lowlevel.checkpoint()

    async def send_txs(self, payload: bytes) -> int:
        self._require_running()
        try:
            check_size(MessageKind.TX, payload, self._limits)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        sent = 0
        for state in list(self._peers.values()):
            link = state.tx_link
            if link is not None and not link.closed:
                link.offer(payload)  # an opening link writes it once its stream is up
                sent += link.up  # counted only over a live stream: else the caller gossips
        await trio.lowlevel.checkpoint()
        return sent

    async def _serve_consensus(self, stream: Any) -> None:
        await self._serve_direct(stream, MessageKind.CONSENSUS, self._limits.max_consensus_bytes)

    async def _serve_txs(self, stream: Any) -> None:
        await self._serve_direct(stream, MessageKind.TX, self._limits.max_gossip_bytes)

    async def _serve_direct(self, stream: Any, kind: MessageKind, max_bytes: int) -> None:
        peer = _pid(stream.muxed_conn.peer_id)
        state = self._peers.get(peer) or self._state(peer)
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            await state.ready.wait()
        if state.status is None or self._nursery is None:
            await _reset(stream)
            return
        if not (state.validator and self._am_validator()):
            # direct streams run among proven validators only; anyone else gossips txs
            # (GossipSub) and syncs blocks. A peer that opens one without even a valid
            # claim breaks the protocol (penalised); a validator of a set we do not hold
            # (yet, or any more) is not (our views may differ until it re-handshakes).
            refused = "txs_direct_refused" if kind is MessageKind.TX else "consensus_refused"
            self._counters.inc(refused)
            log.info(
                "refused a %s stream from %s (not among validators: %s)",
                kind.value,
                peer,
                state.check.value,
            )
            if state.check not in (ClaimCheck.VALIDATOR, ClaimCheck.NOT_IN_SET):
                self._penalise(peer, f"{kind.value} stream without a validator proof")
            await _reset(stream)
            return
        counter = "consensus_received" if kind is MessageKind.CONSENSUS else "txs_direct_received"
        try:
            while state.validator:  # re-judged on each status exchange
                payload = await read_frame(stream, max_bytes)
                if self._judge(peer, kind, payload):
                    self._counters.inc(counter)
                    await self._send.send(InboundMessage(peer, kind, payload))
                if self._scores.is_banned(peer, trio.current_time()):
                    break
        except FrameTooLarge as exc:
            self._counters.inc("oversize_refused")
            self._penalise(peer, f"oversize {kind.value} frame: {exc}")
        except FrameError:
            pass  # the peer closed the stream (stopping, or reconnecting)
        except Exception as exc:
            log.debug("%s stream from %s ended: %s", kind.value, peer, exc)
        await _reset(stream)

    # -- validation and scoring -------------------------------------------------

    def _judge(
        self, peer: PeerId, kind: MessageKind, payload: bytes, publisher: PeerId | None = None
    ) -> bool:
        """Run the node's validator; score the peer (and a gossip message's original
        publisher, when another peer relayed it); True when the message is accepted."""
        try:
            verdict: Verdict = self._validator(kind, payload)
        except Exception as exc:  # a validator bug must not kill the stream
            log.exception("validator raised on %s from %s", kind.value, peer)
            verdict = Reject(f"validator raised {exc!r}")
        if isinstance(verdict, Accept):
            self._scores.accepted(peer)
            return True
        if isinstance(verdict, Reject):
            self._penalise(peer, verdict.reason)
            if publisher is not None and publisher != peer:
                self._penalise(publisher, f"published: {verdict.reason}")
        else:
            self._counters.inc("ignored")
        return False

    def penalise(self, peer: PeerId, reason: str) -> None:
        self._penalise(peer, reason)

    def _penalise(self, peer: PeerId, reason: str) -> None:
        self._counters.inc("rejected")
        log.info("rejected message from %s: %s", peer, reason)
        if self._scores.rejected(peer, trio.current_time()):
            self._ban(peer)

    # -- gossip -----------------------------------------------------------------

    async def _subscribe(self, kind: MessageKind) -> None:
        topic = gossip.topic_for(self.chain_id, kind)
        await self._pubsub.subscribe(topic)
        gossip.install_sink(
            self._pubsub, topic, kind, self._deliver_gossip, self._on_gossip_overflow
        )
        me = ID.from_base58(self.peer_id)

        def validate(forwarder: Any, msg: Any) -> bool:
            if forwarder == me:
                return True  # our own publish: the node validated it already
            fwd = _pid(forwarder)
            # py-libp2p checked the message signature (strict signing) before calling us:
            # `from_id` is its authenticated original publisher, whoever relayed it.
            publisher = gossip.peer_id_of(ID(msg.from_id))
            now = trio.current_time()
            if self._scores.is_banned(fwd, now) or self._scores.is_banned(publisher, now):
                return False
            data = bytes(msg.data)
            if len(data) > self._limits.max_gossip_bytes:
                self._counters.inc("oversize_refused")
                self._penalise(fwd, "oversize gossip message")
                return False
            return self._judge(fwd, kind, data, publisher)

        self._pubsub.set_topic_validator(topic, validate, False)

    def _deliver_gossip(self, msg: InboundMessage) -> bool:
        if msg.peer == self.peer_id:
            return True  # py-libp2p hands our own publishes to our subscription: skip
        try:
            self._send.send_nowait(msg)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        self._counters.inc("gossip_received")
        return True

    def _on_gossip_overflow(self) -> None:
        self._counters.inc("gossip_dropped")
        self._counters.inc("inbound_dropped")
        log.warning("inbound queue full: dropped a gossiped message (recoverable: re-gossip)")

    async def publish_tx(self, payload: bytes) -> None:
        await self._publish(MessageKind.TX, payload)

    async def publish_evidence(self, payload: bytes) -> None:
        await self._publish(MessageKind.EVIDENCE, payload)

    async def _publish(self, kind: MessageKind, payload: bytes) -> None:
        self._require_running()
        try:
            check_size(kind, payload, self._limits)
        except MessageTooLarge:
            self._counters.inc("oversize_refused")
            raise
        publisher = self._publisher
        if publisher is None:
            raise NotRunning(f"{self.peer_id} is not running")
        await publisher.publish(gossip.topic_for(self.chain_id, kind), payload)

    def gossip_peer_count(self, kind: MessageKind) -> int:
        """Peers that announced our topic for `kind` (readiness checks in tests, status)."""
        if self._pubsub is None:
            return 0
        return gossip.gossip_peer_count(self._pubsub, gossip.topic_for(self.chain_id, kind))

    # -- block sync -------------------------------------------------------------

    async def request_blocks(self, peer: PeerId, start: int, count: int) -> list[bytes]:
        self._require_running()
        if self._peers.get(peer) is None or not self._is_connected(peer):
            raise PeerUnavailable(f"{peer} is not connected")
        count = max(0, min(count, self._limits.max_sync_count))
        limit = sync_answer_limit(self._limits.max_sync_response_bytes, count)
        try:
            with trio.fail_after(REQUEST_TIMEOUT_S):
                stream = await self._open(peer, SYNC_PROTOCOL)
                try:
                    raw = await exchange(stream, encode_sync_request(start, count), limit)
                finally:
                    await _close(stream)
        except trio.TooSlowError as exc:
            raise SyncFailed(f"block request to {peer} timed out") from exc
        except SyncFailed:
            raise
        except Exception as exc:
            raise SyncFailed(f"block request to {peer} failed: {exc}") from exc
        blocks = decode_blocks(raw, count)
        if sum(len(b) for b in blocks) > self._limits.max_sync_response_bytes and len(blocks) > 1:
            raise SyncFailed(f"{peer} answered over the byte limit")
        return blocks

    async def _serve_sync(self, stream: Any) -> None:
        peer = _pid(stream.muxed_conn.peer_id)
        state = self._peers.get(peer)
        if state is None or state.status is None or self._provider is None:
            await _reset(stream)
            return
        try:
            with trio.fail_after(REQUEST_TIMEOUT_S):
                start, count = decode_sync_request(await read_frame(stream, MAX_SYNC_REQUEST_BYTES))
                count = max(0, min(count, self._limits.max_sync_count))
                blocks = clamp_sync_answer(await self._provider(start, count), count, self._limits)
                await write_frame(stream, encode_blocks(blocks))
            self._counters.inc("sync_served")
        except Exception as exc:
            log.info("sync request from %s failed: %s", peer, exc)
            await _reset(stream)
            return
        await _close(stream)

    # -- IPFS block exchange (codec and client loop: qos_p2p.blockx) ------------

    def set_block_source(self, source: BlockSource) -> None:
        self._block_source = source

    async def fetch_blocks(self, peer: PeerId | None, cids: list[bytes]) -> dict[bytes, bytes]:
        self._require_running()
        return await blockx.fetch(
            peer,
            cids,
            connected=lambda p: self._peers.get(p) is not None and self._is_connected(p),
            peers=self.peers,
            ask=self._ask_blocks,
            limits=self._limits,
            on_bad=self._bad_blocks,
            on_block=self._got_block,
        )

    async def _ask_blocks(self, peer: PeerId, request: bytes) -> bytes:
        if not self._is_connected(peer):
            raise PeerUnavailable(f"{peer} is not connected")
        limit = blockx.answer_frame_limit(self._limits, self._limits.max_block_request_count)
        try:
            with trio.fail_after(REQUEST_TIMEOUT_S):
                stream = await self._open(peer, blockx.BLOCKS_PROTOCOL)
                try:
                    return await exchange(stream, request, limit)
                finally:
                    await _close(stream)
        except trio.TooSlowError as exc:
            raise BlockExchangeFailed(f"block request to {peer} timed out") from exc
        except SyncFailed as exc:  # exchange() reports framing errors as SyncFailed
            raise BlockExchangeFailed(f"block request to {peer} failed: {exc}") from exc
        except Exception as exc:
            raise BlockExchangeFailed(f"block request to {peer} failed: {exc}") from exc

    def _got_block(self) -> None:
        self._counters.inc("blocks_fetched")

    def _bad_blocks(self, peer: PeerId, reason: str) -> None:
        self._counters.inc("blocks_rejected")
        self._penalise(peer, reason)

    async def _serve_block_request(self, stream: Any) -> None:
        peer = _pid(stream.muxed_conn.peer_id)
        state = self._peers.get(peer)
        if state is None or state.status is None:  # no handshake (or refused): no blocks
            await _reset(stream)
            return
        try:
            with trio.fail_after(REQUEST_TIMEOUT_S):
                request = await read_frame(stream, blockx.request_frame_limit(self._limits))
                raw, served = await blockx.answer(request, self._block_source, self._limits)
                await write_frame(stream, raw)
            self._counters.inc("blocks_served", served)
        except Exception as exc:
            log.info("block request from %s failed: %s", peer, exc)
            await _reset(stream)
            return
        await _close(stream)

    # -- views ------------------------------------------------------------------

    def inbound(self) -> trio.MemoryReceiveChannel[InboundMessage]:
        return self._recv

    def peers(self) -> list[PeerInfo]:
        out: list[PeerInfo] = []
        for peer, state in list(self._peers.items()):
            if state.status is None or not self._is_connected(peer):
                continue
            out.append(
                PeerInfo(
                    peer_id=peer,
                    addrs=state.addrs,
                    is_validator=state.validator,
                    score=self._scores.score(peer),
                    height=state.status.height,
                )
            )
        return out

    def stats(self) -> NetworkStats:
        return self._counters.stats()

    def debug_state(self) -> str:
        """A JSON summary for logs and the demo."""
        return json.dumps(
            {"peer_id": self.peer_id, "peers": [p.peer_id for p in self.peers()]}, sort_keys=True
        )


def _peer_bytes(peer: PeerId) -> bytes:
    """The binary peer id (multihash) a validator proof binds (qos_p2p.binding)."""
    return bytes(ID.from_base58(peer).to_bytes())


def _close_links(state: _Peer) -> None:
    for link in (state.link, state.tx_link):
        if link is not None:
            link.close()


async def _close_host(host: Any) -> None:
    try:
        await host.close()
    except Exception as exc:  # stopping: report, never raise over the cancellation
        log.info("closing the host: %s", exc)


async def _close_socket(conn: Any) -> None:
    """Close a connection's secured (socket-owning) layer.

    py-libp2p removes a remotely closed connection, and closes the swarm on stop, without
    closing the TCP socket of the dialling side (it leaks until gc, with a
    ResourceWarning); closing it twice is harmless.
    """
    try:
        await conn.muxed_conn.secured_conn.close()
    except Exception as exc:  # already closed: nothing to release
        log.debug("closing a connection's socket: %s", exc)


async def _close(stream: Any) -> None:
    try:
        await stream.close()
    except Exception as exc:  # closing a broken stream: nothing left to do
        log.debug("close: %s", exc)


async def _reset(stream: Any) -> None:
    try:
        await stream.reset()
    except Exception as exc:  # resetting a broken stream: nothing left to do
        log.debug("reset: %s", exc)
