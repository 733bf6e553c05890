"""GraphQL types for consensus: validators, the round state, peers and evidence."""

from __future__ import annotations

import strawberry

from qos_api.ports import ConsensusStateInfo, EvidenceInfo, PeerView, ValidatorInfo
from qos_chain.address import Address, address_to_text


@strawberry.type(name="Validator", description="A validator of the next block.")
class ValidatorView:
    address: str
    public_key: str = strawberry.field(description="Hex ed25519 public key.")
    voting_power: int

    @classmethod
    def of(cls, v: ValidatorInfo) -> ValidatorView:
        return cls(
            address=address_to_text(Address(v.address)),
            public_key=v.public_key.hex(),
            voting_power=v.power,
        )


@strawberry.type(name="ConsensusState", description="Where this node's consensus is.")
class ConsensusStateView:
    height: int = strawberry.field(description="The height being decided.")
    round: int
    step: str = strawberry.field(
        description="new_height, propose, prevote, precommit, commit, or solo (one validator)."
    )

    @classmethod
    def of(cls, s: ConsensusStateInfo) -> ConsensusStateView:
        return cls(height=s.height, round=s.round, step=s.step)


@strawberry.type(name="Peer", description="A connected peer that passed the status handshake.")
class PeerType:
    peer_id: str
    addrs: list[str]
    is_validator: bool
    score: float
    height: int

    @classmethod
    def of(cls, p: PeerView) -> PeerType:
        return cls(
            peer_id=p.peer_id,
            addrs=list(p.addrs),
            is_validator=p.is_validator,
            score=p.score,
            height=p.height,
        )


@strawberry.type(name="Evidence", description="Two conflicting signed votes of one validator.")
class EvidenceView:
    included_at: int = strawberry.field(description="Height of the block that includes it.")
    validator: str
    height: int = strawberry.field(description="Height of the conflicting votes.")
    round: int
    vote_type: str
    block_hash_a: str
    block_hash_b: str
    raw: str = strawberry.field(description="Hex canonical encoding (codec tag 30).")

    @classmethod
    def of(cls, e: EvidenceInfo) -> EvidenceView:
        return cls(
            included_at=e.included_at,
            validator=address_to_text(Address(e.validator)),
            height=e.height,
            round=e.round,
            vote_type=e.vote_type,
            block_hash_a=e.block_hash_a.hex(),
            block_hash_b=e.block_hash_b.hex(),
            raw=e.raw.hex(),
        )
