"""The network port: what the node sees of the peer-to-peer network (docs/network.md).

Transport-agnostic and typed: no libp2p or multiaddr type crosses this module. Two
implementations pass one conformance suite (tests/p2p/conformance.py): `MemoryNetwork`
(qos_p2p.memory, N nodes in one trio process) and `Libp2pNetwork` (qos_p2p.host).

Errors (one root, peer-caused vs local):

    P2PError
    +-- LocalP2PError            our side: bad use of the port
    |   +-- MessageTooLarge      payload over the kind's limit; refused before sending
    |   +-- NotRunning           the network is not started (or already stopped)
    +-- RemoteP2PError           the other side: unreachable, misbehaving, timed out
        +-- PeerUnavailable      not connected, banned, or no handshake yet
        +-- SyncFailed           a block request failed or the answer broke the limits
        +-- BlockExchangeFailed  an IPFS block request failed or the answer broke the rules

`BlockExchangeFailed` has a local sibling: `UnverifiableCid` (LocalP2PError), a requested
CID we cannot verify a block against (not a sha2-256 CIDv0/CIDv1 dag-pb or raw CID).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NewType, Protocol

import trio

if TYPE_CHECKING:
    # trio_typing's trio-stubs (a libp2p dependency) shadow trio's own annotations and
    # lack trio.TaskStatus: take it from trio_typing, for type checking only.
    from trio_typing import TaskStatus

PeerId = NewType("PeerId", str)
"""A peer's identity: the base58 libp2p peer id (or any unique name in memory)."""


class MessageKind(enum.Enum):
    """Which channel a message travels on."""

    CONSENSUS = "consensus"  # proposals, blocks, votes: direct to validator peers
    TX = "tx"  # transactions: gossiped, or direct among validators (send_txs)
    EVIDENCE = "evidence"  # equivocation evidence: gossiped to everyone


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A validated message for the node.

    `peer` is the peer that delivered it: the direct sender for CONSENSUS, the original
    publisher for gossiped kinds (TX, EVIDENCE).
    """

    peer: PeerId
    kind: MessageKind
    payload: bytes


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A connected peer that passed the status handshake."""

    peer_id: PeerId
    addrs: tuple[str, ...]
    is_validator: bool  # proven (with a ValidatorAuth set), not merely claimed
    score: float
    height: int


@dataclass(frozen=True, slots=True)
class Status:
    """The status handshake: exchanged on every new connection (/qos/status/1.0.0)."""

    chain_id: str
    height: int
    node_id: PeerId
    is_validator: bool  # a claim: it counts only with a proof that verifies (qos_p2p.binding)
    validator_proof: str = ""  # hex public key || signature (qos_p2p.binding); "" = none


@dataclass(frozen=True, slots=True)
class ValidatorProof:
    """A validator's proof that a peer id speaks for its consensus key: an ed25519
    signature by ``public_key`` over ``qos_p2p.binding.statement(chain_id, peer id)``."""

    public_key: bytes  # 32 bytes
    signature: bytes  # 64 bytes


@dataclass(frozen=True, slots=True)
class ValidatorAuth:
    """Set by the node (``Network.set_validator_auth``): who counts as a validator.

    ``prove(statement)``: our proof over the statement the network hands over, or ``None``
    when this node is not in the current validator set (it then claims nothing).
    ``is_validator_key(public_key)``: the key is in the current validator set. Both are
    asked at handshake time (a peer is judged on every status exchange), so they must be
    fast and must not block. Without it, a network trusts claims (tests, demos only).
    """

    prove: Callable[[bytes], ValidatorProof | None]
    is_validator_key: Callable[[bytes], bool]


@dataclass(frozen=True, slots=True)
class Accept:
    """Deliver and relay."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Invalid: neither delivered nor relayed, and counted against the sending peer."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ignore:
    """Not delivered nor relayed, not penalised (for example: a duplicate, a stale round)."""


Verdict = Accept | Reject | Ignore
Validator = Callable[[MessageKind, bytes], Verdict]
"""Set by the node; runs BEFORE a message is delivered or relayed. Must be fast and pure."""

BlockProvider = Callable[[int, int], Awaitable[list[bytes]]]
"""Server side of block sync: `(start, count) -> encoded blocks from start`, at most
`count` of them (fewer at the tip). The network truncates to its byte limit."""


BlockSource = Callable[[bytes], "Awaitable[bytes | None] | bytes | None"]
"""Server side of the IPFS block exchange (/qos/blocks/1.0.0): `cid bytes -> block or None`,
sync or async. The network does not re-verify what the source returns (the node's
blockstore verifies on read); clients verify every block against its CID."""


def accept_all(kind: MessageKind, payload: bytes) -> Verdict:
    """The default validator: accept everything (the node replaces it)."""
    del kind, payload
    return Accept()


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-kind size limits and sync bounds (qos_p2p.limits has the defaults)."""

    max_consensus_bytes: int
    max_gossip_bytes: int
    max_sync_count: int
    max_sync_response_bytes: int
    # IPFS block exchange (/qos/blocks/1.0.0): CIDs per request, bytes per answer, one block.
    max_block_request_count: int = 64
    max_block_response_bytes: int = 4 * 1024 * 1024
    max_block_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class NetworkStats:
    """Counters: every message a bounded queue or a rule dropped is counted here."""

    consensus_sent: int
    consensus_received: int
    consensus_dropped: int  # per-peer outbound queue overflow (engine re-gossips)
    gossip_published: int
    gossip_received: int
    gossip_dropped: int  # inbound overflow (the originator's mempool re-gossips/peers relay)
    inbound_dropped: int  # node did not drain inbound() in time
    rejected: int  # validator said Reject
    ignored: int  # validator said Ignore
    oversize_refused: int  # too large: refused before sending or on receipt
    peers_banned: int
    handshakes_refused: int  # wrong chain id or node id mismatch
    sync_served: int
    reconnects: int
    txs_direct_sent: int = 0  # tx frames written to validator peers' direct tx streams
    txs_direct_received: int = 0
    txs_direct_dropped: int = 0  # tx stream queue overflow (the txs ride in our proposals)
    txs_direct_refused: int = 0  # tx streams refused: the peer (or we) is not a validator
    blocks_served: int = 0  # IPFS blocks sent to peers (/qos/blocks/1.0.0)
    blocks_fetched: int = 0  # IPFS blocks received and verified
    blocks_rejected: int = 0  # IPFS blocks that did not match their CID (peer penalised)
    validator_claims_unproven: int = 0  # claimed validator: no proof, or key not in the set
    validator_proofs_invalid: int = 0  # malformed or forged proofs (peer penalised)
    consensus_refused: int = 0  # consensus streams refused: the peer (or we) is no validator
    txs_dropped: int = 0  # the node runtime's: tx messages over its inbound backlog bound


