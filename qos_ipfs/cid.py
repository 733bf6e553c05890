"""CIDs: CIDv0 / CIDv1, sha2-256 multihashes, base58btc and base32 multibase.

This is the one module that owns the multiformats, and it imports no multiformats library:
we need exactly sha2-256 (0x12, 32 bytes), the codecs dag-pb (0x70) and raw (0x55), and the
multibases base58btc (CIDv0, ``z``) and base32 lower (``b``, RFC 4648 without padding). That
is ~150 lines we control exactly, with no dependency and no exposure to the import-name
clash between ``py-multiformats`` and hashberg's ``multiformats`` (both install the package
``multiformats`` and silently overwrite each other). Because other code in the environment
may still import ``multiformats``, importing this module refuses an environment where both
distributions are installed (:func:`check_multiformats_environment`).

Specs: https://github.com/multiformats/cid, multihash, multibase, multicodec table.
CIDs are stored and compared as bytes; text is only for display and parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from importlib import metadata
from typing import NewType

from qos_ipfs.errors import InvalidCid, MultiformatsConflict
from qos_ipfs.varint import VarintError, decode_varint, encode_varint

Codec = NewType("Codec", int)
DAG_PB = Codec(0x70)
RAW = Codec(0x55)
CODEC_NAMES: dict[int, str] = {DAG_PB: "dag-pb", RAW: "raw"}

SHA2_256 = 0x12
SHA2_256_LEN = 32

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_MULTIFORMATS_DISTRIBUTIONS = ("multiformats", "py-multiformats")


def check_multiformats_environment() -> None:
    """Refuse an environment where two distributions provide the import name
    ``multiformats``: whichever was installed last silently replaced the other's files."""
    found = []
    for dist in _MULTIFORMATS_DISTRIBUTIONS:
        try:
            found.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if len(found) > 1:
        raise MultiformatsConflict(
            f"both {' and '.join(found)} are installed; they share the import name "
            "'multiformats' and overwrite each other: uninstall both, then reinstall one"
        )


check_multiformats_environment()


# ------------------------------------------------------------------ multibase


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    num = int.from_bytes(data, "big")
    out = []
    while num:
        num, rem = divmod(num, 58)
        out.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise InvalidCid(f"invalid base58btc character {ch!r}")
        num = num * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, lower case, no padding (multibase ``b`` without the prefix)."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32decode(text: str) -> bytes:
    if text != text.lower() and text != text.upper():
        raise InvalidCid("base32 text mixes upper and lower case")
    if "=" in text:
        raise InvalidCid("base32 CIDs carry no padding")
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        data = base64.b32decode(padded)
    except binascii.Error as exc:
        raise InvalidCid(f"invalid base32: {exc}") from exc
    if b32encode(data) != text.lower():  # rejects non-canonical trailing bits / lengths
        raise InvalidCid("non-canonical base32")
    return data


# ------------------------------------------------------------------ multihash


def sha256_multihash(data: bytes | memoryview) -> bytes:
    return bytes((SHA2_256, SHA2_256_LEN)) + hashlib.sha256(data).digest()


def _check_multihash(mh: bytes) -> None:
    try:
        code, pos = decode_varint(mh)
        length, pos = decode_varint(mh, pos)
    except VarintError as exc:
        raise InvalidCid(f"bad multihash prefix: {exc}") from exc
    if code != SHA2_256:
        raise InvalidCid(f"unsupported multihash function 0x{code:x} (only sha2-256)")
    if length != SHA2_256_LEN or len(mh) - pos != SHA2_256_LEN:
        raise InvalidCid(f"sha2-256 digest must be 32 bytes, got {len(mh) - pos}")


# ------------------------------------------------------------------ CID


@dataclass(frozen=True, slots=True)
class CID:
    """A content identifier. ``multihash`` is the full multihash (code, length, digest)."""

    version: int
    codec: Codec
    multihash: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise InvalidCid(f"unsupported CID version {self.version}")
        if self.codec not in CODEC_NAMES:
            raise InvalidCid(f"unsupported codec 0x{self.codec:x} (dag-pb or raw only)")
        if self.version == 0 and self.codec != DAG_PB:
            raise InvalidCid("CIDv0 is always dag-pb")
        _check_multihash(self.multihash)

    @classmethod
    def hash(cls, data: bytes | memoryview, *, version: int = 1, codec: Codec = RAW) -> CID:
        """The CID of ``data`` (sha2-256)."""
        return cls(version, codec, sha256_multihash(data))

    @property
    def multihash_digest(self) -> bytes:
        return self.multihash[2:]

    def v1(self) -> CID:
        return self if self.version == 1 else CID(1, self.codec, self.multihash)

    def to_bytes(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        cid, end = cls.read_bytes(data)
        if end != len(data):
            raise InvalidCid(f"{len(data) - end} trailing bytes after CID")
        return cid

    @classmethod
    def read_bytes(cls, data: bytes | memoryview, pos: int = 0) -> tuple[CID, int]:
        """Decode the binary CID at ``data[pos:]`` (as in CAR sections): ``(cid, end)``."""
        if len(data) - pos >= 2 and data[pos] == SHA2_256 and data[pos + 1] == SHA2_256_LEN:
            end = pos + 2 + SHA2_256_LEN
            if end > len(data):
                raise InvalidCid("truncated CIDv0")
            return cls(0, DAG_PB, bytes(data[pos:end])), end
        try:
            version, p = decode_varint(data, pos)
            if version != 1:
                raise InvalidCid(f"unsupported CID version {version}")
            codec, p = decode_varint(data, p)
            _code, p2 = decode_varint(data, p)
            length, p2 = decode_varint(data, p2)
        except VarintError as exc:
            raise InvalidCid(f"malformed binary CID: {exc}") from exc
        end = p2 + length
        if end > len(data):
            raise InvalidCid("truncated multihash")
        return cls(1, Codec(codec), bytes(data[p:end])), end

    def encode(self) -> str:
        """v0: base58btc ``Qm...``; v1: multibase base32 lower ``b...`` (Kubo's defaults)."""
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse a CID text: CIDv0 (46 chars ``Qm...``) or CIDv1 in base32 or base58btc."""
        if not text:
            raise InvalidCid("empty CID")
        if len(text) == 46 and text.startswith("Qm"):
            data = b58decode(text)
            if len(data) != 34:
                raise InvalidCid("CIDv0 must decode to a 34-byte multihash")
            return cls(0, DAG_PB, data)
        prefix, body = text[0], text[1:]
        if prefix in "bB":
            data = b32decode(body)
        elif prefix == "z":
            data = b58decode(body)
        else:
            raise InvalidCid(f"unsupported multibase prefix {prefix!r} in {text[:16]!r}")
        cid = cls.from_bytes(data)
        if cid.version == 0:
            raise InvalidCid("a CIDv0 must be written in bare base58btc (Qm...)")
        return cid

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"CID({self.encode()!r})"
