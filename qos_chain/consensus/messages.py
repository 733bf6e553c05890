"""Events into and effects out of :class:`~qos_chain.consensus.engine.TendermintEngine`.

Values only. The node (or a simulator) turns effects into I/O: broadcasts go to the gossip
layer, ``ScheduleTimeout`` becomes a timer that comes back as ``TimeoutFired``,
``RequestProposalBlock`` is answered with ``ProposalBlockReady``, ``Decide`` is applied
through the block executor, followed by ``StartHeight`` for the next height.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from qos_chain.consensus.proposer import ProposerState
from qos_chain.consensus.votes import DuplicateVoteEvidence
from qos_chain.types import Block, Commit, Proposal, ValidatorSet, Vote


class RoundStep(IntEnum):
    """Where the engine is within a height (Algorithm 1 ``step_p``, plus the waits)."""

    NEW_HEIGHT = 0  # waiting for the commit timeout before round 0 (``TimeoutFired`` step)
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    COMMIT = 4  # decided; waiting for ``StartHeight`` of the next height


@dataclass(frozen=True, slots=True)
class RoundState:
    height: int
    round: int
    step: RoundStep


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StartHeight:
    """Begin ``height`` with its validator set and proposer priorities (round 0 base)."""

    height: int
    validators: ValidatorSet
    proposers: ProposerState
    commit_wait_ns: int | None = None  # None: config.commit_ns; shorter when txs are waiting


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    proposal: Proposal
    block: Block


@dataclass(frozen=True, slots=True)
class VoteReceived:
    vote: Vote


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    height: int
    round: int
    step: RoundStep


@dataclass(frozen=True, slots=True)
class ProposalBlockReady:
    """The node's answer to ``RequestProposalBlock``."""

    height: int
    round: int
    block: Block


@dataclass(frozen=True, slots=True)
class CommitReceived:
    """A block with its commit (+2/3 precommits) for our height, e.g. from a peer that
    is ahead. Decided if the commit verifies and the block is valid: the certificate
    stands on its own even when our vote set holds a byzantine validator's other vote."""

    block: Block
    commit: Commit


Event = (
    StartHeight
    | ProposalReceived
    | VoteReceived
    | TimeoutFired
    | ProposalBlockReady
    | CommitReceived
)


# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class BroadcastProposal:
    proposal: Proposal
    block: Block


@dataclass(frozen=True, slots=True)
class BroadcastVote:
    vote: Vote


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    height: int
    round: int
    step: RoundStep
    at_ns: int


@dataclass(frozen=True, slots=True)
class RequestProposalBlock:
    """We are the proposer of (height, round) and have no valid value: build a block."""

    height: int
    round: int


@dataclass(frozen=True, slots=True)
class Decide:
    height: int
    round: int
    block: Block
    commit: Commit


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    evidence: DuplicateVoteEvidence


Effect = (
    BroadcastProposal
    | BroadcastVote
    | ScheduleTimeout
    | RequestProposalBlock
    | Decide
    | ReportEvidence
)

__all__ = [
    "BroadcastProposal",
    "BroadcastVote",
    "CommitReceived",
    "Decide",
    "Effect",
    "Event",
    "ProposalBlockReady",
    "ProposalReceived",
    "ReportEvidence",
    "RequestProposalBlock",
    "RoundState",
    "RoundStep",
    "ScheduleTimeout",
    "StartHeight",
    "TimeoutFired",
    "VoteReceived",
]