class P2PError(Exception):
    """Root of qos_p2p errors."""


class LocalP2PError(P2PError):
    """Our side used the port wrongly."""


class MessageTooLarge(LocalP2PError):
    """The payload exceeds the limit for its kind; nothing was sent."""


class NotRunning(LocalP2PError):
    """The network is not running."""


class RemoteP2PError(P2PError):
    """The remote side failed or misbehaved."""


class PeerUnavailable(RemoteP2PError):
    """The peer is not connected (or banned, or has not completed the handshake)."""


class SyncFailed(RemoteP2PError):
    """A block request failed, timed out, or broke the limits."""


class BlockExchangeFailed(RemoteP2PError):
    """An IPFS block request failed, timed out, or the answer broke the protocol."""


class UnverifiableCid(LocalP2PError):
    """A requested CID is not one we can verify a block against (nothing was sent)."""


class Network(Protocol):
    """The node's view of the network. Run it with `await nursery.start(net.run)`."""

    @property
    def peer_id(self) -> PeerId: ...

    @property
    def limits(self) -> Limits: ...

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start, report started, serve until cancelled; then stop gracefully."""
        ...

    def set_validator(self, validator: Validator) -> None: ...

    def set_validator_auth(self, auth: ValidatorAuth) -> None:
        """Bind validator status to proofs: a peer is a validator only when its status
        carries a proof that verifies against ``auth`` (qos_p2p.binding)."""
        ...

    def revalidate_peers(self) -> None:
        """The validator set changed: judge every peer's claim (and ours) again, opening
        or closing validator links, and let the peers judge our new status."""
        ...

    def set_block_provider(self, provider: BlockProvider) -> None: ...

    def set_block_source(self, source: BlockSource) -> None:
        """Serve IPFS blocks to peers from `source` (/qos/blocks/1.0.0)."""
        ...

    async def fetch_blocks(self, peer: PeerId | None, cids: list[bytes]) -> dict[bytes, bytes]:
        """IPFS blocks by binary CID from `peer`, or from connected peers in turn (None).

        Returns the blocks found, keyed by the requested CID bytes, each verified against
        its CID's multihash (a peer answering a wrong block is penalised and the block
        discarded); CIDs absent from the result were not found. Any number of CIDs: they
        are sent in requests of at most `limits.max_block_request_count`.
        Raises UnverifiableCid, NotRunning; with a `peer`: PeerUnavailable,
        BlockExchangeFailed.
        """
        ...

    def set_height(self, height: int) -> None:
        """Our committed height, reported in status handshakes."""
        ...

    async def send_consensus(self, payload: bytes) -> None:
        """Send to every connected validator peer (direct; not relayed)."""
        ...

    async def publish_tx(self, payload: bytes) -> None: ...

    async def send_txs(self, payload: bytes) -> int:
        """Send a TX payload directly to every connected validator peer (not relayed) if
        this node is a validator; returns how many of them it went to over a live link
        (0: nobody, e.g. a full node). The caller gossips it (``publish_tx``) as well when
        that is fewer than the other validators."""
        ...

    async def publish_evidence(self, payload: bytes) -> None: ...

    async def request_blocks(self, peer: PeerId, start: int, count: int) -> list[bytes]:
        """Ask `peer` for up to `count` blocks from `start` (bounded by `limits`)."""
        ...

    def penalise(self, peer: PeerId, reason: str) -> None:
        """Count a delivered message that the node found invalid against `peer` (as a
        rejection by the validator: the peer is banned under the threshold)."""
        ...

    def inbound(self) -> trio.MemoryReceiveChannel[InboundMessage]:
        """Validated inbound messages (one shared channel; clone it for more readers)."""
        ...

    def peers(self) -> list[PeerInfo]: ...

    async def status_of(self, peer: PeerId) -> int:
        """The peer's current height (asked over the status protocol)."""
        ...

    def stats(self) -> NetworkStats: ...


def check_size(kind: MessageKind, payload: bytes, limits: Limits) -> None:
    """Raise MessageTooLarge when the payload is over the limit for its kind."""
    limit = limits.max_consensus_bytes if kind is MessageKind.CONSENSUS else limits.max_gossip_bytes
    if len(payload) > limit:
        raise MessageTooLarge(f"{kind.value} payload of {len(payload)} bytes > limit {limit}")


def clamp_sync_answer(blocks: Sequence[bytes], count: int, limits: Limits) -> list[bytes]:
    """The prefix of `blocks` within the count and byte limits (at least one block)."""
    out: list[bytes] = []
    total = 0
    for block in blocks[: min(count, limits.max_sync_count)]:
        total += len(block)
        if out and total > limits.max_sync_response_bytes:
            break
        out.append(block)
    return out
