"""GraphQL types for consensus: validators, the round state, peers and evidence."""

from __future__ import annotations

import strawberry

from qos_api.ports import (
    ConsensusStateInfo,
    EvidenceInfo,
    NetworkStatsView,
    PeerView,
    ValidatorInfo,
)
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
    is_validator: bool = strawberry.field(
        description="Proven: its status carried a signature by a key of the current "
        "validator set over its peer id (a bare claim does not count)."
    )
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


@strawberry.type(
    name="NetworkStats",
    description="This node's p2p counters: every message a bounded queue or a rule dropped, "
    "refused or rejected is counted here.",
)
class NetworkStatsType:
    consensus_sent: int
    consensus_received: int
    consensus_dropped: int = strawberry.field(
        description="Per-peer outbound queue overflow (the engine re-gossips)."
    )
    gossip_published: int
    gossip_received: int
    gossip_dropped: int = strawberry.field(description="Inbound gossip overflow.")
    inbound_dropped: int = strawberry.field(description="The node did not drain in time.")
    rejected: int = strawberry.field(description="Invalid messages, counted against peers.")
    ignored: int
    oversize_refused: int
    peers_banned: int
    handshakes_refused: int = strawberry.field(description="Wrong chain id or node id.")
    sync_served: int
    reconnects: int
    txs_direct_sent: int
    txs_direct_received: int
    txs_direct_dropped: int
    txs_direct_refused: int = strawberry.field(
        description="Direct tx streams refused: the peer (or this node) is no proven validator."
    )
    blocks_served: int
    blocks_fetched: int
    blocks_rejected: int
    validator_claims_unproven: int = strawberry.field(
        description="Peers claiming validator without a proof, or with a key outside the "
        "current validator set: treated as full nodes."
    )
    validator_proofs_invalid: int = strawberry.field(
        description="Malformed or forged validator proofs (the peer is penalised)."
    )
    consensus_refused: int = strawberry.field(
        description="Consensus streams refused: the peer (or this node) is no proven validator."
    )
    txs_dropped: int = strawberry.field(
        description="Tx messages the node dropped: its inbound tx backlog was over 64 MiB "
        "(their txs stay in the sender's mempool and arrive in its proposals)."
    )

    @classmethod
    def of(cls, s: NetworkStatsView) -> NetworkStatsType:
        return cls(**{name: getattr(s, name) for name in NetworkStatsView.__dataclass_fields__})


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
