"""The GraphQL schema: thin resolvers over the :class:`~qos_api.ports.NodePort`.

Resolvers reach the port through the request context (``ApiContext``); the schema itself
is a module-level value, so ``python -m qos_api.sdl`` can print it without a node.
Hardening: depth, alias and token limits; resolver exceptions other than ``ApiError``
are masked as "Unexpected error." (and logged by strawberry).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from qos_api.consensus import (
    ConsensusStateView,
    EvidenceView,
    NetworkStatsType,
    PeerType,
    ValidatorView,
)
from qos_api.context import ApiContext, Info
from qos_api.credentials import CredentialMutation, CredentialQuery, CredentialSubscription
from qos_api.errors import ApiError, should_mask_error
from qos_api.files import (
    File,
    PinConnection,
    PinEvent,
    PinState,
    file_view,
    files_tx_problem,
    watch_pins,
)
from qos_api.files import list_pins as list_file_pins
from qos_api.identity import (
    DidResolutionResult,
    Identity,
    IdentityConnection,
    IdentityEvent,
    identity_tx_problem,
    list_identities,
    resolve_identity,
    watch_identity,
)
from qos_api.pagination import DEFAULT_FIRST, MAX_FIRST, check_first, decode_cursor, encode_cursor
from qos_api.ports import NodePort, SubscriberTooSlow
from qos_api.submit import submit_signed, submit_signed_many
from qos_api.types import (
    Account,
    AccountResult,
    Block,
    BlockConnection,
    BlockEdge,
    InvalidInput,
    NodeStatusView,
    PageInfo,
    SubmitTransactionResult,
    Transaction,
    field,
    mutation,
    subscription,
)
from qos_api.validation_cache import CachedValidation
from qos_chain.address import address_from_text
from qos_chain.errors import InvalidAddress
from qos_identity.resolver import DID_LD_JSON

__all__ = ["ApiContext", "Info", "schema"]

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
_HASH_HEX = re.compile(r"^(?:0x)?([0-9a-fA-F]{64})$")

SUBMIT_DESCRIPTION = """Submit a signed transaction.

`signedTx` is the standard base64 (RFC 4648 section 4, padded, no whitespace) of the
canonical tx bytes. Returns `TransactionAccepted` once the tx passed CheckTx and is durably
in the mempool (it is committed in a later block: poll `transaction(hash)` or subscribe to
`newBlocks`), or `TransactionRejected` with one of these codes:

* encoding: `invalid_encoding` (not base64);
* mempool: `tx_too_large`, `tx_already_in_mempool`, `mempool_full`, `sender_limit`,
  `nonce_already_pending`, `nonce_too_low`, `nonce_gap`;
* application (CheckTx): `malformed_tx`, `wrong_chain_id`, `missing_signature`,
  `unexpected_signature`, `invalid_signature`, `signer_mismatch`, `no_messages`,
  `too_many_messages`, `unknown_message_type`, `invalid_message`, `memo_too_long`,
  `tx_too_large`, `nonce_too_low` (replay of a used nonce), `nonce_too_high`,
  `insufficient_fee_funds`, `invalid_amount`;
* `internal` (a node fault; nothing was stored)."""

SUBMIT_MANY_DESCRIPTION = """Submit up to 1,000 signed transactions (at most 512 KiB of txs).

The batch reaches the node in one call and its accepted txs are made durable in one write;
txs are admitted in order, so one sender's consecutive nonces may share a batch. Returns
one result per entry, in order, exactly as `submitTransaction` would (an entry that is not
base64 is `TransactionRejected` with `invalid_encoding`; the others are still submitted).
A larger batch is a GraphQL error with `extensions.code = "batch_too_large"`."""

SUBMIT_DID_DESCRIPTION = """Submit a signed transaction that carries did:qos operations only
(`qos.identity.v1.*` messages, or a `MsgDidBatch`).

