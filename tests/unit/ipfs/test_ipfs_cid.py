from __future__ import annotations

import base64
import hashlib
from importlib import metadata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qos_ipfs import cid as cid_module
from qos_ipfs.cid import CID, DAG_PB, RAW, Codec, b32decode, b32encode, b58decode, b58encode
from qos_ipfs.errors import InvalidCid, MultiformatsConflict
from qos_ipfs.varint import VarintError, decode_varint, encode_varint

EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
EMPTY_V1 = "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y"
EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_known_cids() -> None:
    v0 = CID.parse(EMPTY_V0)
    assert (v0.version, v0.codec) == (0, DAG_PB)
    assert v0.to_bytes() == v0.multihash
    assert v0.encode() == EMPTY_V0
    assert v0.v1().encode() == EMPTY_V1
    assert v0.v1().v1() == v0.v1()
    raw = CID.hash(b"")
    assert raw.encode() == EMPTY_RAW
    assert raw.multihash_digest == hashlib.sha256(b"").digest()
    assert CID.parse(EMPTY_RAW) == raw
    assert CID.from_bytes(raw.to_bytes()) == raw
    assert str(raw) == EMPTY_RAW
    assert repr(raw) == f"CID({EMPTY_RAW!r})"


def test_v0_and_v1_differ_but_share_multihash() -> None:
    v0 = CID.parse(EMPTY_V0)
    assert v0 != v0.v1()
    assert v0.multihash == v0.v1().multihash


def test_other_multibases_parse() -> None:
    raw = CID.parse(EMPTY_RAW)
    assert CID.parse("B" + EMPTY_RAW[1:].upper()) == raw
    assert CID.parse("z" + b58encode(raw.to_bytes())) == raw


@given(st.binary(max_size=64), st.sampled_from([0, 1]), st.sampled_from([DAG_PB, RAW]))
def test_roundtrip(data: bytes, version: int, codec: Codec) -> None:
    if version == 0:
        codec = DAG_PB
    cid = CID.hash(data, version=version, codec=codec)
    assert CID.parse(cid.encode()) == cid
    assert CID.from_bytes(cid.to_bytes()) == cid
    assert CID.read_bytes(cid.to_bytes() + b"tail") == (cid, len(cid.to_bytes()))


@given(st.binary(max_size=80))
def test_multibase_roundtrip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data
    assert b32decode(b32encode(data)) == data
    assert b32encode(data) == base64.b32encode(data).decode().rstrip("=").lower()


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_varint_roundtrip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))


@pytest.mark.parametrize("bad", [b"", b"\x80", b"\x80\x00", b"\xff" * 9 + b"\x01"])
def test_varint_rejects(bad: bytes) -> None:
    with pytest.raises(VarintError):
        decode_varint(bad)


def test_varint_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_varint(-1)
    with pytest.raises(ValueError, match="out of range"):
        encode_varint(1 << 63)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("xyz", "multibase prefix"),
        ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1Aw0H", "base58btc character"),
        ("bafybei!", "base32"),
        ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk", "invalid base32"),
        ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykuaa", "trailing"),
        ("bafkREI", "mixes"),
        ("bab", "non-canonical"),
        ("bafkrei=", "padding"),
        ("b" + b32encode(b"\x02\x55\x12\x20" + bytes(32)), "version 2"),
        ("b" + b32encode(b"\x01\x71\x12\x20" + bytes(32)), "codec 0x71"),
        ("b" + b32encode(b"\x01\x55\x13\x20" + bytes(32)), "multihash function 0x13"),
        ("b" + b32encode(b"\x01\x55\x12\x10" + bytes(16)), "32 bytes"),
        ("b" + b32encode(b"\x01\x55\x12\x20" + bytes(31)), "truncated"),
        ("b" + b32encode(b"\x01\x55\x12"), "truncated varint"),
        ("z" + b58encode(b"\x12\x20" + bytes(32)), "bare base58btc"),
        ("b" + b32encode(b"\x01\x80"), "malformed binary CID"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidCid, match=message):
        CID.parse(text)


def test_constructor_checks() -> None:
    mh = CID.hash(b"x").multihash
    with pytest.raises(InvalidCid, match="always dag-pb"):
        CID(0, RAW, mh)
    with pytest.raises(InvalidCid, match="version 3"):
        CID(3, RAW, mh)
    with pytest.raises(InvalidCid, match="truncated CIDv0"):
        CID.from_bytes(mh[:10])


def test_multiformats_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"multiformats": "0.3.1", "py-multiformats": "0.1"}

    def fake_version(name: str) -> str:
        if name in installed:
            return installed[name]
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", fake_version)
    with pytest.raises(MultiformatsConflict, match="share the import name"):
        cid_module.check_multiformats_environment()
    del installed["py-multiformats"]
    cid_module.check_multiformats_environment()  # one of them alone is fine


def test_multihash_prefix_must_be_varints() -> None:
    with pytest.raises(InvalidCid, match="bad multihash prefix"):
        CID(1, RAW, b"\x80")
