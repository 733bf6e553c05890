"""Consensus messages on the wire (canonical encoding, top-level tags 31-32).

A CONSENSUS payload is ``codec.encode`` of one of: :class:`ProposalMessage` (a signed
proposal with its block), ``Vote`` (tag 7), or :class:`BlockWithCommit` (a decided block
with its +2/3 commit, sent to a peer that is behind; also the unit of block sync).
Evidence payloads are ``DuplicateVoteEvidence`` (tag 30).
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_chain import codec
from qos_chain.errors import DecodeError
from qos_chain.types import Block, Commit, Proposal, Vote


@codec.register(31)
@dataclass(frozen=True, slots=True)
class ProposalMessage:
    proposal: Proposal
    block: Block


@codec.register(32)
@dataclass(frozen=True, slots=True)
class BlockWithCommit:
    block: Block
    commit: Commit


@codec.register(33)
@dataclass(frozen=True, slots=True)
class TxBatch:
    """Several txs in one gossip message (a TX payload is a raw tx or a TxBatch)."""

    txs: tuple[bytes, ...]


TX_BATCH_TAG = codec.uvarint(33)

MAX_TX_BATCH_TXS = 4096
"""At most this many txs in one TxBatch (docs/protocol.md): a peer's batch over it is
refused before it is decoded, so one message costs at most this many tx checks."""

MIN_SIGNED_TX_BYTES = 128
"""The smallest encodable signed QOS tx (qos_app.tx): one ed25519 signature (32-byte key,
64-byte signature), a 20-byte sender, every other field empty. A node running the QOS app
refuses a TX payload holding a shorter tx (``ChainNode(min_tx_bytes=...)``)."""


def split_tx_payload(payload: bytes, max_txs: int = MAX_TX_BATCH_TXS) -> tuple[bytes, ...]:
    """The txs in a TX gossip payload; raises DecodeError for a malformed batch or one of
    more than ``max_txs`` txs (counted before anything is decoded)."""
    if payload.startswith(TX_BATCH_TAG):
        r = codec.Reader(payload[len(TX_BATCH_TAG) :])
        count = r.uvarint()
        if count > max_txs:
            raise DecodeError(f"a TxBatch of {count} txs exceeds {max_txs}")
        return codec.decode(TxBatch, payload).txs
    return (payload,)


def batch_txs(txs: list[bytes], max_bytes: int, max_txs: int = MAX_TX_BATCH_TXS) -> list[bytes]:
    """Pack txs into gossip payloads of at most ``max_bytes`` and ``max_txs`` txs (a lone
    tx stays raw)."""
    out: list[bytes] = []
    group: list[bytes] = []
    size = 0
    for tx in txs:
        if group and (size + len(tx) + 8 > max_bytes or len(group) >= max_txs):
            out.append(group[0] if len(group) == 1 else codec.encode(TxBatch(tuple(group))))
            group, size = [], 0
        group.append(tx)
        size += len(tx) + 8
    if group:
        out.append(group[0] if len(group) == 1 else codec.encode(TxBatch(tuple(group))))
    return out


ConsensusMessage = ProposalMessage | Vote | BlockWithCommit


def decode_consensus(payload: bytes) -> ConsensusMessage:
    msg = codec.decode_any(payload)
    if not isinstance(msg, ProposalMessage | Vote | BlockWithCommit):
        raise DecodeError(f"{type(msg).__name__} is not a consensus message")
    return msg


def message_height(msg: ConsensusMessage) -> int:
    if isinstance(msg, ProposalMessage):
        return msg.proposal.height
    if isinstance(msg, Vote):
        return msg.height
    return msg.block.header.height
