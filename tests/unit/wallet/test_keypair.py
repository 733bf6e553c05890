"""qos_wallet.keys.KeyPair."""

from __future__ import annotations

import dataclasses

import pytest
from nacl.signing import VerifyKey

from qos_chain.address import address_from_public_key
from qos_wallet.errors import InvalidSeed
from qos_wallet.keys import KeyPair
from qos_wallet.mnemonic import seed_from_mnemonic
from qos_wallet.slip10 import DEFAULT_PATH, derive_path

WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
# RFC 8032 section 7.1, TEST 1.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PK = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_SIG = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b"
)


def test_rfc8032_vector() -> None:
    pair = KeyPair.from_seed(RFC8032_SEED)
    assert pair.public_key.hex() == RFC8032_PK
    assert pair.address == address_from_public_key(pair.public_key)
    assert pair.sign(b"").hex() == RFC8032_SIG


def test_signature_verifies() -> None:
    pair = KeyPair.from_mnemonic(WORDS)
    signature = pair.sign(b"hello")
    assert len(signature) == 64
    VerifyKey(pair.public_key).verify(b"hello", signature)


def test_from_mnemonic_uses_slip10_default_path() -> None:
    node = derive_path(seed_from_mnemonic(WORDS), DEFAULT_PATH)
    assert KeyPair.from_mnemonic(WORDS) == KeyPair.from_seed(node.private_key)
    assert KeyPair.from_mnemonic(WORDS, path="m/44'/6688'/1'/0'/0'") != KeyPair.from_mnemonic(WORDS)


def test_repr_does_not_leak_secret() -> None:
    pair = KeyPair.from_seed(RFC8032_SEED)
    text = repr(pair)
    assert RFC8032_SEED.hex() not in text
    assert repr(RFC8032_SEED) not in text
    assert "private_seed" not in text
    assert RFC8032_PK in text or "public_key" in text


def test_frozen() -> None:
    pair = KeyPair.from_seed(RFC8032_SEED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.public_key = b""  # type: ignore[misc]


def test_wrong_seed_length() -> None:
    with pytest.raises(InvalidSeed, match="32 bytes, got 31"):
        KeyPair.from_seed(RFC8032_SEED[:31])


def test_inconsistent_construction_rejected() -> None:
    pair = KeyPair.from_seed(RFC8032_SEED)
    other = KeyPair.from_mnemonic(WORDS)
    with pytest.raises(InvalidSeed, match="does not match"):
        KeyPair(pair.private_seed, other.public_key, other.address)
