"""Chain value types: frozen, slotted, canonically encoded (``qos_chain.codec``).

Hashes are SHA-256 over the canonical top-level encoding. Times are integer nanoseconds
since the Unix epoch (UTC); heights start at 1. Header semantics follow CometBFT: the
header of block H carries ``app_hash`` and ``last_results_hash`` produced by executing
block H-1, and ``last_commit_hash`` of the +2/3 precommits for block H-1 it includes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from qos_chain import codec
from qos_chain.address import Address, address_from_public_key
from qos_chain.merkle import merkle_root

Hash = NewType("Hash", bytes)
"""32-byte SHA-256 digest."""

EMPTY_HASH = Hash(b"")
HASH_LEN = 32
PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64


def sha256(data: bytes) -> Hash:
    return Hash(hashlib.sha256(data).digest())


@codec.register(1)
@dataclass(frozen=True, slots=True)
class Validator:
    public_key: bytes
    power: int

    def __post_init__(self) -> None:
        if len(self.public_key) != PUBLIC_KEY_LEN:
            raise ValueError("validator public key must be 32 bytes")
        if self.power <= 0:
            raise ValueError("validator power must be positive")

    @property
    def address(self) -> Address:
        return address_from_public_key(self.public_key)


@codec.register(2)
@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """Validators sorted by address (the canonical order used for commit signatures)."""

    validators: tuple[Validator, ...]

    def __post_init__(self) -> None:
        addrs = [v.address for v in self.validators]
        if addrs != sorted(addrs) or len(set(addrs)) != len(addrs):
            raise ValueError("validators must be sorted by address and unique")

    @classmethod
    def of(cls, validators: list[Validator] | tuple[Validator, ...]) -> ValidatorSet:
        return cls(tuple(sorted(validators, key=lambda v: v.address)))

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)

    def hash(self) -> Hash:
        return Hash(merkle_root([codec.encode(v) for v in self.validators]))

    def index_of(self, address: bytes) -> int | None:
        for i, v in enumerate(self.validators):
            if v.address == address:
                return i
        return None

    def quorum(self) -> int:
        """Smallest voting power strictly greater than 2/3 of the total."""
        return self.total_power * 2 // 3 + 1


@codec.register(3)
@dataclass(frozen=True, slots=True)
class Header:
    chain_id: str
    height: int
    time_ns: int
    proposer: bytes
    parent_hash: bytes
    last_commit_hash: bytes
    tx_root: bytes
    evidence_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    app_hash: bytes
    last_results_hash: bytes

    def hash(self) -> Hash:
        return sha256(codec.encode(self))


class CommitFlag(IntEnum):
    ABSENT = 0
    COMMIT = 1
    NIL = 2


@codec.register(4)
@dataclass(frozen=True, slots=True)
class CommitSig:
    """One validator's precommit, in validator-set order; ``ABSENT`` carries no signature."""

    flag: CommitFlag
    validator: bytes
    time_ns: int
    signature: bytes


@codec.register(5)
@dataclass(frozen=True, slots=True)
class Commit:
    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSig, ...]

    def hash(self) -> Hash:
        return Hash(merkle_root([codec.encode(s) for s in self.signatures]))


@codec.register(6)
@dataclass(frozen=True, slots=True)
class Block:
    header: Header
    txs: tuple[bytes, ...]
    evidence: tuple[bytes, ...]
    last_commit: Commit | None

    def hash(self) -> Hash:
        return self.header.hash()


class VoteType(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


@codec.register(7)
@dataclass(frozen=True, slots=True)
class Vote:
    type: VoteType
    height: int
    round: int
    block_hash: bytes  # empty = nil
    time_ns: int
    validator: bytes
    validator_index: int
    signature: bytes


@codec.register(8)
@dataclass(frozen=True, slots=True)
class CanonicalVote:
    """What a vote signature covers (the validator is implied by the key)."""

    type: VoteType
    height: int
    round: int
    block_hash: bytes
    time_ns: int


@codec.register(9)
@dataclass(frozen=True, slots=True)
class Proposal:
    height: int
    round: int
    pol_round: int | None
    block_hash: bytes
    time_ns: int
    signature: bytes


@codec.register(10)
@dataclass(frozen=True, slots=True)
class CanonicalProposal:
    height: int
    round: int
    pol_round: int | None
    block_hash: bytes
    time_ns: int


@codec.register(11)
@dataclass(frozen=True, slots=True)
class TxResult:
    """Outcome of executing one tx in a block (``code`` 0 = success)."""

    code: int
    codespace: str
    log: str
    gas_used: int
    events: tuple[Event, ...]

    @property
    def ok(self) -> bool:
        return self.code == 0


@codec.register(12)
@dataclass(frozen=True, slots=True)
class Event:
    type: str
    attributes: tuple[EventAttribute, ...]


@codec.register(13)
@dataclass(frozen=True, slots=True)
class EventAttribute:
    key: str
    value: str


def tx_hash(tx: bytes) -> Hash:
    return sha256(tx)


def canonical_vote(vote: Vote) -> CanonicalVote:
    return CanonicalVote(vote.type, vote.height, vote.round, vote.block_hash, vote.time_ns)


def canonical_proposal(p: Proposal) -> CanonicalProposal:
    return CanonicalProposal(p.height, p.round, p.pol_round, p.block_hash, p.time_ns)
