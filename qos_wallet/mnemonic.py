"""BIP-39 mnemonics (English word list), via Trezor's reference ``mnemonic`` package.

New wallets get 24 words (256 bits of entropy + 8 checksum bits). Validation accepts every
BIP-39 length (12, 15, 18, 21 or 24 words) so that existing mnemonics can be imported.
The seed is PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" + passphrase, 2048 rounds), 64 bytes
(BIP-39, "From mnemonic to seed").

Error messages name word *positions*, never the words: a mnemonic is a secret.
"""

from __future__ import annotations

import hashlib
import unicodedata

from mnemonic import Mnemonic

from qos_wallet.errors import InvalidMnemonic

WORD_COUNTS = (12, 15, 18, 21, 24)
DEFAULT_STRENGTH_BITS = 256
SEED_LENGTH = 64

_ENGLISH = Mnemonic("english")
_WORD_INDEX = {word: i for i, word in enumerate(_ENGLISH.wordlist)}


def generate_mnemonic() -> str:
    """A fresh 24-word English mnemonic from 256 bits of OS randomness."""
    return str(_ENGLISH.generate(strength=DEFAULT_STRENGTH_BITS))


def mnemonic_from_entropy(entropy: bytes) -> str:
    """The mnemonic of ``entropy`` (16, 20, 24, 28 or 32 bytes)."""
    if len(entropy) not in (16, 20, 24, 28, 32):
        raise InvalidMnemonic(
            f"entropy must be 16, 20, 24, 28 or 32 bytes, got {len(entropy)}",
        )
    return str(_ENGLISH.to_mnemonic(entropy))


def normalize_mnemonic(words: str) -> str:
    """NFKD-normalize, lower-case and collapse whitespace to single spaces."""
    return " ".join(unicodedata.normalize("NFKD", words).lower().split())


def validate_mnemonic(words: str) -> str:
    """Check word count, word list membership and checksum; return the normalized phrase."""
    phrase = normalize_mnemonic(words)
    word_list = phrase.split()
    if len(word_list) not in WORD_COUNTS:
        raise InvalidMnemonic(
            f"a mnemonic has 12, 15, 18, 21 or 24 words, got {len(word_list)}",
        )
    bits = 0
    for position, word in enumerate(word_list, start=1):
        index = _WORD_INDEX.get(word)
        if index is None:
            raise InvalidMnemonic(f"word {position} is not in the BIP-39 English word list")
        bits = (bits << 11) | index
    total_bits = 11 * len(word_list)
    checksum_bits = total_bits // 33
    entropy_bits = total_bits - checksum_bits
    entropy = (bits >> checksum_bits).to_bytes(entropy_bits // 8, "big")
    checksum = bits & ((1 << checksum_bits) - 1)
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    if checksum != expected:
        raise InvalidMnemonic("mnemonic checksum does not match (a word is wrong or misplaced)")
    return phrase


def seed_from_mnemonic(words: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed of a valid mnemonic and optional passphrase."""
    phrase = validate_mnemonic(words)
    return bytes(Mnemonic.to_seed(phrase, passphrase))
