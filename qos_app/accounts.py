"""Accounts: per-address nonces and balances (the ``auth`` and ``bank`` state).

Keys: ``auth/nonce/<addr>`` -> uvarint next nonce; ``bank/balance/<addr>`` -> uvarint
amount in uqos (1 QOS = 10**6 uqos). Missing keys read as zero.
"""

from __future__ import annotations

from collections.abc import Callable

from qos_chain import codec
from qos_chain.errors import DecodeError

NONCE_PREFIX = b"auth/nonce/"
BALANCE_PREFIX = b"bank/balance/"
MAX_AMOUNT = codec.MAX_UINT64


def _uint(raw: bytes | None) -> int:
    if raw is None:
        return 0
    r = codec.Reader(raw)
    try:
        v = r.uvarint()
        r.finish()
    except DecodeError as exc:  # pragma: no cover - state is written only by us
        raise RuntimeError("corrupt account state") from exc
    return v


def get_nonce(get: Callable[[bytes], bytes | None], addr: bytes) -> int:
    return _uint(get(NONCE_PREFIX + addr))


def get_balance(get: Callable[[bytes], bytes | None], addr: bytes) -> int:
    return _uint(get(BALANCE_PREFIX + addr))


def nonce_entry(addr: bytes, nonce: int) -> tuple[bytes, bytes]:
    return NONCE_PREFIX + addr, codec.uvarint(nonce)


def balance_entry(addr: bytes, amount: int) -> tuple[bytes, bytes]:
    return BALANCE_PREFIX + addr, codec.uvarint(amount)
