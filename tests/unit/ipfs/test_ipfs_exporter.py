from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ipfs_inputs import golden_bytes

from qos_ipfs import dagpb, exporter, unixfs
from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.cid import CID, DAG_PB
from qos_ipfs.errors import InvalidRange, MalformedNode
from qos_ipfs.exporter import file_size, read_all, read_file
from qos_ipfs.importer import KUBO_V0, KUBO_V1, ImportResult, Profile, import_chunks


class CountingStore(MemoryBlockstore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, cid: CID) -> bytes:
        self.gets += 1
        return super().get(cid)


def _import(data: bytes, profile: Profile) -> tuple[CountingStore, ImportResult]:
    store = CountingStore()
    return store, import_chunks([data], profile, store.put)


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(max_size=300),
    chunk=st.integers(1, 9),
    links=st.integers(2, 4),
    raw=st.booleans(),
    offset=st.integers(0, 320),
    length=st.one_of(st.none(), st.integers(0, 320)),
)
def test_ranges_match_slicing(
    data: bytes, chunk: int, links: int, raw: bool, offset: int, length: int | None
) -> None:
    store, result = _import(data, Profile("t", 1 if raw else 0, raw, chunk, links))
    assert read_all(store, result.root) == data
    assert file_size(store, result.root) == len(data)
    end = None if length is None else offset + length
    assert b"".join(read_file(store, result.root, offset, length)) == data[offset:end]


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
def test_range_read_fetches_only_needed_blocks(profile: Profile) -> None:
    data = golden_bytes(3 * 262144 + 10)  # root + 4 leaves
    store, result = _import(data, profile)
    store.gets = 0
    piece = b"".join(read_file(store, result.root, 262144 + 5, 100))
    assert piece == data[262144 + 5 : 262144 + 105]
    assert store.gets == 2  # the root and the one leaf holding those bytes
    store.gets = 0
    pieces = list(read_file(store, result.root))
    assert [len(p) for p in pieces] == [262144, 262144, 262144, 10]  # streamed per leaf
    assert store.gets == 5


def test_invalid_ranges() -> None:
    store, result = _import(b"abc", KUBO_V1)
    with pytest.raises(InvalidRange):
        list(read_file(store, result.root, -1))
    with pytest.raises(InvalidRange):
        list(read_file(store, result.root, 0, -1))
    assert list(read_file(store, result.root, 1, 0)) == []
    assert list(read_file(store, result.root, 10)) == []


def _store_node(store: MemoryBlockstore, links: list[dagpb.PBLink], data: bytes | None) -> CID:
    block = dagpb.encode_node(links, data)
    cid = CID.hash(block, version=0, codec=DAG_PB)
    store.put(cid, block)
    return cid


def test_malformed_files() -> None:
    store = MemoryBlockstore()
    no_data = _store_node(store, [], None)
    directory = _store_node(store, [], unixfs.encode(unixfs.UnixFSData(unixfs.DataType.DIRECTORY)))
    leaf = CID.hash(b"x")
    store.put(leaf, b"x")
    mismatch = _store_node(
        store, [dagpb.PBLink(leaf, "", 1)], unixfs.encode(unixfs.UnixFSData(unixfs.DataType.FILE))
    )
    for cid, message in [(no_data, "no UnixFS data"), (directory, "directory, not a file"),
                         (mismatch, "1 links but 0 sizes")]:  # fmt: skip
        with pytest.raises(MalformedNode, match=message):
            read_all(store, cid)


def test_oversized_child_is_clipped_to_its_blocksize() -> None:
    store = MemoryBlockstore()
    leaf = CID.hash(b"abcdef")
    store.put(leaf, b"abcdef")
    data = unixfs.encode(unixfs.UnixFSData(unixfs.DataType.FILE, filesize=2, blocksizes=(2,)))
    root = _store_node(store, [dagpb.PBLink(leaf, "", 6)], data)
    assert read_all(store, root) == b"ab"
    assert file_size(store, root) == 2


def test_data_in_root_and_no_filesize() -> None:
    store = MemoryBlockstore()
    leaf = CID.hash(b"cd")
    store.put(leaf, b"cd")
    data = unixfs.encode(unixfs.UnixFSData(unixfs.DataType.RAW, b"ab", blocksizes=(2,)))
    root = _store_node(store, [dagpb.PBLink(leaf, "", 2)], data)
    assert read_all(store, root) == b"abcd"
    assert b"".join(read_file(store, root, 1, 2)) == b"bc"
    assert file_size(store, root) == 4


def test_depth_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store, result = _import(bytes(40), Profile("t", 1, True, 2, 2))  # 20 leaves: depth 5
    monkeypatch.setattr(exporter, "MAX_DEPTH", 2)
    with pytest.raises(MalformedNode, match="deeper than 2"):
        read_all(store, result.root)
