"""qos_wallet.mnemonic against Trezor's published BIP-39 English vectors (passphrase TREZOR)."""

from __future__ import annotations

import pytest

from qos_wallet.errors import InvalidMnemonic
from qos_wallet.mnemonic import (
    generate_mnemonic,
    mnemonic_from_entropy,
    normalize_mnemonic,
    seed_from_mnemonic,
    validate_mnemonic,
)

# trezor/python-mnemonic vectors.json, "english" (entropy, mnemonic, seed with "TREZOR").
TREZOR_VECTORS = [
    (
        "00000000000000000000000000000000",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon about",
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c9"
        "2f2cf141630c7a3c4ab7c81b2f001698e7463b04",
    ),
    (
        "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937"
        "a1c1069be3a3a5bd381ee6260e8d9739fce1f607",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon art",
        "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8"
        "d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8",
    ),
    (
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
        "zoo vote",
        "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd"
        "31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
    ),
    (
        "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
        "hamster diagram private dutch cause delay private meat slide toddler razor book happy "
        "fancy gospel tennis maple dilemma loan word shrug inflict delay length",
        "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d"
        "415665b8a9030c9ec653d75e65f847d8fc1fc440",
    ),
    (
        "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
        "void come effort suffer camp survey warrior heavy shoot primary clutch crush open "
        "amazing screen patrol group space point ten exist slush involve unfold",
        "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1da"
        "cd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998",
    ),
]


@pytest.mark.parametrize(("entropy", "words", "seed"), TREZOR_VECTORS)
def test_trezor_vector(entropy: str, words: str, seed: str) -> None:
    assert mnemonic_from_entropy(bytes.fromhex(entropy)) == words
    assert validate_mnemonic(words) == words
    assert seed_from_mnemonic(words, "TREZOR").hex() == seed


def test_generate_is_24_valid_words() -> None:
    words = generate_mnemonic()
    assert len(words.split()) == 24
    assert validate_mnemonic(words) == words
    assert generate_mnemonic() != words


def test_normalization() -> None:
    words = TREZOR_VECTORS[1][1]
    messy = "  " + words.upper().replace(" ", " \t\n ") + "\n"
    assert normalize_mnemonic(messy) == words
    assert seed_from_mnemonic(messy, "TREZOR").hex() == TREZOR_VECTORS[1][2]


def test_passphrase_changes_seed() -> None:
    words = TREZOR_VECTORS[0][1]
    assert seed_from_mnemonic(words) != seed_from_mnemonic(words, "TREZOR")
    assert len(seed_from_mnemonic(words)) == 64


def test_invalid_checksum_rejected() -> None:
    bad = "abandon " * 11 + "abandon"  # valid words, wrong checksum word
    with pytest.raises(InvalidMnemonic, match="checksum") as info:
        validate_mnemonic(bad)
    assert info.value.code == "invalid_mnemonic"
    with pytest.raises(InvalidMnemonic, match="checksum"):
        seed_from_mnemonic(TREZOR_VECTORS[3][1].replace("vote", "zoo"), "TREZOR")


def test_unknown_word_rejected_without_echoing_it() -> None:
    words = TREZOR_VECTORS[1][1].split()
    words[4] = "wavvy"
    with pytest.raises(InvalidMnemonic, match="word 5 is not in the BIP-39") as info:
        validate_mnemonic(" ".join(words))
    assert "wavvy" not in str(info.value)


@pytest.mark.parametrize("count", [0, 1, 11, 13, 23, 25])
def test_wrong_word_count_rejected(count: int) -> None:
    with pytest.raises(InvalidMnemonic, match=f"got {count}"):
        validate_mnemonic(" ".join(["abandon"] * count))


def test_entropy_length_checked() -> None:
    with pytest.raises(InvalidMnemonic, match="entropy"):
        mnemonic_from_entropy(b"\x00" * 15)
