"""The one path every submit mutation takes: base64 -> optional message-kind check -> the
node port -> TransactionAccepted | TransactionRejected."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from qos_api.context import Info
from qos_api.ports import SubmitAccepted
from qos_api.types import SubmitTransactionResult, TransactionAccepted, TransactionRejected

Check = Callable[[bytes], tuple[str, str] | None]
"""Returns (code, message) when the tx carries the wrong kind of messages, else None."""


async def submit_signed(
    info: Info, signed_tx: str, check: Check | None = None
) -> SubmitTransactionResult:
    try:
        raw = base64.b64decode(signed_tx, validate=True)
    except (binascii.Error, ValueError):
        return TransactionRejected(
            code="invalid_encoding", message="signedTx is not valid standard base64"
        )
    if check is not None:
        problem = check(raw)
        if problem is not None:
            return TransactionRejected(code=problem[0], message=problem[1])
    result = await info.context.port.submit_tx(raw)
    if isinstance(result, SubmitAccepted):
        return TransactionAccepted(hash=result.tx_hash.hex())
    return TransactionRejected(code=result.code, message=result.message)
