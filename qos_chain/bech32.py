"""Bech32 (BIP-173) checksummed text encoding.

Implements the reference algorithm of BIP-173 ("Base32 address format for native v0-16
witness outputs", section *Bech32*): a human-readable part (HRP), the separator ``1``, the
data part in the 32-character alphabet ``qpzry9x8gf2tvdw0s3jn54khce6mua7l`` and a 6-character
BCH checksum over the expanded HRP and the data. Strings are at most 90 characters, use
printable US-ASCII (33..126) in the HRP and are all lower case or all upper case; the
canonical (encoded) form is lower case.

This is plain Bech32 (checksum constant 1), not Bech32m (BIP-350): QOS addresses are not
segwit programs and never need the Bech32m length-extension fix.

Every malformed input raises :class:`qos_chain.errors.InvalidAddress` with a message that
says exactly what is wrong (bad character, mixed case, too long, no separator, empty HRP,
checksum too short, invalid data character, bad checksum, bad padding).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qos_chain.errors import InvalidAddress

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
"""The Bech32 data alphabet; a character's index is its 5-bit value."""

MAX_LENGTH = 90
CHECKSUM_LENGTH = 6
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}


def _generator_xor(top: int) -> int:
    """The XOR of the generators selected by the 5 bits of ``top``: what BIP-173's inner
    ``for i in range(5): chk ^= GEN[i] if ((top >> i) & 1) else 0`` adds for that ``top``."""
    out = 0
    for i, gen in enumerate(_GENERATOR):
        if (top >> i) & 1:
            out ^= gen
    return out


_GENERATOR_XOR = tuple(_generator_xor(top) for top in range(32))  # one lookup per symbol


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    table = _GENERATOR_XOR
    for value in values:
        chk = (chk & 0x1FFFFFF) << 5 ^ value ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: Sequence[int]) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(CHECKSUM_LENGTH)]


def encode(hrp: str, data: Sequence[int]) -> str:
    """Encode 5-bit values ``data`` under ``hrp``; returns the lower-case Bech32 string."""
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise InvalidAddress(f"invalid human-readable part {hrp!r}")
    if hrp.lower() != hrp:
        raise InvalidAddress("human-readable part must be lower case when encoding")
    if any(not 0 <= v < 32 for v in data):
        raise InvalidAddress("data values must be 5-bit integers (0..31)")
    text = hrp + "1" + "".join(CHARSET[v] for v in [*data, *_create_checksum(hrp, data)])
    if len(text) > MAX_LENGTH:
        raise InvalidAddress(f"encoded string would be {len(text)} characters (max {MAX_LENGTH})")
    return text


def decode(text: str) -> tuple[str, list[int]]:
    """Decode a Bech32 string into (lower-case HRP, 5-bit data values without checksum)."""
    for pos, char in enumerate(text):
        if not 33 <= ord(char) <= 126:
            raise InvalidAddress(f"invalid character {char!r} at position {pos}")
    if text.lower() != text and text.upper() != text:
        raise InvalidAddress("mixed upper and lower case")
    if len(text) > MAX_LENGTH:
        raise InvalidAddress(f"too long: {len(text)} characters (max {MAX_LENGTH})")
    text = text.lower()
    sep = text.rfind("1")
    if sep == -1:
        raise InvalidAddress("missing separator '1'")
    if sep == 0:
        raise InvalidAddress("empty human-readable part")
    hrp, data_part = text[:sep], text[sep + 1 :]
    if len(data_part) < CHECKSUM_LENGTH:
        raise InvalidAddress(
            f"checksum too short: {len(data_part)} data characters (min {CHECKSUM_LENGTH})"
        )
    data: list[int] = []
    for offset, char in enumerate(data_part):
        value = _CHARSET_INDEX.get(char)
        if value is None:
            raise InvalidAddress(f"invalid data character {char!r} at position {sep + 1 + offset}")
        data.append(value)
    if _polymod([*_hrp_expand(hrp), *data]) != 1:
        raise InvalidAddress("bad checksum")
    return hrp, data[:-CHECKSUM_LENGTH]


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    """Regroup a sequence of ``from_bits``-bit values into ``to_bits``-bit values.

    With ``pad`` the last group is zero-padded (encoding); without it, leftover bits must be
    fewer than ``from_bits`` and all zero (decoding), else :class:`InvalidAddress`.
    """
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise InvalidAddress(f"value {value} does not fit in {from_bits} bits")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise InvalidAddress("invalid padding in data part")
    return out


def encode_bytes(hrp: str, payload: bytes) -> str:
    """Bech32-encode 8-bit ``payload`` under ``hrp``."""
    return encode(hrp, convert_bits(payload, 8, 5, pad=True))


def decode_bytes(text: str) -> tuple[str, bytes]:
    """Decode a Bech32 string whose data part carries 8-bit bytes: (HRP, payload)."""
    hrp, data = decode(text)
    return hrp, bytes(convert_bits(data, 5, 8, pad=False))
