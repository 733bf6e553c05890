"""The Tendermint consensus engine: Algorithm 1 of "The latest gossip on BFT consensus"
(Buchman, Kwon, Milosevic 2018, arXiv:1807.04938), as a pure state machine.

``TendermintEngine.handle(event, now) -> list[Effect]``: events and effects are the values
in :mod:`qos_chain.consensus.messages`; ``now`` is integer ns and the only notion of time.
No I/O, clock or randomness; the two injected collaborators are synchronous: a ``signer``
(persists its double-sign guard before it returns a signature: *persist before speaking*)
and ``validate_block`` (Algorithm 1's ``valid(v)``; the node uses
``BlockExecutor.process_proposal``). A signer that refuses (``DoubleSignError``, e.g. after
a restart) makes the engine stay silent for that step; its state still moves on.

Line numbers below refer to Algorithm 1. Deviations, all from CometBFT: every process
(not only non-proposers) schedules ``timeoutPropose`` (the block may never come); the
proposer asks the node for a block (``RequestProposalBlock``) instead of calling
``getValue()``; after a decision the engine waits for ``StartHeight`` of the next height
(the node has to apply the block first) and then ``commit_ns`` before round 0; votes more
than ``future_round_window`` rounds ahead are not stored, only remembered as "validator X
reached round R" so that line 55 can still skip there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
from qos_chain.consensus.proposer import ProposerSchedule
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.consensus.votes import (
    DuplicateVoteEvidence,
    HeightVoteSet,
    InvalidVote,
    Verifier,
    make_commit,
    verify_vote,
)
from qos_chain.errors import InvalidBlock
from qos_chain.privval import DoubleSignError
from qos_chain.sign import DOMAIN_PROPOSAL, is_valid, sign_bytes
from qos_chain.types import (
    Block,
    CanonicalProposal,
    Proposal,
    ValidatorSet,
    Vote,
    VoteType,
)
from qos_chain.validation import verify_commit

NIL = b""
MAX_PROPOSALS_PER_ROUND = 2  # a byzantine proposer may sign many; a certified one is kept


class Signer(Protocol):
    """What the engine needs from a validator's signer (``FilePrivValidator`` fits)."""

    @property
    def address(self) -> bytes: ...

    def sign_vote(self, chain_id: str, vote: Vote) -> Vote: ...

    def sign_proposal(self, chain_id: str, proposal: Proposal) -> Proposal: ...


def proposal_sign_bytes(chain_id: str, p: Proposal) -> bytes:
    canon = CanonicalProposal(p.height, p.round, p.pol_round, p.block_hash, p.time_ns)
    return sign_bytes(DOMAIN_PROPOSAL, chain_id, canon)


