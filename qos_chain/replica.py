"""BftDriver: runs the Tendermint engine for a ChainNode among many validators (sans-I/O).

It turns engine effects into chain work and network effects, and network input into engine
events. Nothing here does I/O: the runtime (``qos_node.runtime``) delivers inbound
messages, fires the deadline returned by :meth:`next_deadline` and drains ``outbox``.

* ``RequestProposalBlock`` -> ``ChainNode.build_block`` -> ``ProposalBlockReady``.
* ``Decide`` -> ``ChainNode.commit_block`` (validates block + commit, one atomic write)
  -> ``StartHeight`` of the next height.
* ``BroadcastProposal`` / ``BroadcastVote`` -> :class:`SendConsensus` (the vote or proposal
  was signed by the double-sign-guarded signer, which persisted it first).
* ``ScheduleTimeout`` -> an internal timer heap.
* ``ReportEvidence`` -> kept for the next proposal and :class:`PublishEvidence`.

Gossip is lossy, so every ``regossip_ns`` our own messages of the current height are sent
again. A message from a later height makes us ask that peer for blocks
(:class:`RequestBlocks`), which come back through :meth:`apply_synced` (the pull path). A
peer that still speaks of an older height after ``HELP_AFTER_NS``, or two heights back, and
has sent nothing newer, is pushed the decided block with its commit
(:class:`BlockWithCommit`). A late vote of a peer that decided as well is the common case
under load (the 4th precommit arrives after +2/3 decided): pushing a block for it would
cost a block read, an encode, the bytes on the wire and the peer's decode, for nothing.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from qos_chain import codec
from qos_chain.consensus.engine import TendermintEngine
from qos_chain.consensus.messages import (
    BroadcastProposal,
    BroadcastVote,
    CommitReceived,
    Decide,
    Effect,
    Event,
    ProposalBlockReady,
    ProposalReceived,
    ReportEvidence,
    RequestProposalBlock,
    RoundState,
    RoundStep,
    ScheduleTimeout,
    StartHeight,
    TimeoutFired,
    VoteReceived,
)
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.consensus.votes import DuplicateVoteEvidence, verify_evidence
from qos_chain.consensus.wal import ConsensusWal
from qos_chain.consensus.wire import (
    BlockWithCommit,
    ConsensusMessage,
    ProposalMessage,
    decode_consensus,
    message_height,
)
from qos_chain.errors import ChainError, DecodeError, InvalidBlock
from qos_chain.sign import DOMAIN_VOTE, is_valid, sign_bytes
from qos_chain.types import Vote, canonical_vote

if TYPE_CHECKING:
    from qos_chain.node import ChainNode

log = logging.getLogger("qos.consensus")

REGOSSIP_NS = 1_000_000_000
HELP_AFTER_NS = 1_000_000_000  # a peer still at the previous height this long: push it the block
SYNC_RETRY_NS = 2_000_000_000
SYNC_BATCH = 50
DECODED_KEPT = 8


@dataclass(frozen=True, slots=True)
class SendConsensus:
    payload: bytes
    peer: str | None = None  # None: every validator peer


@dataclass(frozen=True, slots=True)
class PublishTx:
    payload: bytes


@dataclass(frozen=True, slots=True)
class PublishEvidence:
    payload: bytes


@dataclass(frozen=True, slots=True)
class RequestBlocks:
    peer: str
    start: int
    count: int


NetEffect = SendConsensus | PublishTx | PublishEvidence | RequestBlocks


class Verdict(Enum):
    ACCEPT = "accept"
    REJECT = "reject"  # invalid: counts against the sending peer
    IGNORE = "ignore"  # harmless but useless (stale, duplicate)


class BftDriver:
    def __init__(
        self,
        node: ChainNode,
        config: TimeoutConfig | None = None,
        busy_wait_ns: int = 200_000_000,
        wal: ConsensusWal | None = None,
    ) -> None:
        self.node = node
        self.wal = wal
        self.busy_wait_ns = busy_wait_ns  # wait after a commit while txs are pending
        state = node.state
        is_validator = state.validators.index_of(node.privval.address) is not None
        self.engine = TendermintEngine(
            state.chain_id,
            signer=node.privval if is_validator else None,
            validate_block=lambda b: node.executor.process_proposal(node.state, b),
            config=config,
        )
        self.outbox: list[NetEffect] = node.outbox  # shared with the node, drained by the runtime
        self._timers: list[tuple[int, int, TimeoutFired]] = []
        self._seq = 0
        self._own: dict[tuple[int, int], bytes] = {}  # (round, kind) -> payload, this height
        self._next_regossip = 0
        self._sync_asked_at: dict[str, int] = {}
        self._height_started_at = 0  # when the current height's wait began (after a commit)
        self._helped: set[tuple[str, int]] = set()
        self._peer_height: dict[str, int] = {}  # peer -> highest height it sent us
        # payload -> message decoded by check_consensus, taken by on_consensus (the same
        # bytes arrive in both: decode a proposal's block once); bounded, oldest out
        self._decoded: dict[bytes, ConsensusMessage] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self, now: int) -> None:
        self._next_regossip = now + REGOSSIP_NS
        self._start_height(now)
        self._replay_wal(now)

    def _replay_wal(self, now: int) -> None:
        """Feed back the logged messages of the height we resume at (see wal.py)."""
        if self.wal is None:
            return
        nxt = self.node.state.next_height
        events: list[Event] = []
        for own, payload in self.wal.records():
            try:
                msg = decode_consensus(payload)
            except DecodeError:
                continue
            if message_height(msg) != nxt or isinstance(msg, BlockWithCommit):
                continue
            if isinstance(msg, ProposalMessage):
                events.append(ProposalReceived(msg.proposal, msg.block))
                key = (msg.proposal.round, 0)
            else:
                events.append(VoteReceived(msg))
                key = (msg.round, int(msg.type))
            if own:
                self._own[key] = payload
                self.outbox.append(SendConsensus(payload))
        if events:
            log.info("replaying %d consensus messages from the WAL at height %d", len(events), nxt)
            self._run(events, now)

    def round_state(self) -> RoundState:
        return self.engine.state()

    def _start_height(self, now: int) -> None:
        self._height_started_at = now
        self._own.clear()
        self._helped.clear()
        self._run([self._next_height_event()], now)

    def _next_height_event(self) -> StartHeight:
        st = self.node.state
        wait = self.busy_wait_ns if len(self.node.mempool) else None
        return StartHeight(st.next_height, st.validators, st.proposers, wait)

    def next_deadline(self) -> int:
        if self._timers:
            return min(self._timers[0][0], self._next_regossip)
        return self._next_regossip

    # ------------------------------------------------------------------ engine loop

    def _run(self, events: list[Event], now: int) -> None:
        queue = list(events)
        while queue:
            for eff in self.engine.handle(queue.pop(0), now):
                queue.extend(self._effect(eff, now))

    def _effect(self, eff: Effect, now: int) -> list[Event]:
        if isinstance(eff, ScheduleTimeout):
            self._seq += 1
            ev = TimeoutFired(eff.height, eff.round, eff.step)
            heapq.heappush(self._timers, (eff.at_ns, self._seq, ev))
        elif isinstance(eff, BroadcastVote):
            payload = codec.encode(eff.vote)
            self._speak((eff.vote.round, int(eff.vote.type)), payload)
        elif isinstance(eff, BroadcastProposal):
            payload = codec.encode(ProposalMessage(eff.proposal, eff.block))
            self._speak((eff.proposal.round, 0), payload)
        elif isinstance(eff, RequestProposalBlock):
            if eff.height == self.node.state.next_height:
                block = self.node.build_block(now)
                return [ProposalBlockReady(eff.height, eff.round, block)]
        elif isinstance(eff, Decide):
            if eff.height == self.node.state.next_height:
                self.node.commit_block(eff.block, eff.commit)
                self._height_started_at = now
                if self.wal is not None:
                    self.wal.reset()
                self._own.clear()
                self._helped.clear()
                return [self._next_height_event()]
        elif isinstance(eff, ReportEvidence):
            payload = codec.encode(eff.evidence)
            if payload not in self.node.pending_evidence:
                self.node.pending_evidence.append(payload)
                self.outbox.append(PublishEvidence(payload))
        return []

    def _speak(self, key: tuple[int, int], payload: bytes) -> None:
        """Persist before speaking: WAL (fsync) first, then the network."""
        if self.wal is not None:
            self.wal.append(payload, own=True)
        self._own[key] = payload
        self.outbox.append(SendConsensus(payload))

    # ------------------------------------------------------------------ inputs

    def on_txs(self, now: int) -> None:
        """Txs arrived: if we idle in the post-commit wait, cut it to the busy wait."""
        rs = self.engine.state()
        if rs.step != RoundStep.NEW_HEIGHT or rs.round != 0:
            return
        self._seq += 1
        at = max(now, self._height_started_at + self.busy_wait_ns)
        ev = TimeoutFired(rs.height, 0, RoundStep.NEW_HEIGHT)
        heapq.heappush(self._timers, (at, self._seq, ev))

    def on_timer(self, now: int) -> None:
        due: list[Event] = []
        while self._timers and self._timers[0][0] <= now:
            due.append(heapq.heappop(self._timers)[2])
        if due:
            self._run(due, now)
        if now >= self._next_regossip:
            self._next_regossip = now + REGOSSIP_NS
            for payload in self._own.values():
                self.outbox.append(SendConsensus(payload))

    def check_consensus(self, payload: bytes) -> Verdict:
        """Network-level check before delivery: decodable, right chain, valid signature."""
        try:
            msg = decode_consensus(payload)
        except DecodeError:
            return Verdict.REJECT
        if len(self._decoded) >= DECODED_KEPT:
            del self._decoded[next(iter(self._decoded))]
        self._decoded[payload] = msg
        if isinstance(msg, Vote):
            return self._check_vote(msg)
        if isinstance(msg, ProposalMessage):
            if msg.block.header.chain_id != self.node.state.chain_id:
                return Verdict.REJECT
            if msg.proposal.block_hash != msg.block.hash():
                return Verdict.REJECT
        return Verdict.ACCEPT

    def _check_vote(self, vote: Vote) -> Verdict:
        st = self.node.state
        if vote.height != st.next_height:
            return Verdict.IGNORE if vote.height < st.next_height else Verdict.ACCEPT
        vals = st.validators.validators
        if vote.validator_index >= len(vals):
            return Verdict.REJECT
        val = vals[vote.validator_index]
        if val.address != vote.validator:
            return Verdict.REJECT
        payload = sign_bytes(DOMAIN_VOTE, st.chain_id, canonical_vote(vote))
        return (
            Verdict.ACCEPT if is_valid(val.public_key, payload, vote.signature) else Verdict.REJECT
        )

    def on_consensus(self, payload: bytes, peer: str, now: int) -> None:
        msg = self._decoded.pop(payload, None)  # same bytes, same (immutable) message
        if msg is None:
            try:
                msg = decode_consensus(payload)
            except DecodeError:
                return
        height = message_height(msg)
        nxt = self.node.state.next_height
        if isinstance(msg, BlockWithCommit):
            if height < nxt:
                return  # a peer thought us behind: it is not, and that says nothing of it
        elif height > self._peer_height.get(peer, 0):
            self._peer_height[peer] = height
        if height > nxt:
            self._ask_sync(peer, now)
            if height > nxt + 1:
                return
        if height < nxt:
            if self._peer_height.get(peer, 0) == height and (
                height < nxt - 1 or now - self._height_started_at >= HELP_AFTER_NS
            ):
                self._help_behind(peer, height)
            return
        if isinstance(msg, BlockWithCommit):
            if height == nxt:
                self._run([CommitReceived(msg.block, msg.commit)], now)
            return
        if self.wal is not None and height == nxt:
            self.wal.append(payload, own=False)
        if isinstance(msg, ProposalMessage):
            self._run([ProposalReceived(msg.proposal, msg.block)], now)
        else:
            self._run([VoteReceived(msg)], now)

    def on_evidence(self, payload: bytes) -> Verdict:
        try:
            ev = codec.decode(DuplicateVoteEvidence, payload)
            verify_evidence(self.node.state.chain_id, self.node.state.validators, ev)
        except (DecodeError, ChainError, ValueError):
            return Verdict.REJECT
        if payload not in self.node.pending_evidence:
            self.node.pending_evidence.append(payload)
        return Verdict.ACCEPT

    # ------------------------------------------------------------------ catch-up

    def _ask_sync(self, peer: str, now: int) -> None:
        last = self._sync_asked_at.get(peer)
        if last is not None and now - last < SYNC_RETRY_NS:
            return
        self._sync_asked_at[peer] = now
        self.outbox.append(RequestBlocks(peer, self.node.state.next_height, SYNC_BATCH))

    def _help_behind(self, peer: str, height: int) -> None:
        if (peer, height) in self._helped:
            return
        block = self.node.store.block(height)
        commit = self.node.store.commit(height)
        if block is None or commit is None:
            return
        self._helped.add((peer, height))
        self.outbox.append(SendConsensus(codec.encode(BlockWithCommit(block, commit)), peer))

    def apply_synced(self, payloads: list[bytes], now: int) -> int:
        """Apply fetched blocks in order (each verified against its commit); returns count."""
        applied = 0
        for raw in payloads:
            try:
                item = codec.decode(BlockWithCommit, raw)
            except DecodeError:
                break
            if item.block.header.height != self.node.state.next_height:
                continue
            try:
                self.node.commit_block(item.block, item.commit)
            except InvalidBlock as exc:
                log.warning("synced block %d refused: %s", item.block.header.height, exc)
                break
            applied += 1
        if applied:
            if self.wal is not None:
                self.wal.reset()
            self._timers.clear()
            self._start_height(now)
        return applied
