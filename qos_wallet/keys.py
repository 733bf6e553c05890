"""Unlocked ed25519 key pairs.

A :class:`KeyPair` holds the 32-byte ed25519 private *seed* (RFC 8032) in memory, with its
public key and :data:`~qos_chain.address.Address`. Its ``repr`` shows only public data, and
equality compares public keys only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nacl.signing import SigningKey

from qos_chain.address import Address, address_from_public_key
from qos_wallet.errors import InvalidSeed
from qos_wallet.mnemonic import seed_from_mnemonic
from qos_wallet.slip10 import DEFAULT_PATH, derive_path

PRIVATE_SEED_LENGTH = 32
SIGNATURE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An ed25519 key pair. Build it with :meth:`from_seed` or :meth:`from_mnemonic`."""

    private_seed: bytes = field(repr=False, compare=False)
    public_key: bytes
    address: Address

    def __post_init__(self) -> None:
        if len(self.private_seed) != PRIVATE_SEED_LENGTH:
            raise InvalidSeed(
                f"ed25519 private seed must be {PRIVATE_SEED_LENGTH} bytes, "
                f"got {len(self.private_seed)}",
            )
        public_key = bytes(SigningKey(self.private_seed).verify_key)
        if self.public_key != public_key or self.address != address_from_public_key(public_key):
            raise InvalidSeed("public key or address does not match the private seed")

    @classmethod
    def from_seed(cls, private_seed: bytes) -> KeyPair:
        """The key pair of a 32-byte ed25519 private seed."""
        if len(private_seed) != PRIVATE_SEED_LENGTH:
            raise InvalidSeed(
                f"ed25519 private seed must be {PRIVATE_SEED_LENGTH} bytes, "
                f"got {len(private_seed)}",
            )
        public_key = bytes(SigningKey(bytes(private_seed)).verify_key)
        return cls(bytes(private_seed), public_key, address_from_public_key(public_key))

    @classmethod
    def from_mnemonic(cls, words: str, passphrase: str = "", path: str = DEFAULT_PATH) -> KeyPair:
        """The key pair at ``path`` derived (SLIP-0010) from a BIP-39 mnemonic."""
        return cls.from_seed(derive_path(seed_from_mnemonic(words, passphrase), path).private_key)

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``msg``."""
        return bytes(SigningKey(self.private_seed).sign(msg).signature)
