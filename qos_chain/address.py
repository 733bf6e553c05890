"""Account addresses.

An :data:`Address` is 20 bytes: the first 20 bytes of SHA-256 of the account's 32-byte
ed25519 public key (``sha256(pk)[:20]``, as CometBFT derives validator addresses).

Text form: Bech32 (BIP-173, see :mod:`qos_chain.bech32`) with human-readable part ``qos``
and the 20 address bytes as the data, e.g. ``qos1`` followed by 32 data characters and a
6-character checksum (42 characters in all). The canonical text form is lower case;
all-upper-case input is accepted as BIP-173 requires, mixed case is not.

:func:`address_from_text` raises :class:`qos_chain.errors.InvalidAddress` with a precise
message for a bad checksum, a wrong HRP, mixed case, a wrong payload length or bad
characters.
"""

from __future__ import annotations

import functools
import hashlib
from typing import NewType

from qos_chain import bech32
from qos_chain.errors import InvalidAddress

Address = NewType("Address", bytes)
"""20 bytes: ``sha256(ed25519 public key)[:20]``."""

ADDRESS_LENGTH = 20
PUBLIC_KEY_LENGTH = 32
HRP = "qos"


def address_from_public_key(pk: bytes) -> Address:
    """The address of a 32-byte ed25519 public key."""
    if len(pk) != PUBLIC_KEY_LENGTH:
        raise InvalidAddress(
            f"ed25519 public key must be {PUBLIC_KEY_LENGTH} bytes, got {len(pk)}",
        )
    return Address(hashlib.sha256(pk).digest()[:ADDRESS_LENGTH])


def address_from_bytes(raw: bytes) -> Address:
    """Check that ``raw`` has the address length and brand it as an :data:`Address`."""
    if len(raw) != ADDRESS_LENGTH:
        raise InvalidAddress(f"address must be {ADDRESS_LENGTH} bytes, got {len(raw)}")
    return Address(bytes(raw))


def address_to_text(a: Address) -> str:
    """The canonical ``qos1...`` text form of an address."""
    return _address_text(address_from_bytes(a))


@functools.lru_cache(maxsize=65_536)
def _address_text(a: bytes) -> str:  # bech32 in Python is slow; events repeat addresses
    return bech32.encode_bytes(HRP, a)


def address_from_text(s: str) -> Address:
    """Parse a ``qos1...`` address (either all lower or all upper case)."""
    hrp, payload = bech32.decode_bytes(s)
    if hrp != HRP:
        raise InvalidAddress(f"wrong human-readable part {hrp!r} (expected {HRP!r})")
    if len(payload) != ADDRESS_LENGTH:
        raise InvalidAddress(
            f"wrong length: address payload is {len(payload)} bytes (expected {ADDRESS_LENGTH})"
        )
    return Address(payload)
