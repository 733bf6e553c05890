"""Vote sets: verified votes of one (height, round, type), tallied by voting power.

A :class:`VoteSet` accepts a vote only if it is for its (height, round, type), comes from
a member of the validator set at the index it claims, and its ed25519 signature verifies
over ``sign_bytes(DOMAIN_VOTE, chain_id, canonical_vote(vote))``. Each validator counts
once: a second vote for a *different* block hash (nil is the empty hash) is equivocation
and yields :class:`DuplicateVoteEvidence` (the second vote is not counted); a second vote
for the same block hash (a re-sent or re-timestamped vote) is ignored, as CometBFT does.

The conflicting vote still *certifies* its block: ``power_for(h)`` counts every validator
that signed a vote for ``h``, so a +2/3 for ``h`` that another honest node saw (with the
equivocator's other vote) can be seen here too once gossip delivers it. Without this a
lock formed with a byzantine prevote could never be matched by a proof-of-lock at the
other honest nodes, and the height would stall (found by the simulator; CometBFT reaches
the same through peers' ``VoteSetMaj23`` claims). To bound memory, a conflicting vote is
kept only for a hash someone else already voted for, and at most
``MAX_CONFLICTS_PER_VALIDATOR`` per validator. ``power_seen`` and the "any" thresholds
count each validator once.

:class:`HeightVoteSet` holds the prevotes and precommits of every round of one height, and
:func:`make_commit` turns the precommits of the decided round into a :class:`Commit` that
``qos_chain.validation.verify_commit`` accepts.

Errors: :class:`InvalidVote` (a ``ChainError``; peer-caused: wrong height/round/type,
unknown validator, bad index, bad signature).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from qos_chain import codec
from qos_chain.errors import ChainError
from qos_chain.sign import DOMAIN_VOTE, is_valid, sign_bytes
from qos_chain.types import (
    Commit,
    CommitFlag,
    CommitSig,
    ValidatorSet,
    Vote,
    VoteType,
    canonical_vote,
)

MAX_CONFLICTS_PER_VALIDATOR = 4

Verifier = Callable[[bytes, bytes, bytes], bool]
"""``verify(public_key, message, signature) -> bool`` (default: ed25519 ``is_valid``)."""


class InvalidVote(ChainError):
    """A vote that must not be counted (peer-caused)."""

    code = "invalid_vote"


class _Missing(enum.Enum):
    MISSING = "missing"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
Missing = Literal[_Missing.MISSING]
"""``two_thirds_majority()`` has no +2/3 for any single value yet."""


@codec.register(30)
@dataclass(frozen=True, slots=True)
class DuplicateVoteEvidence:
    """Two signed votes of one validator for the same (height, round, type), different
    block hashes. ``vote_a`` has the smaller block hash, so the evidence is unique."""

    vote_a: Vote
    vote_b: Vote

    @classmethod
    def of(cls, first: Vote, second: Vote) -> DuplicateVoteEvidence:
        if second.block_hash < first.block_hash:
            first, second = second, first
        return cls(first, second)

    @property
    def height(self) -> int:
        return self.vote_a.height

    @property
    def validator(self) -> bytes:
        return self.vote_a.validator


def vote_sign_bytes(chain_id: str, vote: Vote) -> bytes:
    return sign_bytes(DOMAIN_VOTE, chain_id, canonical_vote(vote))


def verify_vote(
    chain_id: str, validators: ValidatorSet, vote: Vote, verify: Verifier = is_valid
) -> None:
    """Raise :class:`InvalidVote` unless ``vote`` is signed by the validator it names."""
    idx = vote.validator_index
    if not 0 <= idx < len(validators.validators):
        raise InvalidVote(f"validator index {idx} is out of range")
    val = validators.validators[idx]
    if val.address != vote.validator:
        raise InvalidVote("validator address does not match its index")
    if not verify(val.public_key, vote_sign_bytes(chain_id, vote), vote.signature):
        raise InvalidVote("vote signature does not verify")


def verify_evidence(
    chain_id: str,
    validators: ValidatorSet,
    evidence: DuplicateVoteEvidence,
    verify: Verifier = is_valid,
) -> None:
    """Raise :class:`InvalidVote` unless ``evidence`` proves an equivocation."""
    a, b = evidence.vote_a, evidence.vote_b
    if (a.type, a.height, a.round, a.validator) != (b.type, b.height, b.round, b.validator):
        raise InvalidVote("evidence votes are not for the same validator and step")
    if a.validator_index != b.validator_index:
        raise InvalidVote("evidence votes disagree on the validator index")
    if not a.block_hash < b.block_hash:
        raise InvalidVote("evidence votes must be for different, ordered block hashes")
    verify_vote(chain_id, validators, a, verify)
    verify_vote(chain_id, validators, b, verify)


@dataclass(frozen=True, slots=True)
class AddResult:
    """Outcome of :meth:`VoteSet.add`: ``added`` if the vote now counts; ``evidence`` if it
    conflicted with an earlier vote of the same validator."""

    added: bool
    evidence: DuplicateVoteEvidence | None = None


_NOT_ADDED = AddResult(False)
_ADDED = AddResult(True)


class VoteSet:
    """The votes of one (height, round, type), by validator index."""

    __slots__ = (
        "_by_hash",
        "_conflicts",
        "_maj23",
        "_total_seen",
        "_verify",
        "chain_id",
        "height",
        "round",
        "type",
        "validators",
        "votes",
    )

    def __init__(
        self,
        chain_id: str,
        height: int,
        round_: int,
        type_: VoteType,
        validators: ValidatorSet,
        *,
        verify: Verifier = is_valid,
    ) -> None:
        self.chain_id = chain_id
        self.height = height
        self.round = round_
        self.type = type_
        self.validators = validators
        self._verify = verify
        self.votes: dict[int, Vote] = {}
        self._by_hash: dict[bytes, int] = {}
        self._conflicts: dict[int, dict[bytes, Vote]] = {}  # index -> hash -> other vote
        self._total_seen = 0
        self._maj23: bytes | Missing = MISSING

    def add(self, vote: Vote, *, verified: bool = False) -> AddResult:
        """Verify and count ``vote``; raise :class:`InvalidVote` if it is not acceptable.

        ``verified=True`` skips the signature check (our own freshly signed vote).
        """
        if (vote.height, vote.round, vote.type) != (self.height, self.round, self.type):
            raise InvalidVote("vote is for another height, round or type")
        if not verified:
            verify_vote(self.chain_id, self.validators, vote, self._verify)
        elif not 0 <= vote.validator_index < len(self.validators.validators):
            raise InvalidVote("validator index is out of range")
        idx = vote.validator_index
        existing = self.votes.get(idx)
        if existing is not None:
            if existing.block_hash == vote.block_hash:
                return _NOT_ADDED
            evidence = DuplicateVoteEvidence.of(existing, vote)
            others = self._conflicts.setdefault(idx, {})
            if (
                vote.block_hash not in others
                and len(others) < MAX_CONFLICTS_PER_VALIDATOR
                and self._by_hash.get(vote.block_hash, 0) > 0
            ):
                others[vote.block_hash] = vote
                self._tally(vote.block_hash, self.validators.validators[idx].power)
            return AddResult(False, evidence)
        self.votes[idx] = vote
        power = self.validators.validators[idx].power
        self._total_seen += power
        self._tally(vote.block_hash, power)
        return _ADDED

    def _tally(self, block_hash: bytes, power: int) -> None:
        tally = self._by_hash.get(block_hash, 0) + power
        self._by_hash[block_hash] = tally
        if self._maj23 is MISSING and tally >= self.validators.quorum():
            self._maj23 = block_hash

    def vote_for(self, index: int, block_hash: bytes) -> Vote | None:
        """Validator ``index``'s vote for ``block_hash``, conflicting ones included."""
        first = self.votes.get(index)
        if first is not None and first.block_hash == block_hash:
            return first
        return self._conflicts.get(index, {}).get(block_hash)

    def has(self, vote: Vote) -> bool:
        """Whether this exact (validator, block hash) vote is already held."""
        first = self.votes.get(vote.validator_index)
        if first is not None and first.block_hash == vote.block_hash:
            return True
        return vote.block_hash in self._conflicts.get(vote.validator_index, {})

    def all_votes(self) -> list[Vote]:
        """Every vote held, conflicting ones included (for gossip), by validator index."""
        out = []
        for i in sorted(self.votes):
            out.append(self.votes[i])
            out.extend(self._conflicts.get(i, {}).values())
        return out

    def power_for(self, block_hash: bytes) -> int:
        """Voting power that voted for ``block_hash`` (``b""`` = nil)."""
        return self._by_hash.get(block_hash, 0)

    def has_two_thirds_for(self, block_hash: bytes) -> bool:
        return self.power_for(block_hash) >= self.validators.quorum()

    def two_thirds_majority(self) -> bytes | Missing | None:
        """The block hash with +2/3 of the power, ``None`` for +2/3 nil, else ``MISSING``."""
        if self._maj23 is MISSING:
            return MISSING
        return self._maj23 or None

    def has_two_thirds_any(self) -> bool:
        """+2/3 of the power voted, for anything (Algorithm 1 lines 34 and 47)."""
        return self._total_seen >= self.validators.quorum()

    def has_one_third_any(self) -> bool:
        """More than 1/3 of the power voted, for anything (f+1: at least one honest)."""
        return self._total_seen * 3 > self.validators.total_power

    @property
    def power_seen(self) -> int:
        return self._total_seen

    def __len__(self) -> int:
        return len(self.votes)

    def __iter__(self) -> Iterator[Vote]:
        return iter(self.votes[i] for i in sorted(self.votes))


