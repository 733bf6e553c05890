"""dag-pb and UnixFS encodings: exact bytes, round trips, strict decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qos_ipfs import unixfs
from qos_ipfs.cid import CID, DAG_PB
from qos_ipfs.dagpb import PBLink, PBNode, child_cids, decode_node, encode_node
from qos_ipfs.errors import MalformedNode
from qos_ipfs.unixfs import DataType, UnixFSData

EMPTY_FILE_NODE = bytes.fromhex("0a0408021800")  # QmbFMke1... (`ipfs add` of an empty file)


def test_empty_file_leaf_bytes() -> None:
    block = encode_node((), unixfs.file_leaf(b""))
    assert block == EMPTY_FILE_NODE
    assert CID.hash(block, version=0, codec=DAG_PB).encode() == (
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    )


def test_links_before_data_and_link_field_order() -> None:
    child = CID.hash(b"x")
    block = encode_node([PBLink(child, "", 7)], b"\x08\x02")
    raw = child.to_bytes()
    link = b"\x0a" + bytes([len(raw)]) + raw + b"\x12\x00" + b"\x18\x07"
    assert block == b"\x12" + bytes([len(link)]) + link + b"\x0a\x02\x08\x02"
    assert decode_node(block) == PBNode((PBLink(child, "", 7),), b"\x08\x02")
    assert child_cids(CID.hash(block, codec=DAG_PB), block) == (child,)
    assert child_cids(child, b"x") == ()


def test_blocksizes_are_unpacked() -> None:
    data = unixfs.encode(UnixFSData(DataType.FILE, filesize=3, blocksizes=(1, 2)))
    assert data == bytes.fromhex("0802180320012002")
    packed = bytes.fromhex("0802180322020102")
    assert unixfs.decode(packed) == unixfs.decode(data)


names = st.text(max_size=8)
links = st.builds(
    PBLink, st.builds(CID.hash, st.binary(max_size=4)), names, st.integers(0, 1 << 40)
)


@given(st.lists(links, max_size=5), st.one_of(st.none(), st.binary(max_size=40)))
def test_dagpb_roundtrip(link_list: list[PBLink], data: bytes | None) -> None:
    node = PBNode(tuple(link_list), data)
    assert decode_node(encode_node(node.links, node.data)) == node


@given(
    st.sampled_from(list(DataType)),
    st.one_of(st.none(), st.binary(max_size=40)),
    st.one_of(st.none(), st.integers(0, 1 << 50)),
    st.lists(st.integers(0, 1 << 30), max_size=5).map(tuple),
)
def test_unixfs_roundtrip(
    kind: DataType, data: bytes | None, filesize: int | None, sizes: tuple[int, ...]
) -> None:
    msg = UnixFSData(kind, data, filesize, sizes)
    assert unixfs.decode(unixfs.encode(msg)) == msg


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (b"\x0a\x00\x12\x00", "Links after Data"),
        (b"\x0a\x00\x0a\x00", "repeated PBNode.Data"),
        (b"\x1a\x00", "unknown PBNode field 3"),
        (b"\x12\x00", "without Hash"),
        (b"\x12\x02\x0a\x00", "not a supported CID"),
        (b"\x12\x04\x12\x00\x12\x00", "out of order"),
        (b"\x12\x02\x20\x01", "unknown PBLink field"),
        (b"\x10\x01", "must be length-delimited"),
        (b"\x0d\x00\x00\x00\x00", "wire type 5"),
        (b"\x0a\x05ab", "past the end"),
        (b"\x0a", "bad protobuf varint"),
        (b"\x02\x00", "field number 0"),
    ],
)
def test_dagpb_rejects(block: bytes, message: str) -> None:
    with pytest.raises(MalformedNode, match=message):
        decode_node(block)


def test_dagpb_rejects_bad_name() -> None:
    raw = CID.hash(b"x").to_bytes()
    link = b"\x0a" + bytes([len(raw)]) + raw + b"\x12\x01\xff"
    with pytest.raises(MalformedNode, match="UTF-8"):
        decode_node(b"\x12" + bytes([len(link)]) + link)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "without Type"),
        (b"\x08\x09", "unknown UnixFS type 9"),
        (b"\x08\x02\x48\x01", "unknown UnixFS field 9"),
        (b"\x08\x02\x22\x01\x80", "packed blocksizes"),
        (b"\x0a\x00", "must be a varint"),
    ],
)
def test_unixfs_rejects(data: bytes, message: str) -> None:
    with pytest.raises(MalformedNode, match=message):
        unixfs.decode(data)
