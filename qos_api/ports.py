"""NodePort: the narrow seam the API talks to a node through (ARCHITECTURE section 2).

The API never sees a ``ChainNode``: it receives a :class:`NodePort` (``create_app(port)``).
``qos_node.port.LocalNodePort`` implements it for a node on the same asyncio loop; a
process-separated node can implement it over RPC later without touching the API.

Contract of every implementation:

* reads return committed data only (a block, its +2/3 commit and its tx results appear
  together, or not at all);
* ``blocks(before_height, limit)`` lists blocks newest first, heights ``< before_height``
  (all heights when ``None``), at most ``limit`` of them;
* ``submit_tx`` never raises for a refused tx: it returns :class:`SubmitRejected` with a
  stable code (the mempool's codes, the app's code names, ``invalid_encoding`` or
  ``internal``); ``submit_txs`` does the same for a batch, one result per tx, in order;
* identity reads (``resolve_did``, ``did_history``, ``identities``, ``did_state``) read
  committed state through :class:`qos_identity.resolver.Resolver`, each call from one
  snapshot; ``resolve_did`` never raises for a bad DID (the W3C error is in the result);
* ``subscribe_blocks`` yields every block committed after the subscription started, in
  height order, and never blocks the node: a subscriber that falls too far behind is
  dropped and its iterator raises :class:`SubscriberTooSlow`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from qos_chain.errors import QosError
from qos_chain.types import Block, Commit, TxResult
from qos_fs.service import FileService
from qos_fs.state import PinRecord
from qos_identity.credentials.reader import CredentialPage, CredentialView
from qos_identity.credentials.state import IssuerRecord, SchemaRecord
from qos_identity.credentials.verify import PresentationReport, VerificationReport
from qos_identity.resolver import IdentityPage, ResolutionResult, VersionInfo
from qos_identity.state import DidState


class SubscriberTooSlow(QosError):
    """The subscriber did not keep up with committed blocks and was disconnected."""

    code = "subscriber_too_slow"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    chain_id: str
    node_id: str
    height: int
    latest_block_hash: bytes
    latest_block_time_ns: int
    app_hash: bytes
    validator_address: str
    mempool_size: int


@dataclass(frozen=True, slots=True)
class BlockInfo:
    block: Block
    commit: Commit | None  # the stored +2/3 commit that finalised this block
    results: tuple[TxResult, ...]  # one per tx, in block order


@dataclass(frozen=True, slots=True)
class TxInfo:
    hash: bytes
    height: int
    index: int
    tx: bytes
    result: TxResult


@dataclass(frozen=True, slots=True)
class AccountInfo:
    address: bytes
    balance: int
    nonce: int


@dataclass(frozen=True, slots=True)
class SubmitAccepted:
    tx_hash: bytes


@dataclass(frozen=True, slots=True)
class SubmitRejected:
    code: str
    message: str


SubmitResult = SubmitAccepted | SubmitRejected

MAX_BATCH_TXS = 1000  # txs in one batch submission (submit_txs, POST /txs, submitTransactions)
MAX_BATCH_BYTES = 512 * 1024  # their total decoded length (base64 in a 1 MiB request body)


@dataclass(frozen=True, slots=True)
class ConsensusStateInfo:
    height: int  # the height being decided
    round: int
    step: str  # new_height | propose | prevote | precommit | commit | solo


@dataclass(frozen=True, slots=True)
class ValidatorInfo:
    address: bytes
    public_key: bytes
    power: int


@dataclass(frozen=True, slots=True)
class PeerView:
    peer_id: str
    addrs: tuple[str, ...]
    is_validator: bool
    score: float
    height: int


@dataclass(frozen=True, slots=True)
class NetworkStatsView:
    """The node's p2p counters (qos_p2p.port.NetworkStats, field for field) and the
    runtime's ``txs_dropped``: every drop, refusal and rejection is counted."""

    consensus_sent: int
    consensus_received: int
    consensus_dropped: int
    gossip_published: int
    gossip_received: int
    gossip_dropped: int
    inbound_dropped: int
    rejected: int
    ignored: int
    oversize_refused: int
    peers_banned: int
    handshakes_refused: int
    sync_served: int
    reconnects: int
    txs_direct_sent: int
    txs_direct_received: int
    txs_direct_dropped: int
    txs_direct_refused: int
    blocks_served: int
    blocks_fetched: int
    blocks_rejected: int
    validator_claims_unproven: int
    validator_proofs_invalid: int
    consensus_refused: int
    txs_dropped: int


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    included_at: int  # the block that included it
    validator: bytes
    height: int  # of the two conflicting votes
    round: int
    vote_type: str
    block_hash_a: bytes
    block_hash_b: bytes
    raw: bytes  # canonical encoding (DuplicateVoteEvidence, codec tag 30)


