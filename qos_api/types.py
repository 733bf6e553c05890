"""GraphQL object types and their construction from port values.

Encodings used throughout: hashes, app hashes and signatures are lower-case hex; addresses
are ``qos1...`` Bech32 text; times are RFC 3339 UTC with up to nanosecond precision;
amounts are decimal strings in uqos (they may exceed GraphQL's 32-bit ``Int``); raw tx
bytes are standard base64.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from qos_api.ports import AccountInfo, BlockInfo, NodeStatus, TxInfo
from qos_app.describe import describe_tx
from qos_app.errors import NAMES
from qos_chain.address import ADDRESS_LENGTH, Address, address_to_text
from qos_chain.genesis import format_time
from qos_chain.types import Commit as ChainCommit
from qos_chain.types import CommitFlag as ChainCommitFlag
from qos_chain.types import TxResult, tx_hash

F = TypeVar("F", bound=Callable[..., Any])


def field(description: str) -> Callable[[F], F]:
    """``@strawberry.field(description=...)`` typed for mypy --strict (no plugin needed)."""
    return cast("Callable[[F], F]", strawberry.field(description=description))


def mutation(description: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", strawberry.mutation(description=description))


def subscription(description: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", strawberry.subscription(description=description))


def _addr(raw: bytes) -> str | None:
    return address_to_text(Address(raw)) if len(raw) == ADDRESS_LENGTH else None


@strawberry.type(name="NodeStatus", description="The node's view of the chain head.")
class NodeStatusView:
    chain_id: str
    node_id: str = strawberry.field(description="Identifier of this node (may be empty).")
    height: int = strawberry.field(description="Height of the latest committed block.")
    latest_block_hash: str = strawberry.field(description="Hex; empty before the first block.")
    latest_block_time: str = strawberry.field(
        description="RFC 3339 UTC time of the latest block (genesis time before it)."
    )
    app_hash: str = strawberry.field(description="Hex app hash after the latest block.")
    validator_address: str = strawberry.field(description="This node's validator (qos1...).")
    mempool_size: int = strawberry.field(description="Transactions waiting for a block.")

    @classmethod
    def of(cls, s: NodeStatus) -> NodeStatusView:
        return cls(
            chain_id=s.chain_id,
            node_id=s.node_id,
            height=s.height,
            latest_block_hash=s.latest_block_hash.hex(),
            latest_block_time=format_time(s.latest_block_time_ns),
            app_hash=s.app_hash.hex(),
            validator_address=s.validator_address,
            mempool_size=s.mempool_size,
        )


@strawberry.enum(description="How a validator took part in a commit.")
class CommitFlag(Enum):
    ABSENT = "absent"
    COMMIT = "commit"
    NIL = "nil"


_FLAGS = {
    ChainCommitFlag.ABSENT: CommitFlag.ABSENT,
    ChainCommitFlag.COMMIT: CommitFlag.COMMIT,
    ChainCommitFlag.NIL: CommitFlag.NIL,
}


@strawberry.type(description="One validator's precommit inside a commit.")
class CommitSig:
    flag: CommitFlag
    validator: str | None = strawberry.field(description="qos1 address; null when absent.")
    time: str | None = strawberry.field(description="RFC 3339 vote time; null when absent.")
    signature: str | None = strawberry.field(description="Hex ed25519 signature.")


@strawberry.type(description="The +2/3 precommits that finalised a block.")
class Commit:
    height: int
    round: int
    block_hash: str
    signatures: list[CommitSig]

    @classmethod
    def of(cls, c: ChainCommit) -> Commit:
        return cls(
            height=c.height,
            round=c.round,
            block_hash=c.block_hash.hex(),
            signatures=[
                CommitSig(
                    flag=_FLAGS[s.flag],
                    validator=_addr(s.validator),
                    time=format_time(s.time_ns) if s.flag != ChainCommitFlag.ABSENT else None,
                    signature=s.signature.hex() if s.signature else None,
                )
                for s in c.signatures
            ],
        )


@strawberry.type(description="A key/value attribute of a transaction event.")
class EventAttribute:
    key: str
    value: str


@strawberry.type(description="An event emitted while executing a transaction.")
class TxEvent:
    type: str
    attributes: list[EventAttribute]


@strawberry.type(description="A message inside a transaction.")
class Message:
    type_url: str = strawberry.field(description='e.g. "qos.bank.v1.MsgSend".')
    value: JSON = strawberry.field(
        description='Decoded message (MsgSend: {"to", "amount"}), or {"hex"} if unknown.'
    )


@strawberry.type(description="A committed transaction and its execution result.")
class Transaction:
    hash: str = strawberry.field(description="Hex SHA-256 of the raw tx bytes.")
    height: int
    index: int = strawberry.field(description="Position in its block, from 0.")
    sender: str | None = strawberry.field(description="qos1 address; null if undecodable.")
    nonce: int | None
    fee: str | None = strawberry.field(description="Fee in uqos (decimal string).")
    fee_payer: str | None = strawberry.field(description="null when the sender pays.")
    memo: str | None
    messages: list[Message]
    success: bool
    code: int = strawberry.field(description="0 on success, else the app's numeric code.")
    code_name: str = strawberry.field(description='"ok" or a code name, e.g. "nonce_too_low".')
    log: str
    events: list[TxEvent]
    raw: str = strawberry.field(description="Standard base64 of the canonical tx bytes.")

    @classmethod
    def of(
        cls, txhash: bytes, height: int, index: int, raw: bytes, result: TxResult
    ) -> Transaction:
        view = describe_tx(raw)
        return cls(
            hash=txhash.hex(),
            height=height,
            index=index,
            sender=None if view is None else view["sender"],
            nonce=None if view is None else view["nonce"],
            fee=None if view is None else view["fee"],
            fee_payer=None if view is None else view["fee_payer"],
            memo=None if view is None else view["memo"],
            messages=[]
            if view is None
            else [Message(type_url=m["typeUrl"], value=JSON(m["value"])) for m in view["messages"]],
            success=result.ok,
            code=result.code,
            code_name="ok"
            if result.ok
            else NAMES.get(result.code, f"{result.codespace}:{result.code}"),
            log=result.log,
            events=[
                TxEvent(
                    type=e.type,
                    attributes=[EventAttribute(key=a.key, value=a.value) for a in e.attributes],
                )
                for e in result.events
            ],
            raw=base64.b64encode(raw).decode(),
        )

    @classmethod
    def of_info(cls, t: TxInfo) -> Transaction:
        return cls.of(t.hash, t.height, t.index, t.tx, t.result)


@strawberry.type(description="A committed block.")
class Block:
    info: strawberry.Private[BlockInfo]
    height: int
    hash: str
    time: str = strawberry.field(description="RFC 3339 UTC block time.")
    proposer: str | None = strawberry.field(description="qos1 address of the proposer.")
    parent_hash: str
    last_commit_hash: str
    tx_root: str
    app_hash: str = strawberry.field(description="App hash after the previous block.")
    validators_hash: str
    num_txs: int

    @classmethod
    def of(cls, info: BlockInfo) -> Block:
        h = info.block.header
        return cls(
            info=info,
            height=h.height,
            hash=info.block.hash().hex(),
            time=format_time(h.time_ns),
            proposer=_addr(h.proposer),
            parent_hash=h.parent_hash.hex(),
            last_commit_hash=h.last_commit_hash.hex(),
            tx_root=h.tx_root.hex(),
            app_hash=h.app_hash.hex(),
            validators_hash=h.validators_hash.hex(),
            num_txs=len(info.block.txs),
        )

    @field("The block's transactions in order, with their results.")
    def transactions(self) -> list[Transaction]:
        height = self.info.block.header.height
        return [
            Transaction.of(tx_hash(raw), height, i, raw, res)
            for i, (raw, res) in enumerate(zip(self.info.block.txs, self.info.results, strict=True))
        ]

    @field("The +2/3 commit that finalised this block.")
    def commit(self) -> Commit | None:
        return None if self.info.commit is None else Commit.of(self.info.commit)


@strawberry.type(description="Relay page info (blocks are listed newest first).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class BlockEdge:
    cursor: str
    node: Block


@strawberry.type(description="A page of blocks, newest first.")
class BlockConnection:
    edges: list[BlockEdge]
    page_info: PageInfo


@strawberry.type(description="An account's committed state.")
class Account:
    address: str
    balance: str = strawberry.field(description="Balance in uqos (decimal string).")
    nonce: int = strawberry.field(description="The next nonce a tx from it must carry.")

    @classmethod
    def of(cls, a: AccountInfo) -> Account:
        return cls(
            address=address_to_text(Address(a.address)), balance=str(a.balance), nonce=a.nonce
        )


@strawberry.type(description="The input was refused; code is stable, message is for humans.")
class InvalidInput:
    code: str
    message: str


AccountResult = Annotated[Account | InvalidInput, strawberry.union("AccountResult")]


@strawberry.type(description="The tx passed CheckTx and is durably in the mempool.")
class TransactionAccepted:
    hash: str = strawberry.field(description="Hex tx hash; query transaction(hash) later.")


@strawberry.type(description="The tx was refused; nothing was stored.")
class TransactionRejected:
    code: str
    message: str


SubmitTransactionResult = Annotated[
    TransactionAccepted | TransactionRejected, strawberry.union("SubmitTransactionResult")
]