Every operation is signed by the client (`qos_identity.client`, `qos did ...`) and the
tx by the submitting account: the node never needs a user's private key. Same encoding and
result as `submitTransaction`, plus the code `not_identity_operation` for a tx carrying
other messages (and `malformed_tx` if it does not decode). Per-operation outcomes are the
`did_operation` events of the committed tx (`transaction(hash) { events }`) and the
`identityEvents` subscription."""


def _port(info: Info) -> NodePort:
    return info.context.port


def parse_hash(text: str, what: str) -> bytes:
    m = _HASH_HEX.match(text)
    if m is None:
        raise ApiError(f"{what} must be 64 hex characters (a SHA-256 hash), got {text!r:.80}")
    return bytes.fromhex(m.group(1))


@strawberry.type
class Query(CredentialQuery):
    @field("The node's chain head and mempool size.")
    async def status(self, info: Info) -> NodeStatusView:
        return NodeStatusView.of(await _port(info).status())

    @field("Validators of the next block, in canonical (address) order.")
    async def validators(self, info: Info) -> list[ValidatorView]:
        return [ValidatorView.of(v) for v in await _port(info).validators()]

    @field("This node's consensus position: height being decided, round and step.")
    async def consensus_state(self, info: Info) -> ConsensusStateView:
        return ConsensusStateView.of(await _port(info).consensus_state())

    @field("Connected peers (status handshake done), with their reported heights.")
    async def peers(self, info: Info) -> list[PeerType]:
        return [PeerType.of(p) for p in await _port(info).peers()]

    @field("This node's p2p counters (null when it runs without a network).")
    async def network_stats(self, info: Info) -> NetworkStatsType | None:
        stats = await _port(info).network_stats()
        return None if stats is None else NetworkStatsType.of(stats)

    @field("Committed equivocation evidence, newest first (at most 100).")
    async def evidence(self, info: Info, first: int = 20) -> list[EvidenceView]:
        if not 0 <= first <= MAX_FIRST:
            raise ApiError(f"evidence: first must be 0..{MAX_FIRST}")
        return [EvidenceView.of(e) for e in await _port(info).evidence(first)]

    @field(
        "A committed block by `height` or by hex `hash` (exactly one); "
        "null if there is no such block."
    )
    async def block(
        self, info: Info, height: int | None = None, hash: str | None = None
    ) -> Block | None:
        if (height is None) == (hash is None):
            raise ApiError("block: pass exactly one of `height` or `hash`")
        port = _port(info)
        if height is not None:
            if height < 1:
                raise ApiError(f"block: height must be at least 1, got {height}")
            found = await port.block_by_height(height)
        else:
            assert hash is not None
            found = await port.block_by_hash(parse_hash(hash, "block hash"))
        return None if found is None else Block.of(found)

    @field(
        f"Committed blocks, newest first (Relay connection). `first` is "
        f"0..{MAX_FIRST}; `after` is a cursor from a previous page."
    )
    async def blocks(
        self, info: Info, first: int | None = DEFAULT_FIRST, after: str | None = None
    ) -> BlockConnection:
        n = check_first(DEFAULT_FIRST if first is None else first)
        before = None if after is None else decode_cursor(after)
        infos = await _port(info).blocks(before, n + 1)
        page = infos[:n]
        edges = [
            BlockEdge(cursor=encode_cursor(b.block.header.height), node=Block.of(b)) for b in page
        ]
        return BlockConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(infos) > n,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @field("A committed transaction by hex hash; null if unknown.")
    async def transaction(self, info: Info, hash: str) -> Transaction | None:
        found = await _port(info).transaction(parse_hash(hash, "transaction hash"))
        return None if found is None else Transaction.of_info(found)

    @field(
        "An account's committed balance and nonce (zero for unknown accounts), "
        "or InvalidInput{code: invalid_address} for a malformed qos1 address."
    )
    async def account(self, info: Info, address: str) -> AccountResult:
        try:
            addr = address_from_text(address)
        except InvalidAddress as exc:
            return InvalidInput(code=exc.code, message=exc.message)
        return Account.of(await _port(info).account(addr))

    @field(
        "Resolve a DID (did:qos from chain state, did:key locally) to a W3C DID Resolution "
        "result, optionally at a version (`versionId`, or `versionTime` as an RFC 3339 "
        "time with zone). Resolution errors are data: `didResolutionMetadata.error` is "
        "invalidDid, notFound, methodNotSupported or invalidOptions."
    )
    async def resolve_did(
        self,
        info: Info,
        did: str,
        version_id: str | None = None,
        version_time: str | None = None,
    ) -> DidResolutionResult:
        r = await _port(info).resolve_did(did, version_id, version_time, DID_LD_JSON)
        return DidResolutionResult.of(r)

    @field(
        "An identity (did:qos or did:key) with its document, metadata, controllers and "
        "history; null if the DID is not registered. A malformed DID is an error with "
        "code invalidDid; another method, methodNotSupported."
    )
    async def identity(self, info: Info, did: str) -> Identity | None:
        return await resolve_identity(_port(info), info, did)

    @field(
        f"DIDs controlled by `controller` (a controller DID, or the did:key of an ed25519 "
        f"capabilityInvocation key), ordered by DID (Relay connection). `first` is "
        f"0..{MAX_FIRST}; `after` is a cursor from a previous page."
    )
    async def identities(
        self,
        info: Info,
        controller: str,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> IdentityConnection:
        n = DEFAULT_FIRST if first is None else first
        return await list_identities(_port(info), info, controller, n, after)

    @field(
        f"Pins, on-chain records first (ordered by owner, then CID; status = this node's "
        f"progress, QUEUED if it has none) then this node's local pins (newest first). "
        f"Filters combine with AND. `first` is 0..{MAX_FIRST}."
    )
    async def pins(  # noqa: PLR0917 - GraphQL arguments
        self,
        info: Info,
        owner: str | None = None,
        cid: str | None = None,
        status: PinState | None = None,
        name: str | None = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> PinConnection:
        n = DEFAULT_FIRST if first is None else first
        return await list_file_pins(
            _port(info), owner=owner, cid=cid, status=status, name=name, first=n, after=after
        )

    @field("A CID as this node sees it: stored or not, size, on-chain and local pins.")
    async def file(self, info: Info, cid: str) -> File:
        return await file_view(_port(info), cid)


@strawberry.type
class Mutation(CredentialMutation):
    @mutation(SUBMIT_DESCRIPTION)
    async def submit_transaction(self, info: Info, signed_tx: str) -> SubmitTransactionResult:
        return await submit_signed(info, signed_tx)

    @mutation(SUBMIT_MANY_DESCRIPTION)
    async def submit_transactions(
        self, info: Info, signed_txs: list[str]
    ) -> list[SubmitTransactionResult]:
        return await submit_signed_many(info, signed_txs)

    @mutation(SUBMIT_DID_DESCRIPTION)
    async def submit_did_operation(self, info: Info, signed_tx: str) -> SubmitTransactionResult:
        return await submit_signed(info, signed_tx, identity_tx_problem)

    @mutation(
        "Submit a tx carrying qos.files.v1.* messages only (MsgPin, MsgUnpin, "
        "MsgAnchorSnapshot), each signed by its owner DID (qos_fs.client). Same encoding and "
        "result as submitTransaction, plus the code not_files_message."
    )
    async def pin_cid(self, info: Info, signed_tx: str) -> SubmitTransactionResult:
        return await submit_signed(info, signed_tx, files_tx_problem)


@strawberry.type
class Subscription(CredentialSubscription):
    @subscription(
        "Every block committed after subscribing, in height order. A subscriber "
        "that falls far behind receives an error with code subscriber_too_slow; resume "
        "with the blocks query."
    )
    async def new_blocks(self, info: Info) -> AsyncGenerator[Block, None]:
        stream = _port(info).subscribe_blocks()
        try:
            async for b in stream:
                yield Block.of(b)
        except SubscriberTooSlow as exc:
            raise ApiError(exc.message, code=exc.code) from exc
        finally:  # release the port's subscriber slot now, not at garbage collection
            if isinstance(stream, AsyncGenerator):
                await stream.aclose()

    @subscription(
        "Applied operations on a did:qos DID, from blocks committed after subscribing: "
        "created, updated, key rotated, recovered, deactivated, identifiers linked (with "
        "the new versionId and the block height). Refused operations emit nothing. "
        "A malformed DID is an error with code invalidDid."
    )
    async def identity_events(self, info: Info, did: str) -> AsyncGenerator[IdentityEvent, None]:
        try:
            async for ev in watch_identity(_port(info), did):
                yield ev
        except SubscriberTooSlow as exc:
            raise ApiError(exc.message, code=exc.code) from exc

    @subscription(
        "Committed files events of an owner DID (pin created / removed, snapshot anchored), "
        "from blocks committed after subscribing."
    )
    async def pin_events(self, info: Info, owner: str) -> AsyncGenerator[PinEvent, None]:
        try:
            async for ev in watch_pins(_port(info), owner):
                yield ev
        except SubscriberTooSlow as exc:
            raise ApiError(exc.message, code=exc.code) from exc


class QosSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only our own faults (the ones masked for clients), not client mistakes."""
        unexpected = [e for e in errors if should_mask_error(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = QosSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaskErrors(should_mask_error=should_mask_error),
        CachedValidation,  # after the limiters: their rules are part of what is cached
    ],
)
