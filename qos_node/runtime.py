"""NodeRuntime: runs a ChainNode on trio beside its p2p network (docs/architecture.md).

The chain node is sans-I/O; this runtime performs its effects and feeds it input:

* a driver task calls ``node.step(now)``, flushes ``node.take_outbox()`` to the network
  and sleeps until the node's deadline or until new work arrives;
* an inbound task hands validated network messages to the node (consensus, txs, evidence),
  consensus and evidence ahead of a byte-bounded backlog of tx messages;
* a sync task asks peers that report a greater height for blocks (catch-up for restarted,
  partitioned, new and non-validator nodes); a node outside the validator set gets no
  consensus messages and a peer's height is known only from its last status exchange, so
  while no peer is known to be ahead it asks one peer a fresh status every
  ``FOLLOW_POLL_S`` (round robin, validators first) and fetches from it when it is ahead:
  this is how a full node follows the chain;
* the network learns who is a validator from the node (``ValidatorAuth``): this node
  signs the peer-binding statement with its consensus key while it is in the current
  validator set, and a peer counts as a validator only with a proof by a key of the
  current set (qos_p2p.binding); when the set changes, the peers are judged again;
* the network's message validator runs the node's cheap checks *before* a message is
  delivered or relayed, so invalid messages count against their sender; a TX message
  whose txs then fail the full stateless check (decode, signature) counts too;
* the txs admitted since the last flush leave as one TxBatch: directly to the validator
  peers when this node is a validator (``send_txs``), and by gossip as well when some
  other validator has no live direct link (or this node is not a validator);
* with a blockstore, the node serves its IPFS blocks to peers (/qos/blocks/1.0.0) and
  :meth:`NodeRuntime.fetch_dag` pulls a DAG from peers into it (qos_node.block_exchange).

The API runs on asyncio in another thread; it reaches the node only through
:class:`TrioGateway` (``trio.from_thread``), the one bridge between the two loops.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import trio

from qos_chain.address import address_from_public_key
from qos_chain.consensus.wire import batch_txs
from qos_chain.errors import ChainError
from qos_chain.node import ChainNode, SubmitResult
from qos_chain.replica import PublishEvidence, PublishTx, RequestBlocks, SendConsensus, Verdict
from qos_chain.types import ValidatorSet
from qos_ipfs.blockstore import Blockstore
from qos_ipfs.cid import CID
from qos_ipfs.remote import FetchResult
from qos_ipfs.remote import fetch_dag as fetch_dag_into
from qos_node.block_exchange import blockstore_source, network_fetcher
from qos_p2p import binding
from qos_p2p.port import (
    Accept,
    Ignore,
    InboundMessage,
    MessageKind,
    Network,
    NetworkStats,
    P2PError,
    PeerId,
    PeerInfo,
    Reject,
    ValidatorAuth,
    ValidatorProof,
)
from qos_p2p.port import Verdict as NetVerdict

if TYPE_CHECKING:
    from trio_typing import TaskStatus

log = logging.getLogger("qos.runtime")

SYNC_POLL_S = 1.0
FOLLOW_POLL_S = 0.25  # a full node asks one peer's status this often while none is ahead
SYNC_BATCH = 50  # blocks per sync request
TX_BATCH_BYTES = 256 * 1024  # well under the gossip message limit
MAX_IDLE_S = 0.5
TX_BACKLOG_BYTES = 64 * 1024 * 1024  # tx messages taken off the inbound channel, unadmitted


def _verdict(v: Verdict, reason: str) -> NetVerdict:
    if v is Verdict.ACCEPT:
        return Accept()
    if v is Verdict.REJECT:
        return Reject(reason)
    return Ignore()


class NodeRuntime:
    def __init__(
        self,
        node: ChainNode,
        network: Network,
        clock: Callable[[], int] = time.time_ns,
        blocks: Blockstore | None = None,
        tx_backlog_bytes: int = TX_BACKLOG_BYTES,
    ) -> None:
        self.node = node
        self.network = network
        self.clock = clock
        self.blocks = blocks  # the node's IPFS blockstore: served to peers when set
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._fetching: set[PeerId] = set()
        self.token: trio.lowlevel.TrioToken | None = None
        self.tx_backlog_bytes = tx_backlog_bytes
        self.txs_dropped = 0  # tx messages dropped over the backlog bound (recoverable)
        self._backlog: deque[InboundMessage] = deque()
        self._backlog_size = 0
        self._validators: ValidatorSet | None = None  # the set the peers were judged with
        self._polls = 0  # status polls of a follower (picks the next peer round robin)

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self.network.set_validator(self._validate)
        self.network.set_validator_auth(ValidatorAuth(self._prove, self._is_validator_key))
        self._validators = self.node.state.validators
        self.network.set_block_provider(self._serve_blocks)
        if self.blocks is not None:
            self.network.set_block_source(blockstore_source(self.blocks))
        self.network.set_height(self.node.state.last_block_height)
        self.node.on_work = self.wake
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.network.run)
            nursery.start_soon(self._inbound_loop)
            nursery.start_soon(self._sync_loop)
            nursery.start_soon(self._driver_loop)
            task_status.started()

    def wake(self) -> None:
        self._wake.set()

    def network_stats(self) -> NetworkStats:
        """The network's counters, with the runtime's own (``txs_dropped``)."""
        return replace(self.network.stats(), txs_dropped=self.txs_dropped)

    async def fetch_dag(self, root: CID, peer: PeerId | None = None) -> FetchResult:
        """Fetch every missing block of the DAG under `root` from peers into the node's
        blockstore (verified); BlocksUnavailable names what no peer had."""
        if self.blocks is None:
            raise RuntimeError("this runtime has no blockstore")
        return await fetch_dag_into(root, self.blocks, network_fetcher(self.network, peer))

    # ------------------------------------------------------------------ network hooks

    def _validate(self, kind: MessageKind, payload: bytes) -> NetVerdict:
        if kind is MessageKind.CONSENSUS:
            return _verdict(self.node.check_consensus(payload), "invalid consensus message")
        if kind is MessageKind.TX:
            return _verdict(self.node.check_tx_message(payload), "invalid transaction")
        return Accept()  # evidence is verified when the node receives it

    def _prove(self, statement: bytes) -> ValidatorProof | None:
        """Our validator's signature over the peer-binding statement, while we are in the
        current validator set. Signs nothing but that statement (its own domain: never a
        vote or proposal, so the double-sign guard has nothing to guard)."""
        if not binding.is_statement(statement):
            raise ValueError("asked to sign something that is not a peer-binding statement")
        privval = self.node.privval
        if self.node.state.validators.index_of(privval.address) is None:
            return None
        return ValidatorProof(privval.public_key, privval.sign_peer_binding(statement))

    def _is_validator_key(self, public_key: bytes) -> bool:
        vals = self.node.state.validators
        i = vals.index_of(address_from_public_key(public_key))
        return i is not None and vals.validators[i].public_key == public_key

    def _check_validator_set(self) -> None:
        """After a validator set change, judge the peers (and let them judge us) again."""
        vals = self.node.state.validators
        if vals is self._validators:
            return
        changed = vals != self._validators
        self._validators = vals
        if changed:
            log.info("validator set changed: judging the peers' validator claims again")
            self.network.revalidate_peers()

    async def _serve_blocks(self, start: int, count: int) -> list[bytes]:
        return self.node.serve_blocks(start, count)

    # ------------------------------------------------------------------ tasks

    async def _inbound_loop(self) -> None:
        """Deliver inbound messages, consensus and evidence ahead of txs: before each tx
        admission every message waiting in the channel is taken, consensus and evidence
        delivered at once, tx messages queued in a local backlog bounded in bytes
        (``tx_backlog_bytes``); so a proposal or vote never queues behind the admission of
        tx batches (a signature check per tx), however many wait. Tx messages over the
        bound are dropped and counted (``txs_dropped``): their txs stay in the sender's
        mempool and reach us in its proposal, and clients resubmit. The driver runs (sends
        our votes) between admissions."""
        async with self.network.inbound() as inbound:
            while True:
                if not self._backlog:
                    try:
                        msg = await inbound.receive()
                    except trio.EndOfChannel:
                        return
                    urgent = self._take(msg)
                else:
                    urgent = False
                while True:  # everything waiting: at most the channel's capacity
                    try:
                        msg = inbound.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    urgent = self._take(msg) or urgent
                if urgent:
                    self.wake()
                    await trio.lowlevel.checkpoint()
                if self._backlog:
                    msg = self._backlog.popleft()
                    self._backlog_size -= len(msg.payload)
                    self._deliver(msg)
                    self.wake()
                    await trio.lowlevel.checkpoint()

    def _take(self, msg: InboundMessage) -> bool:
        """Deliver a consensus or evidence message now (True); queue a tx message, or drop
        it (counted) when the backlog is over its byte bound."""
        if msg.kind is not MessageKind.TX:
            self._deliver(msg)
            return True
        if self._backlog_size + len(msg.payload) > self.tx_backlog_bytes:
            if not self.txs_dropped % 100:
                log.warning(
                    "tx backlog over %d bytes: dropped a tx message from %s (%d so far)",
                    self.tx_backlog_bytes,
                    msg.peer,
                    self.txs_dropped + 1,
                )
            self.txs_dropped += 1
            return False
        self._backlog.append(msg)
        self._backlog_size += len(msg.payload)
        return False

    def _deliver(self, msg: InboundMessage) -> None:
        now = self.clock()
        if msg.kind is MessageKind.CONSENSUS:
            self.node.receive_consensus(msg.payload, str(msg.peer), now)
        elif msg.kind is MessageKind.TX:
            got = self.node.receive_tx(msg.payload, now)
            if got.invalid:  # passed the cheap check but not the full one: the peer's fault
                self.network.penalise(msg.peer, f"{got.invalid} invalid txs in a TX message")
        else:
            self.node.receive_evidence(msg.payload)

    async def _driver_loop(self) -> None:
        while True:
            deadline = self.node.step(self.clock())
            await self._flush()
            self.network.set_height(self.node.state.last_block_height)
            self._check_validator_set()
            wait = MAX_IDLE_S
            if deadline is not None:
                wait = min(wait, max(0.0, (deadline - self.clock()) / 1e9))
            self._wake = trio.Event()
            with trio.move_on_after(wait):
                await self._wake.wait()

    async def _flush(self) -> None:
        effects = self.node.take_outbox()
        txs = [e.payload for e in effects if isinstance(e, PublishTx)]
        if txs:  # one message per flush, not one per tx
            others = self._other_validators()
            for payload in batch_txs(txs, TX_BATCH_BYTES):
                try:  # a validator: direct to the validators; a full node: gossip
                    sent = await self.network.send_txs(payload)
                    if sent == 0 or sent < others:  # some validator has no live link
                        await self.network.publish_tx(payload)
                except P2PError as exc:  # peers also get these txs in blocks
                    log.debug("tx broadcast failed: %s", exc)
        for eff in effects:
            try:
                if isinstance(eff, SendConsensus):
                    await self.network.send_consensus(eff.payload)
                elif isinstance(eff, PublishEvidence):
                    await self.network.publish_evidence(eff.payload)
                elif isinstance(eff, RequestBlocks):
                    self._fetch_soon(PeerId(eff.peer), eff.start, eff.count)
            except P2PError as exc:  # lossy by design: re-gossip and sync recover
                log.debug("network effect %s failed: %s", type(eff).__name__, exc)

    def _in_validator_set(self) -> bool:
        return self.node.state.validators.index_of(self.node.privval.address) is not None

    def _other_validators(self) -> int:
        return len(self.node.state.validators.validators) - self._in_validator_set()

    def _fetch_soon(self, peer: PeerId, start: int, count: int) -> None:
        if peer in self._fetching or self._nursery is None:
            return
        self._fetching.add(peer)
        self._nursery.start_soon(self._fetch, peer, start, count)

    async def _fetch(self, peer: PeerId, start: int, count: int) -> None:
        try:
            with trio.move_on_after(10):
                blocks = await self.network.request_blocks(peer, start, count)
                if blocks:
                    n = self.node.apply_synced(blocks, self.clock())
                    if n:
                        log.info("synced %d blocks from %s", n, peer)
                        self.wake()
        except P2PError as exc:
            log.debug("block sync from %s failed: %s", peer, exc)
        finally:
            self._fetching.discard(peer)

    async def _sync_loop(self) -> None:
        while True:
            follower = not self._in_validator_set()
            await trio.sleep(FOLLOW_POLL_S if follower else SYNC_POLL_S)
            ours = self.node.state.last_block_height
            peers = self.network.peers()
            ahead = [p for p in peers if p.height > ours]
            for p in ahead:
                self._fetch_soon(p.peer_id, ours + 1, SYNC_BATCH)
            if follower and not ahead and peers:
                await self._poll_status(peers, ours)

    async def _poll_status(self, peers: list[PeerInfo], ours: int) -> None:
        """A follower learns that the chain moved on: ask one peer (round robin,
        validators first) its height now, and fetch from it when it is ahead. Peer
        heights otherwise come from the last status exchange, i.e. the connection's
        handshake, and a node outside the validator set gets no consensus messages."""
        order = sorted(peers, key=lambda p: (not p.is_validator, p.peer_id))
        peer = order[self._polls % len(order)].peer_id
        self._polls += 1
        height = 0
        with trio.move_on_after(SYNC_POLL_S):
            try:
                height = await self.network.status_of(peer)
            except P2PError as exc:  # gone or refused: the next poll asks another peer
                log.debug("status of %s failed: %s", peer, exc)
        if height > ours:
            self._fetch_soon(peer, ours + 1, SYNC_BATCH)


class TrioGateway:
    """The API's thread-safe door into a node running on the runtime's trio thread."""

    def __init__(self, runtime: NodeRuntime) -> None:
        self.runtime = runtime

    def submit_tx(self, raw: bytes, now: int) -> SubmitResult:
        token = self.runtime.token
        if token is None:
            raise RuntimeError("the node runtime is not running")
        return trio.from_thread.run_sync(self._submit, raw, now, trio_token=token)

    def submit_txs(self, raws: Sequence[bytes], now: int) -> list[SubmitResult | ChainError]:
        """A batch crosses to the trio thread once and is admitted in one SQLite write."""
        token = self.runtime.token
        if token is None:
            raise RuntimeError("the node runtime is not running")
        return trio.from_thread.run_sync(self._submit_many, raws, now, trio_token=token)

    def fetch_dag(self, root: CID) -> FetchResult:
        """Fetch a DAG from peers into the node's blockstore (blocks the calling thread)."""
        token = self.runtime.token
        if token is None:
            raise RuntimeError("the node runtime is not running")
        return trio.from_thread.run(self.runtime.fetch_dag, root, trio_token=token)

    def _submit(self, raw: bytes, now: int) -> SubmitResult:
        result = self.runtime.node.submit_tx(raw, now)
        self.runtime.wake()
        return result

    def _submit_many(self, raws: Sequence[bytes], now: int) -> list[SubmitResult | ChainError]:
        results = self.runtime.node.submit_txs(raws, now)
        self.runtime.wake()
        return results
