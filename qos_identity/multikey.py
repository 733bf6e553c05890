"""Multikey public keys: multicodec prefix + key bytes, multibase base58btc (``z``).

W3C Controlled Identifiers 1.0, section 2.2.2 (Multikey), and the multicodec table:

=========== ========= ============== ==============
key         multicodec varint bytes   text prefix
=========== ========= ============== ==============
ed25519-pub 0xed      ``ed 01``      ``z6Mk``
x25519-pub  0xec      ``ec 01``      ``z6LS``
=========== ========= ============== ==============

Only these two are accepted; decoding refuses anything else with a precise message
(:class:`MultikeyError`, code ``invalid_public_key``). Base58btc is implemented here (the
Bitcoin alphabet, leading ``1`` = leading zero byte) so that no multiformats library is
imported outside ``qos_ipfs.cid``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from qos_identity.errors import MultikeyError

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}
MULTIBASE_BASE58BTC = "z"
MAX_MULTIBASE_CHARS = 128


class KeyType(enum.Enum):
    ED25519 = "ed25519-pub"
    X25519 = "x25519-pub"


# multicodec code -> unsigned-varint prefix bytes
_PREFIX: dict[KeyType, bytes] = {KeyType.ED25519: b"\xed\x01", KeyType.X25519: b"\xec\x01"}
_BY_PREFIX = {v: k for k, v in _PREFIX.items()}
KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Multikey:
    key_type: KeyType
    public_key: bytes

    def encode(self) -> str:
        return encode_multikey(self.key_type, self.public_key)


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, r = divmod(n, 58)
        out.append(B58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Decode base58btc; refuses characters outside the alphabet."""
    n = 0
    for pos, ch in enumerate(text):
        v = _B58_INDEX.get(ch)
        if v is None:
            raise MultikeyError(f"character {ch!r} at {pos} is not base58btc")
        n = n * 58 + v
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * zeros + body


def encode_multikey(key_type: KeyType, public_key: bytes) -> str:
    if len(public_key) != KEY_LENGTH:
        raise MultikeyError(f"{key_type.value} key must be {KEY_LENGTH} bytes")
    return MULTIBASE_BASE58BTC + b58encode(_PREFIX[key_type] + public_key)


def decode_multikey(text: str) -> Multikey:
    """Parse ``z6Mk...`` / ``z6LS...``; every way to be wrong has its own message."""
    if not isinstance(text, str) or not text:
        raise MultikeyError("publicKeyMultibase is empty")
    if len(text) > MAX_MULTIBASE_CHARS:
        raise MultikeyError(f"publicKeyMultibase longer than {MAX_MULTIBASE_CHARS} characters")
    if text[0] != MULTIBASE_BASE58BTC:
        raise MultikeyError(f"multibase prefix {text[0]!r} is not 'z' (base58btc)")
    raw = b58decode(text[1:])
    key_type = _BY_PREFIX.get(raw[:2])
    if key_type is None:
        raise MultikeyError(
            f"multicodec prefix {raw[:2].hex() or 'none'} is not ed25519-pub (ed01) "
            "or x25519-pub (ec01)"
        )
    key = raw[2:]
    if len(key) != KEY_LENGTH:
        raise MultikeyError(f"{key_type.value} key is {len(key)} bytes, expected {KEY_LENGTH}")
    if encode_multikey(key_type, key) != text:  # canonical text only
        raise MultikeyError("publicKeyMultibase is not in canonical form")
    return Multikey(key_type, key)


def ed25519_to_x25519(public_key: bytes) -> bytes:
    """The X25519 key of an Ed25519 key (birational map; libsodium); refuses invalid points."""
    try:
        return bytes(nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(public_key))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError, ValueError) as exc:
        raise MultikeyError(f"not a valid ed25519 public key: {exc}") from exc
