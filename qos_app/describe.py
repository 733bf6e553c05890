"""Human-readable views of transactions for explorers and the API (read-only, no state).

``describe_tx(raw)`` decodes a tx envelope and renders each message JSON-ready: known
message types through their describer (``qos.bank.v1.MsgSend`` ->
``{"to": "qos1...", "amount": "<uqos>"}``), anything else (or a message that does not
decode) as ``{"hex": "<value bytes>"}``. Amounts are decimal strings: they may exceed what
JSON numbers carry exactly. Modules register describers in ``DESCRIBERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from qos_app.bank import MSG_SEND, MsgSend
from qos_app.errors import AppError
from qos_app.tx import decode_tx
from qos_chain import codec
from qos_chain.address import ADDRESS_LENGTH, Address, address_to_text
from qos_chain.errors import DecodeError


class MessageView(TypedDict):
    typeUrl: str
    value: dict[str, Any]


class TxView(TypedDict):
    sender: str | None  # None if the sender field is not a 20-byte address
    nonce: int
    fee: str  # uqos, decimal
    fee_payer: str | None  # None = the sender pays
    memo: str
    timeout_height: int | None
    messages: list[MessageView]


def _address(raw: bytes) -> str | None:
    return address_to_text(Address(raw)) if len(raw) == ADDRESS_LENGTH else None


def _describe_send(value: bytes) -> dict[str, Any] | None:
    msg = codec.decode(MsgSend, value)
    to = _address(msg.to)
    if to is None:
        return None
    return {"to": to, "amount": str(msg.amount)}


DESCRIBERS: dict[str, Callable[[bytes], dict[str, Any] | None]] = {
    MSG_SEND: _describe_send,
}


def describe_message(type_url: str, value: bytes) -> MessageView:
    describer = DESCRIBERS.get(type_url)
    view: dict[str, Any] | None = None
    if describer is not None:
        try:
            view = describer(value)
        except DecodeError:
            view = None
    return {"typeUrl": type_url, "value": view if view is not None else {"hex": value.hex()}}


def describe_tx(raw: bytes) -> TxView | None:
    """A JSON-ready view of a tx, or None if ``raw`` is not a decodable tx."""
    try:
        tx = decode_tx(raw)
    except AppError:
        return None
    b = tx.body
    return {
        "sender": _address(b.sender),
        "nonce": b.nonce,
        "fee": str(b.fee.amount),
        "fee_payer": None if b.fee.payer is None else _address(b.fee.payer),
        "memo": b.memo,
        "timeout_height": b.timeout_height,
        "messages": [describe_message(m.type_url, m.value) for m in b.msgs],
    }
