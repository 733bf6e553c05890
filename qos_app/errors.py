"""Error codes of the basic chain application.

AppError(QosError)            root; ``code`` is the stable name returned in CheckTx/TxResult
  TxDecodeError               malformed_tx: not a canonical Tx encoding
  TxInvalid                   stateless failure: wrong_chain_id, missing_signature,
                              invalid_signature, signer_mismatch, no_messages,
                              too_many_messages, unknown_message_type, memo_too_long,
                              tx_too_large, invalid_message
  TxFailed                    stateful failure: nonce_too_low (replay), nonce_too_high,
                              insufficient_funds, insufficient_fee_funds, invalid_amount,
                              tx_timed_out

Numeric codes (CheckTxResult.code / TxResult.code) map 1:1 to names via ``CODES``; 0 is OK.
"""

from __future__ import annotations

from qos_chain.errors import QosError

CODESPACE = "qos"

CODES: dict[str, int] = {
    "ok": 0,
    "internal": 1,
    "malformed_tx": 2,
    "wrong_chain_id": 3,
    "missing_signature": 4,
    "invalid_signature": 5,
    "signer_mismatch": 6,
    "no_messages": 7,
    "too_many_messages": 8,
    "unknown_message_type": 9,
    "memo_too_long": 10,
    "tx_too_large": 11,
    "invalid_message": 12,
    "nonce_too_low": 13,
    "nonce_too_high": 14,
    "insufficient_funds": 15,
    "insufficient_fee_funds": 16,
    "invalid_amount": 17,
    "unexpected_signature": 18,
    "tx_timed_out": 19,
}
NAMES: dict[int, str] = {v: k for k, v in CODES.items()}


def register_codes(codes: dict[str, int]) -> None:
    """Add a module's code names (modules own number ranges: identity 100-199, ...).

    Updates ``CODES`` and ``NAMES`` in place; re-registering the same pairs is a no-op and
    a clash (a name or number already meaning something else) raises ``ValueError``.
    """
    for name, number in codes.items():
        if CODES.get(name, number) != number or NAMES.get(number, name) != name:
            raise ValueError(f"error code {name}={number} clashes with a registered code")
    for name, number in codes.items():
        CODES[name] = number
        NAMES[number] = name


class AppError(QosError):
    code = "internal"

    @property
    def number(self) -> int:
        return CODES.get(self.code, 1)


class TxDecodeError(AppError):
    code = "malformed_tx"


class TxInvalid(AppError):
    code = "invalid_message"


class TxFailed(AppError):
    code = "internal"
