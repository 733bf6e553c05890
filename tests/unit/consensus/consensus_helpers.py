"""Validator stubs for driving one real TendermintEngine in unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from qos_chain.consensus.engine import TendermintEngine
from qos_chain.consensus.messages import (
    BroadcastProposal,
    BroadcastVote,
    Effect,
    Event,
    ProposalReceived,
    ScheduleTimeout,
    StartHeight,
    VoteReceived,
)
from qos_chain.consensus.proposer import ProposerState, proposer
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.testing.signer import MemorySigner, seed_for
from qos_chain.types import Block, Header, Proposal, ValidatorSet, Vote, VoteType

CHAIN = "qos-test"
S = 1_000_000_000


def signers(n: int = 4) -> list[MemorySigner]:
    return [MemorySigner(seed_for("unit", i)) for i in range(n)]


def make_block(height: int, tag: bytes) -> Block:
    header = Header(
        CHAIN,
        height,
        1_000 + height,
        tag.ljust(20, b"\0")[:20],
        b"",
        b"",
        tag,
        b"",
        b"",
        b"",
        b"",
        b"",
    )
    return Block(header, (tag,), (), None)


@dataclass
class Rig:
    """One engine under test (validator ``me``) plus stubs for the other validators."""

    me: int = 0
    n: int = 4
    invalid: set[bytes] = field(default_factory=set)
    now: int = 0

    def __post_init__(self) -> None:
        self.signers = signers(self.n)
        self.valset = ValidatorSet.of([s.validator(10) for s in self.signers])
        # order signers like the validator set, so index i is validator i
        by_addr = {s.address: s for s in self.signers}
        self.signers = [by_addr[v.address] for v in self.valset.validators]
        self.engine = TendermintEngine(
            CHAIN,
            signer=self.signers[self.me],
            validate_block=lambda b: b.hash() not in self.invalid,
            config=TimeoutConfig(),
        )

    def base(self, height: int = 1) -> ProposerState:
        return ProposerState.initial(self.valset, height)

    def proposer_index(self, round_: int, height: int = 1) -> int:
        addr = proposer(self.base(height), height, round_).address
        idx = self.valset.index_of(addr)
        assert idx is not None
        return idx

    def start(self, height: int = 1) -> list[Effect]:
        return self.send(StartHeight(height, self.valset, self.base(height)))

    def send(self, event: Event) -> list[Effect]:
        return self.engine.handle(event, self.now)

    def vote(self, i: int, t: VoteType, r: int, block_hash: bytes, height: int = 1) -> Vote:
        v = Vote(t, height, r, block_hash, self.now, self.signers[i].address, i, b"")
        return self.signers[i].sign_vote_unguarded(CHAIN, v)

    def votes(
        self, who: list[int], t: VoteType, r: int, block_hash: bytes, height: int = 1
    ) -> list[Effect]:
        out: list[Effect] = []
        for i in who:
            out += self.send(VoteReceived(self.vote(i, t, r, block_hash, height)))
        return out

    def proposal(
        self, r: int, block: Block, pol_round: int | None = None, height: int = 1
    ) -> ProposalReceived:
        i = self.proposer_index(r, height)
        p = Proposal(height, r, pol_round, block.hash(), self.now, b"")
        return ProposalReceived(self.signers[i].sign_proposal_unguarded(CHAIN, p), block)

    def others(self) -> list[int]:
        return [i for i in range(self.n) if i != self.me]


def sent_votes(effects: list[Effect]) -> list[Vote]:
    return [e.vote for e in effects if isinstance(e, BroadcastVote)]


def sent_proposals(effects: list[Effect]) -> list[Proposal]:
    return [e.proposal for e in effects if isinstance(e, BroadcastProposal)]


def timeouts(effects: list[Effect]) -> list[ScheduleTimeout]:
    return [e for e in effects if isinstance(e, ScheduleTimeout)]


def non_proposer_rig(rounds: int = 1) -> Rig:
    """A rig whose validator is not the proposer of rounds ``0..rounds-1``."""
    probe = Rig()
    busy = {probe.proposer_index(r) for r in range(rounds)}
    me = next(i for i in range(probe.n) if i not in busy)
    return Rig(me=me)
