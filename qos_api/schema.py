"""The GraphQL schema: thin resolvers over the :class:`~qos_api.ports.NodePort`.

Resolvers reach the port through the request context (``ApiContext``); the schema itself
is a module-level value, so ``python -m qos_api.sdl`` can print it without a node.
Hardening: depth, alias and token limits; resolver exceptions other than ``ApiError``
are masked as "Unexpected error." (and logged by strawberry).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from qos_api.errors import ApiError, should_mask_error
from qos_api.pagination import DEFAULT_FIRST, MAX_FIRST, check_first, decode_cursor, encode_cursor
from qos_api.ports import NodePort, SubmitAccepted, SubscriberTooSlow
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
    TransactionAccepted,
    TransactionRejected,
    field,
    mutation,
    subscription,
)
from qos_chain.address import address_from_text
from qos_chain.errors import InvalidAddress

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


@dataclass(slots=True)
class ApiContext:
    port: NodePort
    request: Any = None
    response: Any = None


Info = strawberry.Info[ApiContext, None]


def _port(info: Info) -> NodePort:
    return info.context.port


def parse_hash(text: str, what: str) -> bytes:
    m = _HASH_HEX.match(text)
    if m is None:
        raise ApiError(f"{what} must be 64 hex characters (a SHA-256 hash), got {text!r:.80}")
    return bytes.fromhex(m.group(1))


@strawberry.type
class Query:
    @field("The node's chain head and mempool size.")
    async def status(self, info: Info) -> NodeStatusView:
        return NodeStatusView.of(await _port(info).status())

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


@strawberry.type
class Mutation:
    @mutation(SUBMIT_DESCRIPTION)
    async def submit_transaction(self, info: Info, signed_tx: str) -> SubmitTransactionResult:
        try:
            raw = base64.b64decode(signed_tx, validate=True)
        except (binascii.Error, ValueError):
            return TransactionRejected(
                code="invalid_encoding", message="signedTx is not valid standard base64"
            )
        result = await _port(info).submit_tx(raw)
        if isinstance(result, SubmitAccepted):
            return TransactionAccepted(hash=result.tx_hash.hex())
        return TransactionRejected(code=result.code, message=result.message)


@strawberry.type
class Subscription:
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
    ],
)