class TendermintEngine:
    def __init__(
        self,
        chain_id: str,
        *,
        signer: Signer | None,
        validate_block: Callable[[Block], bool],
        config: TimeoutConfig | None = None,
        verify: Verifier = is_valid,
        future_round_window: int = 32,
        max_buffered: int = 4096,
    ) -> None:
        self.chain_id = chain_id
        self.config = config or TimeoutConfig()
        self._signer = signer
        self._validate = validate_block
        self._verify = verify
        self._window = future_round_window
        self._max_buffered = max_buffered
        self._started = False
        self._out: list[Effect] = []
        self._now = 0
        # Algorithm 1 state
        self.height = 0
        self.round = 0
        self.step = RoundStep.NEW_HEIGHT
        self.locked_value: Block | None = None
        self.locked_round = -1
        self.valid_value: Block | None = None
        self.valid_round = -1
        # per height
        self._validators = ValidatorSet(())
        self._proposers: ProposerSchedule | None = None
        self._own_index: int | None = None
        self._votes = HeightVoteSet(chain_id, 0, self._validators)
        self._proposals: dict[int, dict[bytes, tuple[Proposal, Block]]] = {}
        self._first_proposal: dict[int, bytes] = {}
        self._valid_cache: dict[bytes, bool] = {}
        self._far_rounds: dict[int, int] = {}  # validator index -> highest round beyond window
        self._reported: set[DuplicateVoteEvidence] = set()
        self._decided_at: int | None = None
        self._future: list[ProposalReceived | VoteReceived] = []
        # per round "for the first time" flags
        self._prevote_timeout_set = False
        self._precommit_timeout_set = False
        self._line36_done = False

    # ------------------------------------------------------------------ read API

    def state(self) -> RoundState:
        return RoundState(self.height, self.round, self.step)

    @property
    def validators(self) -> ValidatorSet:
        return self._validators

    @property
    def votes(self) -> HeightVoteSet:
        return self._votes

    def proposals(self) -> list[tuple[Proposal, Block]]:
        """Proposals held for the current height (for re-gossip), by round."""
        return [pb for r in sorted(self._proposals) for pb in self._proposals[r].values()]

    def has_proposal(self, round_: int, block_hash: bytes) -> bool:
        return block_hash in self._proposals.get(round_, {})

    def proposer_address(self, round_: int) -> bytes:
        if self._proposers is None:
            raise ValueError("no height started")
        return self._proposers(round_).address

    # ------------------------------------------------------------------ entry point

    def handle(self, event: Event, now: int) -> list[Effect]:
        self._out = []
        self._now = now
        if isinstance(event, StartHeight):
            self._start_height(event)
        elif not self._started:
            return []
        elif isinstance(event, ProposalReceived | VoteReceived):
            self._on_message(event)
        elif isinstance(event, TimeoutFired):
            self._on_timeout(event)
        elif isinstance(event, ProposalBlockReady):
            self._on_block_ready(event)
        elif isinstance(event, CommitReceived):
            self._on_commit(event)
        else:
            raise TypeError(f"unknown event {event!r}")
        self._apply_rules()
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ height / round

    def _start_height(self, ev: StartHeight) -> None:
        if self._started and ev.height <= self.height:
            return
        if ev.proposers.height != ev.height or ev.proposers.validators != ev.validators:
            raise ValueError("proposer state does not match the height's validator set")
        follows = self._started and ev.height == self.height + 1 and self.step == RoundStep.COMMIT
        start_at = self._now
        if follows and self._decided_at is not None:
            wait = self.config.commit_ns if ev.commit_wait_ns is None else ev.commit_wait_ns
            start_at = self._decided_at + wait
        self._started = True
        self.height = ev.height
        self.round = 0
        self.step = RoundStep.NEW_HEIGHT
        self.locked_value, self.locked_round = None, -1
        self.valid_value, self.valid_round = None, -1
        self._validators = ev.validators
        self._proposers = ProposerSchedule(ev.proposers)
        addr = self._signer.address if self._signer is not None else None
        self._own_index = None if addr is None else ev.validators.index_of(addr)
        self._votes = HeightVoteSet(self.chain_id, ev.height, ev.validators, self._verify)
        self._proposals = {}
        self._first_proposal = {}
        self._valid_cache = {}
        self._far_rounds = {}
        self._reported = set()
        self._decided_at = None
        self._reset_round_flags()
        buffered = [m for m in self._future if _height_of(m) == ev.height]
        self._future = [m for m in self._future if _height_of(m) > ev.height]
        if start_at <= self._now:
            self._start_round(0)
        else:
            self._out.append(ScheduleTimeout(ev.height, 0, RoundStep.NEW_HEIGHT, start_at))
        for msg in buffered:
            self._on_message(msg)

    def _reset_round_flags(self) -> None:
        self._prevote_timeout_set = False
        self._precommit_timeout_set = False
        self._line36_done = False

    def _start_round(self, round_: int) -> None:
        """Lines 11-21 (StartRound)."""
        assert self._proposers is not None
        self.round = round_
        self.step = RoundStep.PROPOSE
        self._reset_round_flags()
        # beyond-window memories now inside the window are dropped; re-gossip brings the votes
        self._far_rounds = {i: r for i, r in self._far_rounds.items() if r > round_ + self._window}
        at = self._now + self.config.propose(round_)
        self._out.append(ScheduleTimeout(self.height, round_, RoundStep.PROPOSE, at))
        if self._own_index is not None and self._proposers(round_).address == self._my_address():
            if self.valid_value is not None:  # line 15-16
                self._propose(self.valid_value, self.valid_round)
            else:  # line 17-18: getValue()
                self._out.append(RequestProposalBlock(self.height, round_))

    def _my_address(self) -> bytes:
        assert self._signer is not None
        return self._signer.address

    # ------------------------------------------------------------------ inputs

    def _on_message(self, msg: ProposalReceived | VoteReceived) -> None:
        h = _height_of(msg)
        if h == self.height + 1:
            if len(self._future) < self._max_buffered:
                self._future.append(msg)
            return
        if h != self.height:
            return
        if isinstance(msg, VoteReceived):
            self._on_vote(msg.vote)
        else:
            self._on_proposal(msg.proposal, msg.block)

    def _on_vote(self, vote: Vote) -> None:
        if vote.round > self.round + self._window:
            try:
                verify_vote(self.chain_id, self._validators, vote, self._verify)
            except InvalidVote:
                return
            idx = vote.validator_index
            self._far_rounds[idx] = max(self._far_rounds.get(idx, 0), vote.round)
            return
        try:
            result = self._votes.add(vote)
        except InvalidVote:
            return
        ev = result.evidence
        if ev is not None and ev not in self._reported:
            self._reported.add(ev)
            self._out.append(ReportEvidence(ev))

    def _on_proposal(self, p: Proposal, block: Block) -> None:
        assert self._proposers is not None
        if p.round > self.round + self._window:
            return
        if p.pol_round is not None and p.pol_round >= p.round:
            return
        in_round = self._proposals.get(p.round, {})
        if p.block_hash in in_round or block.hash() != p.block_hash:
            return
        if len(in_round) >= MAX_PROPOSALS_PER_ROUND and not self._certified(p.round, p.block_hash):
            return
        proposer = self._proposers(p.round)
        if not self._verify(
            proposer.public_key, proposal_sign_bytes(self.chain_id, p), p.signature
        ):
            return
        self._store_proposal(p, block)

    def _certified(self, round_: int, block_hash: bytes) -> bool:
        return self._votes.prevotes(round_).has_two_thirds_for(
            block_hash
        ) or self._votes.precommits(round_).has_two_thirds_for(block_hash)

    def _store_proposal(self, p: Proposal, block: Block) -> None:
        self._proposals.setdefault(p.round, {})[p.block_hash] = (p, block)
        self._first_proposal.setdefault(p.round, p.block_hash)

    def _on_timeout(self, ev: TimeoutFired) -> None:
        if ev.height != self.height or self.step == RoundStep.COMMIT:
            return
        if ev.step == RoundStep.NEW_HEIGHT:
            if self.step == RoundStep.NEW_HEIGHT and ev.round == 0:
                self._start_round(0)
            return
        if ev.round != self.round:
            return
        if ev.step == RoundStep.PROPOSE and self.step == RoundStep.PROPOSE:  # line 57
            self._send_vote(VoteType.PREVOTE, NIL)
            self.step = RoundStep.PREVOTE
        elif ev.step == RoundStep.PREVOTE and self.step == RoundStep.PREVOTE:  # line 61
            self._send_vote(VoteType.PRECOMMIT, NIL)
            self.step = RoundStep.PRECOMMIT
        elif ev.step == RoundStep.PRECOMMIT and self.step >= RoundStep.PROPOSE:  # line 65
            self._start_round(self.round + 1)

    def _on_commit(self, ev: CommitReceived) -> None:
        c = ev.commit
        if c.height != self.height or self.step == RoundStep.COMMIT:
            return
        try:
            verify_commit(self.chain_id, self._validators, c, ev.block.hash(), self.height)
        except InvalidBlock:
            return
        if not self._is_valid(ev.block):
            return
        self._out.append(Decide(self.height, c.round, ev.block, c))
        self.step = RoundStep.COMMIT
        self._decided_at = self._now

    def _on_block_ready(self, ev: ProposalBlockReady) -> None:
        if (ev.height, ev.round) != (self.height, self.round) or self.step != RoundStep.PROPOSE:
            return
        if self._own_index is None or self.round in self._first_proposal:
            return
        assert self._proposers is not None
        if self._proposers(self.round).address != self._my_address():
            return
        self._propose(ev.block, -1)

    # ------------------------------------------------------------------ outputs

    def _propose(self, block: Block, pol_round: int) -> None:
        assert self._signer is not None
        unsigned = Proposal(
            self.height,
            self.round,
            None if pol_round < 0 else pol_round,
            block.hash(),
            self._now,
            b"",
        )
        try:
            signed = self._signer.sign_proposal(self.chain_id, unsigned)
        except DoubleSignError:
            return
        self._store_proposal(signed, block)
        self._out.append(BroadcastProposal(signed, block))

    def _send_vote(self, type_: VoteType, block_hash: bytes) -> None:
        if self._own_index is None or self._signer is None:
            return
        unsigned = Vote(
            type_,
            self.height,
            self.round,
            block_hash,
            self._now,
            self._signer.address,
            self._own_index,
            b"",
        )
        try:
            signed = self._signer.sign_vote(self.chain_id, unsigned)
        except DoubleSignError:
            return
        self._votes.add(signed, verified=True)
        self._out.append(BroadcastVote(signed))

    def _schedule(self, step: RoundStep) -> None:
        at = self._now + self.config.for_step(step, self.round)
        self._out.append(ScheduleTimeout(self.height, self.round, step, at))

    # ------------------------------------------------------------------ the rules

    def _is_valid(self, block: Block) -> bool:
        h = block.hash()
        ok = self._valid_cache.get(h)
        if ok is None:
            ok = block.header.height == self.height and self._validate(block)
            self._valid_cache[h] = ok
        return ok

    def _apply_rules(self) -> None:
        if not self._started:
            return
        for _ in range(10_000):  # each pass changes state or stops; bounded for safety
            if self.step == RoundStep.COMMIT or not self._rules_once():
                return
        raise AssertionError("consensus rules did not reach a fixpoint")

    def _rules_once(self) -> bool:
        """Apply the first enabled rule; return whether the state changed."""
        if self._try_decide():  # line 49, any round
            return True
        if self._try_round_skip():  # line 55
            return True
        if self.step == RoundStep.NEW_HEIGHT:
            return False
        r = self.round
        prevotes = self._votes.prevotes(r)
        if self.step == RoundStep.PROPOSE and self._try_prevote():  # lines 22-33
            return True
        if (
            self.step == RoundStep.PREVOTE
            and not self._prevote_timeout_set
            and prevotes.has_two_thirds_any()
        ):  # line 34
            self._prevote_timeout_set = True
            self._schedule(RoundStep.PREVOTE)
            return True
        maj = prevotes.two_thirds_majority()
        if self.step >= RoundStep.PREVOTE and not self._line36_done and isinstance(maj, bytes):
            entry = self._proposals.get(r, {}).get(maj)
            if entry is not None and self._is_valid(entry[1]):  # line 36
                self._line36_done = True
                v = entry[1]
                if self.step == RoundStep.PREVOTE:
                    self.locked_value, self.locked_round = v, r
                    self._send_vote(VoteType.PRECOMMIT, maj)
                    self.step = RoundStep.PRECOMMIT
                self.valid_value, self.valid_round = v, r
                return True
        if self.step == RoundStep.PREVOTE and maj is None:  # line 44
            self._send_vote(VoteType.PRECOMMIT, NIL)
            self.step = RoundStep.PRECOMMIT
            return True
        if not self._precommit_timeout_set and self._votes.precommits(r).has_two_thirds_any():
            self._precommit_timeout_set = True  # line 47
            self._schedule(RoundStep.PRECOMMIT)
            return True
        return False

    def _try_prevote(self) -> bool:
        r = self.round
        first = self._first_proposal.get(r)
        if first is None:
            return False
        p, v = self._proposals[r][first]
        if p.pol_round is None:  # line 22
            ok = self._is_valid(v) and (self.locked_round == -1 or self._is_locked_on(v))
        else:  # line 28: needs the proof of lock, 2f+1 prevotes for v in pol_round
            vr = p.pol_round
            if not self._votes.prevotes(vr).has_two_thirds_for(p.block_hash):
                return False
            ok = self._is_valid(v) and (self.locked_round <= vr or self._is_locked_on(v))
        self._send_vote(VoteType.PREVOTE, p.block_hash if ok else NIL)
        self.step = RoundStep.PREVOTE
        return True

    def _is_locked_on(self, v: Block) -> bool:
        return self.locked_value is not None and self.locked_value.hash() == v.hash()

    def _try_decide(self) -> bool:
        for r in self._votes.rounds():
            precommits = self._votes.precommits(r)
            maj = precommits.two_thirds_majority()
            if not isinstance(maj, bytes):
                continue
            entry = self._proposals.get(r, {}).get(maj)
            if entry is None or not self._is_valid(entry[1]):
                continue
            self._out.append(Decide(self.height, r, entry[1], make_commit(precommits, maj)))
            self.step = RoundStep.COMMIT
            self._decided_at = self._now
            return True
        return False

    def _try_round_skip(self) -> bool:
        total = self._validators.total_power
        best = -1
        for r in self._votes.rounds():
            if r > self.round and r > best and self._votes.round_power(r) * 3 > total:
                best = r
        if self._far_rounds:
            vals = self._validators.validators
            acc = 0
            for idx, r in sorted(self._far_rounds.items(), key=lambda kv: -kv[1]):
                acc += vals[idx].power
                if acc * 3 > total:
                    best = max(best, r)
                    break
        if best > self.round:
            self._start_round(best)
            return True
        return False


def _height_of(msg: ProposalReceived | VoteReceived) -> int:
    return msg.vote.height if isinstance(msg, VoteReceived) else msg.proposal.height


__all__ = ["NIL", "Signer", "TendermintEngine", "proposal_sign_bytes"]