class HeightVoteSet:
    """Prevotes and precommits of every round of one height (vote sets made on demand)."""

    __slots__ = ("_sets", "_verify", "_voters", "chain_id", "height", "validators")

    def __init__(
        self, chain_id: str, height: int, validators: ValidatorSet, verify: Verifier = is_valid
    ) -> None:
        self.chain_id = chain_id
        self.height = height
        self.validators = validators
        self._verify = verify
        self._sets: dict[tuple[int, VoteType], VoteSet] = {}
        self._voters: dict[int, set[int]] = {}  # round -> indices with any vote

    def get(self, round_: int, type_: VoteType) -> VoteSet:
        key = (round_, type_)
        vs = self._sets.get(key)
        if vs is None:
            vs = VoteSet(
                self.chain_id, self.height, round_, type_, self.validators, verify=self._verify
            )
            self._sets[key] = vs
        return vs

    def peek(self, round_: int, type_: VoteType) -> VoteSet | None:
        """The vote set if it exists (does not create one)."""
        return self._sets.get((round_, type_))

    def prevotes(self, round_: int) -> VoteSet:
        return self.get(round_, VoteType.PREVOTE)

    def precommits(self, round_: int) -> VoteSet:
        return self.get(round_, VoteType.PRECOMMIT)

    def add(self, vote: Vote, *, verified: bool = False) -> AddResult:
        if vote.height != self.height:
            raise InvalidVote(f"vote is for height {vote.height}, not {self.height}")
        result = self.get(vote.round, vote.type).add(vote, verified=verified)
        if result.added:
            self._voters.setdefault(vote.round, set()).add(vote.validator_index)
        return result

    def round_power(self, round_: int) -> int:
        """Power of the validators with any vote (prevote or precommit) in ``round_``."""
        vals = self.validators.validators
        return sum(vals[i].power for i in self._voters.get(round_, ()))

    def rounds(self) -> list[int]:
        return sorted({r for r, _ in self._sets})