class NodePort(Protocol):
    async def status(self) -> NodeStatus: ...

    async def block_by_height(self, height: int) -> BlockInfo | None: ...

    async def block_by_hash(self, block_hash: bytes) -> BlockInfo | None: ...

    async def blocks(self, before_height: int | None, limit: int) -> list[BlockInfo]: ...

    async def transaction(self, tx_hash: bytes) -> TxInfo | None: ...

    async def account(self, address: bytes) -> AccountInfo: ...

    async def submit_tx(self, raw: bytes) -> SubmitAccepted | SubmitRejected: ...

    async def submit_txs(self, raws: Sequence[bytes]) -> list[SubmitAccepted | SubmitRejected]:
        """Submit several txs at once, admitted in order (one result per tx, same codes as
        ``submit_tx``), each accepted one durable when this returns. Callers keep a batch
        within ``MAX_BATCH_TXS`` and ``MAX_BATCH_BYTES``."""

    def subscribe_blocks(self) -> AsyncIterator[BlockInfo]: ...

    # identity (did:qos state and did:key, read-only)

    async def resolve_did(
        self, did: str, version_id: str | None, version_time: str | None, accept: str
    ) -> ResolutionResult: ...

    async def did_history(self, did: str) -> list[VersionInfo]: ...

    async def identities(self, controller: str, first: int, after: str | None) -> IdentityPage: ...

    async def did_state(self, did: str) -> DidState | None: ...

    # credentials (qos_identity.credentials state, read-only; each call one snapshot)

    async def credential(self, cid: str) -> CredentialView | None:
        """An anchored credential by id (hex digest); ``None`` if not anchored."""

    async def credentials(
        self,
        *,
        subject: str | None,
        issuer: str | None,
        schema: str | None,
        type: str | None,
        status: str | None,
        valid_at: int | None,
        first: int,
        after: str | None,
        order_by: str,
    ) -> CredentialPage:
        """A Relay page of anchored credentials (``CredentialReader.credentials``);
        ``ValueError`` for a malformed cursor, status or order."""

    async def credentials_at(self, issuer: str, indexes: Sequence[int]) -> list[CredentialView]:
        """The anchored credentials holding these status indexes of ``issuer``."""

    async def credential_schema(self, schema_id: str) -> SchemaRecord | None: ...

    async def credential_issuer(self, did: str) -> IssuerRecord:
        """Next status index, status sequence and anchored count (zeros if unknown)."""

    async def status_list(
        self, base_url: str, issuer: str, purpose: str, list_id: int
    ) -> dict[str, Any] | None:
        """The Bitstring Status List credential of one list; ``None`` if the issuer has
        no such list (no index assigned in it)."""

    async def verify_credential(self, credential: Any) -> VerificationReport:
        """Every check of ``verify.verify_credential`` at the node's clock."""

    async def verify_presentation(
        self, presentation: Any, challenge: str, domain: str
    ) -> PresentationReport: ...

    async def consensus_state(self) -> ConsensusStateInfo: ...

    async def validators(self) -> list[ValidatorInfo]: ...

    async def peers(self) -> list[PeerView]: ...

    async def network_stats(self) -> NetworkStatsView | None:
        """The p2p counters; ``None`` when the node runs without a network."""

    async def evidence(self, limit: int) -> list[EvidenceInfo]: ...

    # files (qos_fs): on-chain pin records, DID keys for signed requests, the file service

    def file_service(self) -> FileService | None:
        """The node's local file service (uploads, local pins, tokens, blocks); ``None``
        when this node serves no files. Its methods block: call them off the loop."""

    async def chain_pins(
        self,
        owner: str | None,
        cid: bytes | None,
        after: bytes | None,
        limit: int,
        name: str | None = None,
    ) -> list[tuple[bytes, PinRecord]]:
        """Committed on-chain pins ``(record key, record)`` in key order, after ``after``;
        a non-empty ``name`` (without ``cid``) reads only that name's records through the
        on-chain name indexes (``qos_fs.state.pins_page``)."""

    async def did_invocation_keys(self, did: str) -> dict[str, bytes] | None:
        """The ed25519 capabilityInvocation keys of an active DID (method id -> key)."""
