"""qos_chain.bech32 against the BIP-173 test vectors, and qos_chain.address."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qos_chain import bech32
from qos_chain.address import (
    Address,
    address_from_public_key,
    address_from_text,
    address_to_text,
)
from qos_chain.errors import InvalidAddress

# BIP-173, "Test vectors": valid Bech32 strings.
BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]

# BIP-173, "Test vectors": invalid Bech32 strings with the reason, and our message.
BIP173_INVALID = [
    ("\x201nwldj5", "invalid character"),  # HRP character out of range
    ("\x7f1axkwrx", "invalid character"),  # HRP character out of range
    ("\x801eym55h", "invalid character"),  # HRP character out of range
    (
        "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
        "too long",
    ),  # overall max length exceeded
    ("pzry9x0s0muk", "missing separator"),  # no separator character
    ("1pzry9x0s0muk", "empty human-readable part"),  # empty HRP
    ("x1b4n0q5v", "invalid data character"),  # invalid data character
    ("li1dgmt3", "checksum too short"),  # too short checksum
    ("de1lg7wt\xff", "invalid character"),  # invalid character in checksum
    ("A1G7SGD8", "bad checksum"),  # checksum calculated with uppercase form of HRP
    ("10a06t8", "empty human-readable part"),  # empty HRP
    ("1qzzfhee", "empty human-readable part"),  # empty HRP
]


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid(text: str) -> None:
    hrp, data = bech32.decode(text)
    assert bech32.encode(hrp, data) == text.lower()


@pytest.mark.parametrize(("text", "reason"), BIP173_INVALID)
def test_bip173_invalid(text: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        bech32.decode(text)


def test_bip173_abcdef_payload() -> None:
    hrp, data = bech32.decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw")
    assert hrp == "abcdef"
    assert data == list(range(32))


def test_encode_rejects_bad_input() -> None:
    with pytest.raises(InvalidAddress, match="human-readable part"):
        bech32.encode("", [])
    with pytest.raises(InvalidAddress, match="lower case"):
        bech32.encode("QOS", [])
    with pytest.raises(InvalidAddress, match="5-bit"):
        bech32.encode("qos", [32])
    with pytest.raises(InvalidAddress, match="max 90"):
        bech32.encode("qos", [0] * 82)


def test_convert_bits_rejects_bad_padding() -> None:
    with pytest.raises(InvalidAddress, match="padding"):
        bech32.convert_bits([31], 5, 8, pad=False)
    with pytest.raises(InvalidAddress, match="does not fit"):
        bech32.convert_bits([256], 8, 5, pad=True)


# -- addresses -------------------------------------------------------------------------

PK = bytes.fromhex("a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed")


def test_address_is_sha256_prefix() -> None:
    address = address_from_public_key(PK)
    assert address == hashlib.sha256(PK).digest()[:20]
    assert len(address) == 20


def test_address_text_form() -> None:
    text = address_to_text(address_from_public_key(PK))
    assert text.startswith("qos1")
    assert len(text) == 42
    assert text == text.lower()
    assert address_from_text(text) == address_from_public_key(PK)
    assert address_from_text(text.upper()) == address_from_public_key(PK)


@given(st.binary(min_size=20, max_size=20))
def test_address_round_trip(raw: bytes) -> None:
    address = Address(raw)
    assert address_from_text(address_to_text(address)) == address


def test_public_key_must_be_32_bytes() -> None:
    with pytest.raises(InvalidAddress, match="32 bytes, got 31"):
        address_from_public_key(PK[:31])


def test_address_to_text_rejects_wrong_length() -> None:
    with pytest.raises(InvalidAddress, match="20 bytes, got 19"):
        address_to_text(Address(b"\x00" * 19))


def _valid_text() -> str:
    return address_to_text(address_from_public_key(PK))


def _flip_last_char(text: str) -> str:
    last = text[-1]
    replacement = bech32.CHARSET[(bech32.CHARSET.index(last) + 1) % 32]
    return text[:-1] + replacement


def test_error_bad_checksum() -> None:
    with pytest.raises(InvalidAddress, match="bad checksum"):
        address_from_text(_flip_last_char(_valid_text()))


def test_error_wrong_hrp() -> None:
    other = bech32.encode_bytes("cosmos", address_from_public_key(PK))
    with pytest.raises(InvalidAddress, match="wrong human-readable part 'cosmos'"):
        address_from_text(other)


def test_error_mixed_case() -> None:
    text = _valid_text()
    with pytest.raises(InvalidAddress, match="mixed upper and lower case"):
        address_from_text(text[:5].upper() + text[5:])


@pytest.mark.parametrize("size", [0, 19, 21, 32])
def test_error_wrong_length(size: int) -> None:
    with pytest.raises(InvalidAddress, match=f"wrong length: address payload is {size} bytes"):
        address_from_text(bech32.encode_bytes("qos", b"\x01" * size))


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t[:6] + "b" + t[7:], "invalid data character 'b' at position 6"),
        (lambda t: t[:6] + "o" + t[7:], "invalid data character 'o'"),
        (lambda t: t[:6] + "i" + t[7:], "invalid data character 'i'"),
        (lambda t: t + " ", "invalid character ' ' at position 42"),
        (lambda t: t[:10] + "\u00e9" + t[11:], "invalid character"),
        (lambda t: t.replace("1", ""), "missing separator"),
        (lambda t: t[:9], "checksum too short"),
    ],
)
def test_error_bad_chars(mangle: object, reason: str) -> None:
    assert callable(mangle)
    with pytest.raises(InvalidAddress, match=reason):
        address_from_text(mangle(_valid_text()))


def test_error_code_is_stable() -> None:
    with pytest.raises(InvalidAddress) as info:
        address_from_text("qos1")
    assert info.value.code == "invalid_address"


def _reference_polymod(values: list[int]) -> int:
    """BIP-173's reference ``bech32_polymod``, verbatim in structure."""
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def test_table_polymod_matches_the_reference() -> None:
    rng = random.Random(173)
    for n in range(0, 120):
        values = [rng.randrange(32) for _ in range(n)]
        assert bech32._polymod(values) == _reference_polymod(values)
