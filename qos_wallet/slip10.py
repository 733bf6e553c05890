"""SLIP-0010 ed25519 key derivation along BIP-44 paths.

SLIP-0010 ("Universal private key derivation from master private key"), curve ed25519:

* master key: ``I = HMAC-SHA512(key=b"ed25519 seed", data=seed)``; the private key is
  ``I[:32]``, the chain code ``I[32:]``;
* child ``i``: ``I = HMAC-SHA512(key=chain_code, data=0x00 || private_key || ser32(i))``.

ed25519 supports **hardened derivation only**: every path level must be hardened (``0'``
or ``0h``); a non-hardened index raises :class:`~qos_wallet.errors.InvalidPath`. The
32-byte private key is used as the ed25519 *seed* (RFC 8032), so the public key is the
ed25519 public key of that seed. (SLIP-0010 prints ed25519 public keys with a ``00`` prefix;
QOS uses the plain 32 bytes.)

Paths follow BIP-44: ``m / purpose' / coin_type' / account' / change' / address_index'``.
The QOS coin type **6688 is provisional**: it is not registered in SLIP-0044 yet and may
change before mainnet; keys derived with it stay recoverable by passing the old path.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from qos_wallet.errors import InvalidPath, InvalidSeed

HARDENED_OFFSET = 0x80000000
COIN_TYPE = 6688
"""Provisional QOS BIP-44 coin type (not yet registered in SLIP-0044)."""
DEFAULT_PATH = "m/44'/6688'/0'/0'/0'"
"""The path of the first key of account 0."""

MIN_SEED_LENGTH = 16
MAX_SEED_LENGTH = 64
_CURVE_KEY = b"ed25519 seed"


@dataclass(frozen=True, slots=True)
class ExtendedKey:
    """A SLIP-0010 node: 32-byte ed25519 private seed and 32-byte chain code."""

    private_key: bytes = field(repr=False)
    chain_code: bytes

    def __post_init__(self) -> None:
        if len(self.private_key) != 32 or len(self.chain_code) != 32:
            raise ValueError("private key and chain code must be 32 bytes each")

    @property
    def public_key(self) -> bytes:
        """The 32-byte ed25519 public key of this node's private key."""
        return bytes(SigningKey(self.private_key).verify_key)


def _split(digest: bytes) -> ExtendedKey:
    return ExtendedKey(private_key=digest[:32], chain_code=digest[32:])


def master_key(seed: bytes) -> ExtendedKey:
    """The SLIP-0010 ed25519 master node of a 16..64-byte seed."""
    if not MIN_SEED_LENGTH <= len(seed) <= MAX_SEED_LENGTH:
        raise InvalidSeed(
            f"seed must be {MIN_SEED_LENGTH}..{MAX_SEED_LENGTH} bytes, got {len(seed)}",
        )
    return _split(hmac.digest(_CURVE_KEY, seed, hashlib.sha512))


def derive_child(parent: ExtendedKey, index: int) -> ExtendedKey:
    """The hardened child ``index`` (which must include :data:`HARDENED_OFFSET`)."""
    if not HARDENED_OFFSET <= index <= 0xFFFFFFFF:
        raise InvalidPath(f"ed25519 supports hardened derivation only; got index {index}")
    data = b"\x00" + parent.private_key + index.to_bytes(4, "big")
    return _split(hmac.digest(parent.chain_code, data, hashlib.sha512))


def parse_path(path: str) -> tuple[int, ...]:
    """Parse ``m/44'/6688'/0'`` into hardened indices (each with :data:`HARDENED_OFFSET`).

    ``m`` alone is the master node. Each level is a decimal index below 2**31 followed by
    ``'``, ``h`` or ``H``.
    """
    parts = path.strip().split("/")
    if parts[0] != "m":
        raise InvalidPath(f"path must start with 'm', got {path!r}")
    indices: list[int] = []
    for level, part in enumerate(parts[1:], start=1):
        if not part:
            raise InvalidPath(f"empty component at level {level} in {path!r}")
        if part[-1] not in "'hH":
            raise InvalidPath(
                f"level {level} ({part!r}) is not hardened; ed25519 derivation supports "
                f"hardened indices only (write it as {part}')",
            )
        digits = part[:-1]
        if not digits.isascii() or not digits.isdigit():
            raise InvalidPath(f"level {level} ({part!r}) is not a decimal index")
        if len(digits) > 1 and digits[0] == "0":
            raise InvalidPath(f"level {level} ({part!r}) has a leading zero")
        number = int(digits)
        if number >= HARDENED_OFFSET:
            raise InvalidPath(
                f"level {level} ({part!r}) is out of range (max {HARDENED_OFFSET - 1})"
            )
        indices.append(number + HARDENED_OFFSET)
    return tuple(indices)


def format_path(indices: tuple[int, ...]) -> str:
    """The canonical text of hardened ``indices`` (``'`` notation)."""
    for index in indices:
        if not HARDENED_OFFSET <= index <= 0xFFFFFFFF:
            raise InvalidPath(f"ed25519 supports hardened derivation only; got index {index}")
    return "/".join(["m", *(f"{index - HARDENED_OFFSET}'" for index in indices)])


def derive_path(seed: bytes, path: str) -> ExtendedKey:
    """The SLIP-0010 ed25519 node at ``path`` below the master node of ``seed``."""
    node = master_key(seed)
    for index in parse_path(path):
        node = derive_child(node, index)
    return node


def path_for_account(n: int) -> str:
    """The default path of account ``n``: ``m/44'/6688'/n'/0'/0'``."""
    if not 0 <= n < HARDENED_OFFSET:
        raise InvalidPath(f"account must be in 0..{HARDENED_OFFSET - 1}, got {n}")
    return f"m/44'/{COIN_TYPE}'/{n}'/0'/0'"