def make_commit(precommits: VoteSet, block_hash: bytes) -> Commit:
    """The commit for ``block_hash`` from the precommits of its round, in validator order.

    Precommits for the block are ``COMMIT`` (an equivocator's conflicting precommit for the
    block included: it counted toward the +2/3), nil precommits ``NIL``; missing validators
    (and precommits for another block, which a commit cannot carry) are ``ABSENT``.
    """
    if precommits.type != VoteType.PRECOMMIT:
        raise ValueError("a commit is made of precommits")
    if not block_hash:
        raise ValueError("cannot commit nil")
    sigs: list[CommitSig] = []
    for i, val in enumerate(precommits.validators.validators):
        vote = precommits.vote_for(i, block_hash) or precommits.vote_for(i, b"")
        if vote is None:
            sigs.append(CommitSig(CommitFlag.ABSENT, b"", 0, b""))
            continue
        flag = CommitFlag.COMMIT if vote.block_hash == block_hash else CommitFlag.NIL
        sigs.append(CommitSig(flag, val.address, vote.time_ns, vote.signature))
    return Commit(precommits.height, precommits.round, block_hash, tuple(sigs))


def commit_votes(commit: Commit) -> list[Vote]:
    """The precommits a commit carries, rebuilt as votes (for catch-up gossip)."""
    out = []
    for i, sig in enumerate(commit.signatures):
        if sig.flag == CommitFlag.ABSENT:
            continue
        block_hash = commit.block_hash if sig.flag == CommitFlag.COMMIT else b""
        out.append(
            Vote(
                VoteType.PRECOMMIT,
                commit.height,
                commit.round,
                block_hash,
                sig.time_ns,
                sig.validator,
                i,
                sig.signature,
            )
        )
    return out


__all__ = [
    "MAX_CONFLICTS_PER_VALIDATOR",
    "MISSING",
    "AddResult",
    "DuplicateVoteEvidence",
    "HeightVoteSet",
    "InvalidVote",
    "Missing",
    "VoteSet",
    "Verifier",
    "commit_votes",
    "make_commit",
    "verify_evidence",
    "verify_vote",
    "vote_sign_bytes",
]
