"""The ``bank`` module: genesis balances, transfers, fee collection.

Message ``qos.bank.v1.MsgSend{to, amount}`` moves ``amount`` uqos from the tx sender to
``to``. Fees are moved from the payer to the fee collector module account (DPOS reward
distribution arrives with the economics issue).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from qos_app.accounts import MAX_AMOUNT, balance_entry, get_balance
from qos_app.context import CacheKV, Ctx
from qos_app.errors import TxFailed, TxInvalid
from qos_chain import codec
from qos_chain.address import Address, address_from_text, address_to_text
from qos_chain.errors import InvalidAddress

MSG_SEND = "qos.bank.v1.MsgSend"
FEE_COLLECTOR = hashlib.sha256(b"qos/module/fee_collector").digest()[:20]


@codec.register(110)
@dataclass(frozen=True, slots=True)
class MsgSend:
    to: bytes
    amount: int


def transfer(kv: CacheKV, src: bytes, dst: bytes, amount: int, *, code: str) -> None:
    bal = get_balance(kv.get, src)
    if bal < amount:
        raise TxFailed(f"balance {bal} uqos is less than {amount}", code=code)
    kv.set(*balance_entry(src, bal - amount))
    dst_bal = get_balance(kv.get, dst)
    if dst_bal + amount > MAX_AMOUNT:
        raise TxFailed("recipient balance would overflow", code="invalid_amount")
    kv.set(*balance_entry(dst, dst_bal + amount))


class BankModule:
    def __init__(self) -> None:
        self.name = "bank"
        self.msg_types: dict[str, type] = {MSG_SEND: MsgSend}
        self.codes: dict[str, int] = {}  # bank uses the base codes of qos_app.errors

    def validate(self, msg: object) -> None:
        if isinstance(msg, MsgSend):
            if len(msg.to) != 20:
                raise TxInvalid("recipient must be a 20-byte address", code="invalid_message")
            if msg.amount <= 0:
                raise TxInvalid("amount must be positive", code="invalid_amount")
            return
        raise TxInvalid(f"bank cannot handle {type(msg).__name__}", code="unknown_message_type")

    def handle(self, ctx: Ctx, msg: object) -> None:
        if not isinstance(msg, MsgSend):
            raise TxInvalid("unexpected message", code="unknown_message_type")
        transfer(ctx.kv, ctx.sender, msg.to, msg.amount, code="insufficient_funds")
        ctx.emit(
            "transfer",
            sender=address_to_text(Address(ctx.sender)),
            recipient=address_to_text(Address(msg.to)),
            amount=str(msg.amount),
        )

    def init_genesis(self, kv: CacheKV, state: dict[str, Any]) -> None:
        balances = state.get("balances", {})
        if not isinstance(balances, dict):
            raise ValueError("bank.balances must be an object {address: amount}")
        for text, amount in sorted(balances.items()):
            try:
                addr = address_from_text(text)
            except InvalidAddress as exc:
                raise ValueError(f"bank.balances: {exc.message}") from exc
            value = int(amount)
            if not 0 <= value <= MAX_AMOUNT:
                raise ValueError(f"bank.balances[{text}] out of range")
            kv.set(*balance_entry(addr, value))
