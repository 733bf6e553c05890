"""A deterministic simulated network of TendermintEngines (one seed = one schedule).

Everything random comes from ``random.Random(seed)``: the schedule (validator count,
byzantine validators, drop rate, delays, partitions, crashes) and every delivery delay and
drop, so a seed replays exactly. Time is simulated (integer ns); there is no clock, no
sleep, no SQLite: the "app" is a list of decided blocks per node.

The driver around each engine plays the node and its gossip reactor:

* effects become network sends (with drops, delays, reordering, partitions), timers and
  block building (``RequestProposalBlock`` is answered at once);
* every node re-gossips its own votes and the proposals it holds for its height
  periodically, and sends the decided proposal plus the commit's precommits to a peer
  that is behind (CometBFT's catch-up gossip), so lossy links still make progress;
* a crash drops the engine and its timers; a restart builds a new engine with the same
  signer object (its double-sign guard survives, like ``priv_validator_state.json``) and
  replays the node's write-ahead log of inputs for the current height, including its own
  signed messages;
* a byzantine validator runs an engine too but signs a conflicting vote (and proposal)
  for every one it sends, and shows each half of its peers a different one.

``run(seed)`` returns a :class:`Result`; ``failure`` is ``None`` when SAFETY (no two honest
nodes decide different blocks at a height; no honest validator signs two different votes
for one height/round/type) and LIVENESS (after the heal, every honest node reaches
``heights`` within the step and time budget) hold.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field, replace
from functools import partial

from qos_chain.consensus.engine import TendermintEngine
from qos_chain.consensus.messages import (
    BroadcastProposal,
    BroadcastVote,
    CommitReceived,
    Decide,
    Event,
    ProposalBlockReady,
    ProposalReceived,
    ReportEvidence,
    RequestProposalBlock,
    ScheduleTimeout,
    StartHeight,
    TimeoutFired,
    VoteReceived,
)
from qos_chain.consensus.proposer import ProposerState
from qos_chain.consensus.timeouts import MS, TimeoutConfig
from qos_chain.sign import is_valid
from qos_chain.testing.signer import MemorySigner, seed_for
from qos_chain.types import Block, Commit, Header, Proposal, ValidatorSet, Vote, VoteType

CHAIN = "qos-sim"
SIM_TIMEOUTS = TimeoutConfig(
    propose_ns=300 * MS,
    propose_delta_ns=100 * MS,
    prevote_ns=150 * MS,
    prevote_delta_ns=100 * MS,
    precommit_ns=150 * MS,
    precommit_delta_ns=100 * MS,
    commit_ns=20 * MS,
)
GOSSIP_EVERY = 250 * MS
LIVENESS_BUDGET = 120_000 * MS  # simulated time allowed after the heal
MAX_STEPS = 400_000

Gossip = ProposalReceived | VoteReceived
Message = ProposalReceived | VoteReceived | CommitReceived


@dataclass(frozen=True)
class Deliver:
    src: int
    dst: int
    msg: Message


@dataclass(frozen=True)
class Timer:
    node: int
    incarnation: int
    fire: TimeoutFired


@dataclass(frozen=True)
class Schedule:
    seed: int
    n: int
    heights: int
    byzantine: tuple[int, ...]
    drop: float
    drop_after_heal: float
    min_delay: int
    max_delay: int
    partitions: tuple[tuple[int, int, frozenset[int]], ...]  # (start, end, one side)
    crashes: tuple[tuple[int, int, int], ...]  # (node, at, restart_at)
    heal_at: int

    def describe(self) -> str:
        return (
            f"seed={self.seed} n={self.n} heights={self.heights} byz={list(self.byzantine)} "
            f"drop={self.drop:.2f}/{self.drop_after_heal:.2f} "
            f"delay={self.min_delay // MS}-{self.max_delay // MS}ms "
            f"partitions={[(s // MS, e // MS, sorted(g)) for s, e, g in self.partitions]} "
            f"crashes={[(i, a // MS, b // MS) for i, a, b in self.crashes]} "
            f"heal={self.heal_at // MS}ms"
        )


def make_schedule(seed: int, heights: int = 3, *, n: int | None = None) -> Schedule:
    rng = random.Random(seed)
    if n is None:
        n = 7 if rng.random() < 0.3 else 4
    f = (n - 1) // 3
    nodes = list(range(n))
    byz = tuple(sorted(rng.sample(nodes, rng.randint(0, f))))
    horizon = rng.randint(500, 3_000) * MS
    partitions = []
    for _ in range(rng.randint(0, 2)):
        start = rng.randint(0, horizon)
        end = min(horizon, start + rng.randint(100, 2_000) * MS)
        side = frozenset(rng.sample(nodes, rng.randint(1, n - 1)))
        partitions.append((start, end, side))
    crashes = []
    honest = [i for i in nodes if i not in byz]
    for node in rng.sample(honest, rng.randint(0, min(2, len(honest)))):
        at = rng.randint(0, horizon)
        crashes.append((node, at, min(horizon, at + rng.randint(50, 1_500) * MS)))
    min_delay = rng.randint(1, 10) * MS
    return Schedule(
        seed=seed,
        n=n,
        heights=heights,
        byzantine=byz,
        drop=rng.choice((0.0, 0.05, 0.2, 0.4)),
        drop_after_heal=rng.choice((0.0, 0.0, 0.05)),
        min_delay=min_delay,
        max_delay=min_delay + rng.randint(0, 80) * MS,
        partitions=tuple(partitions),
        crashes=tuple(crashes),
        heal_at=horizon,
    )


@dataclass
class Decided:
    round: int
    block: Block
    commit: Commit


@dataclass
class SimNode:
    index: int
    signer: MemorySigner
    byzantine: bool
    chain: list[Block] = field(default_factory=list)  # the "app": persisted decisions
    decided: dict[int, Decided] = field(default_factory=dict)
    engine: TendermintEngine | None = None
    incarnation: int = 0
    wal: list[tuple[Event, int]] = field(default_factory=list)
    equivocations: list[Gossip] = field(default_factory=list)  # byzantine extras


@dataclass
class Result:
    schedule: Schedule
    failure: str | None
    steps: int
    sim_time_ns: int
    heights: list[int]
    rounds_max: int
    evidence: int
    messages: int


class Simulation:
    def __init__(self, schedule: Schedule) -> None:
        self.s = schedule
        self.rng = random.Random(schedule.seed * 7919 + 1)
        signers = [MemorySigner(seed_for("sim", i)) for i in range(schedule.n)]
        self.valset = ValidatorSet.of([s.validator(10) for s in signers])
        by_addr = {s.address: s for s in signers}
        ordered = [by_addr[v.address] for v in self.valset.validators]
        self.nodes = [SimNode(i, ordered[i], i in schedule.byzantine) for i in range(schedule.n)]
        self.bases = [ProposerState.initial(self.valset, 1)]
        self.now = 0
        self.seq = 0
        self.queue: list[tuple[int, int, int, object]] = []
        self.steps = 0
        self.failure: str | None = None
        self.decisions: dict[int, bytes] = {}
        self.signed: dict[tuple[int, int, int, VoteType], bytes] = {}
        self.evidence = 0
        self.messages = 0
        self.max_round = 0
        self._verified: dict[tuple[bytes, bytes, bytes], bool] = {}

    # ------------------------------------------------------------------ plumbing

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        key = (public_key, message, signature)
        ok = self._verified.get(key)
        if ok is None:
            ok = is_valid(public_key, message, signature)
            self._verified[key] = ok
        return ok

    def base(self, height: int) -> ProposerState:
        while len(self.bases) < height:
            self.bases.append(self.bases[-1].next_height())
        return self.bases[height - 1]

    def push(self, at: int, kind: int, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, kind, payload))

    def healed(self) -> bool:
        return self.now >= self.s.heal_at

    def linked(self, a: int, b: int) -> bool:
        if self.healed():
            return True
        for start, end, side in self.s.partitions:
            if start <= self.now < end and ((a in side) != (b in side)):
                return False
        return True

    def send(self, src: int, dst: int, msg: Message) -> None:
        if src == dst or not self.linked(src, dst):
            return
        drop = self.s.drop_after_heal if self.healed() else self.s.drop
        if self.rng.random() < drop:
            return
        self.messages += 1
        delay = self.rng.randint(self.s.min_delay, self.s.max_delay)
        self.push(self.now + delay, DELIVER, Deliver(src, dst, msg))

    # ------------------------------------------------------------------ nodes

    def start_node(self, node: SimNode) -> None:
        node.engine = TendermintEngine(
            CHAIN,
            signer=node.signer,
            validate_block=partial(self.validate, node),
            config=SIM_TIMEOUTS,
            verify=self.verify,
        )
        node.incarnation += 1
        wal, node.wal = node.wal, []
        if not wal:
            h = len(node.chain) + 1
            self.handle(node, StartHeight(h, self.valset, self.base(h)))
            return
        for event, at in wal:  # replay: same inputs, same `now`, nothing sent
            self.handle(node, event, at=at, replay=True)

    def validate(self, node: SimNode, block: Block) -> bool:
        h = block.header
        parent = node.chain[-1].hash() if node.chain else b""
        return (
            h.chain_id == CHAIN
            and h.height == len(node.chain) + 1
            and h.parent_hash == parent
            and self.valset.index_of(h.proposer) is not None
            and len(block.txs) == 1
        )

    def build_block(self, node: SimNode, height: int, round_: int, salt: bytes = b"") -> Block:
        parent = node.chain[-1].hash() if node.chain else b""
        tx = f"h{height}/r{round_}/p{node.index}".encode() + salt
        header = Header(
            CHAIN, height, self.now, node.signer.address, parent, b"", tx, b"", b"", b"",
            b"", b"",
        )  # fmt: skip
        return Block(header, (tx,), (), None)

    def handle(
        self, node: SimNode, event: Event, *, at: int | None = None, replay: bool = False
    ) -> None:
        engine = node.engine
        assert engine is not None
        now = self.now if at is None else at
        pending: deque[Event] = deque([event])
        while pending:
            ev = pending.popleft()
            if isinstance(ev, StartHeight):
                node.wal = []
            node.wal.append((ev, now))
            for eff in engine.handle(ev, now):
                if isinstance(eff, BroadcastVote):
                    node.wal.append((VoteReceived(eff.vote), now))
                    if not replay:
                        self.broadcast_vote(node, eff.vote)
                elif isinstance(eff, BroadcastProposal):
                    node.wal.append((ProposalReceived(eff.proposal, eff.block), now))
                    if not replay:
                        self.broadcast_proposal(node, eff.proposal, eff.block)
                elif isinstance(eff, ScheduleTimeout):
                    fire = TimeoutFired(eff.height, eff.round, eff.step)
                    self.push(
                        max(eff.at_ns, self.now), TIMEOUT, Timer(node.index, node.incarnation, fire)
                    )
                elif isinstance(eff, RequestProposalBlock):
                    if not replay:  # the answer is in the WAL already
                        block = self.build_block(node, eff.height, eff.round)
                        pending.append(ProposalBlockReady(eff.height, eff.round, block))
                elif isinstance(eff, Decide):
                    self.on_decide(node, eff)
                    h = eff.height + 1
                    pending.append(StartHeight(h, self.valset, self.base(h)))
                elif isinstance(eff, ReportEvidence):
                    self.evidence += 1
            self.max_round = max(self.max_round, engine.round)

    def on_decide(self, node: SimNode, d: Decide) -> None:
        assert node.engine is not None
        if d.height != len(node.chain) + 1:
            self.fail(f"node {node.index} decided height {d.height} at chain {len(node.chain)}")
            return
        node.chain.append(d.block)
        node.decided[d.height] = Decided(d.round, d.block, d.commit)
        if node.byzantine:
            return
        first = self.decisions.setdefault(d.height, d.block.hash())
        if first != d.block.hash():
            self.fail(f"SAFETY: two blocks decided at height {d.height} (node {node.index})")

    def broadcast_vote(self, node: SimNode, vote: Vote) -> None:
        if not node.byzantine:
            key = (node.index, vote.height, vote.round, vote.type)
            prev = self.signed.setdefault(key, vote.block_hash)
            if prev != vote.block_hash:
                self.fail(f"SAFETY: honest node {node.index} double-signed {key[1:]}")
            self.to_all(node, VoteReceived(vote))
            return
        other = b"" if vote.block_hash else self.rng.randbytes(32)
        twin = node.signer.sign_vote_unguarded(CHAIN, replace(vote, block_hash=other))
        self.split(node, VoteReceived(vote), VoteReceived(twin))

    def broadcast_proposal(self, node: SimNode, proposal: Proposal, block: Block) -> None:
        if not node.byzantine:
            self.to_all(node, ProposalReceived(proposal, block))
            return
        alt = self.build_block(node, proposal.height, proposal.round, salt=b"/evil")
        twin = node.signer.sign_proposal_unguarded(
            CHAIN, replace(proposal, block_hash=alt.hash(), pol_round=None)
        )
        self.split(node, ProposalReceived(proposal, block), ProposalReceived(twin, alt))

    def to_all(self, node: SimNode, msg: Message) -> None:
        for j in range(self.s.n):
            self.send(node.index, j, msg)

    def split(self, node: SimNode, a: Gossip, b: Gossip) -> None:
        node.equivocations.append(b)
        for j in range(self.s.n):
            self.send(node.index, j, a if self.rng.random() < 0.5 else b)

    def gossip(self, node: SimNode) -> None:
        """Send each peer what it lacks (CometBFT learns this from NewRoundStep/HasVote)."""
        engine = node.engine
        if engine is None:
            return
        h = engine.height
        mine = {engine.round, engine.round - 1, engine.locked_round, engine.valid_round}
        for j, peer in enumerate(self.nodes):
            other = peer.engine
            if j == node.index or other is None:
                continue
            if other.height < h and other.height in node.decided:
                d = node.decided[other.height]
                self.send(node.index, j, CommitReceived(d.block, d.commit))
                continue
            if other.height != h:
                continue
            rounds = sorted(r for r in mine | {other.round} if r >= 0)
            for p, b in engine.proposals():
                if p.round in rounds and not other.has_proposal(p.round, p.block_hash):
                    self.send(node.index, j, ProposalReceived(p, b))
            for r in rounds:
                for t in (VoteType.PREVOTE, VoteType.PRECOMMIT):
                    held = engine.votes.peek(r, t)
                    if held is None:
                        continue
                    theirs = other.votes.peek(r, t)
                    for v in held.all_votes():
                        if theirs is None or not theirs.has(v):
                            self.send(node.index, j, VoteReceived(v))
            for m in node.equivocations:
                if _height(m) == h and _round(m) in rounds:
                    self.send(node.index, j, m)

    def fail(self, why: str) -> None:
        if self.failure is None:
            self.failure = f"{why} [t={self.now // MS}ms] {self.s.describe()}"

    # ------------------------------------------------------------------ main loop

    def run(self) -> Result:
        s = self.s
        for node in self.nodes:
            self.start_node(node)
            self.push(self.rng.randint(0, GOSSIP_EVERY), GOSSIP, node.index)
        for idx, at, back in s.crashes:
            self.push(at, CRASH, idx)
            self.push(back, RESTART, idx)
        deadline = s.heal_at + LIVENESS_BUDGET
        honest = [n for n in self.nodes if not n.byzantine]
        while self.queue and self.failure is None:
            if self.now >= s.heal_at and all(len(n.chain) >= s.heights for n in honest):
                break
            if self.steps >= MAX_STEPS or self.now > deadline:
                heights = [len(n.chain) for n in self.nodes]
                self.fail(f"LIVENESS: heights {heights} after {self.steps} steps")
                break
            at, _, kind, payload = heapq.heappop(self.queue)
            self.now = max(self.now, at)
            self.steps += 1
            self.step(kind, payload)
        return Result(
            schedule=s,
            failure=self.failure,
            steps=self.steps,
            sim_time_ns=self.now,
            heights=[len(n.chain) for n in self.nodes],
            rounds_max=self.max_round,
            evidence=self.evidence,
            messages=self.messages,
        )

    def step(self, kind: int, payload: object) -> None:
        if kind == DELIVER:
            assert isinstance(payload, Deliver)
            node = self.nodes[payload.dst]
            if node.engine is not None and self.linked(payload.src, payload.dst):
                self.handle(node, payload.msg)
        elif kind == TIMEOUT:
            assert isinstance(payload, Timer)
            node = self.nodes[payload.node]
            if node.engine is not None and node.incarnation == payload.incarnation:
                self.handle(node, payload.fire)
        elif kind == GOSSIP:
            assert isinstance(payload, int)
            self.gossip(self.nodes[payload])
            self.push(self.now + GOSSIP_EVERY, GOSSIP, payload)
        elif kind == CRASH:
            assert isinstance(payload, int)
            node = self.nodes[payload]
            node.engine = None
            node.incarnation += 1
        elif kind == RESTART:
            assert isinstance(payload, int)
            node = self.nodes[payload]
            if node.engine is None:
                self.start_node(node)


DELIVER, TIMEOUT, GOSSIP, CRASH, RESTART = range(5)


def _round(m: Gossip) -> int:
    return m.vote.round if isinstance(m, VoteReceived) else m.proposal.round


def _height(m: Gossip) -> int:
    return m.vote.height if isinstance(m, VoteReceived) else m.proposal.height


def run(seed: int, heights: int = 3, *, n: int | None = None) -> Result:
    return Simulation(make_schedule(seed, heights, n=n)).run()
