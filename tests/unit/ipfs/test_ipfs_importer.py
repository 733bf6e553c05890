"""Importer: the bottom-up streaming builder equals go-unixfs' recursive balanced layout."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qos_ipfs import dagpb, unixfs
from qos_ipfs.cid import CID, DAG_PB, RAW
from qos_ipfs.errors import UnknownProfile
from qos_ipfs.importer import (
    KUBO_V0,
    KUBO_V1,
    Importer,
    Profile,
    get_profile,
    import_chunks,
    import_file,
    only_hash,
)


class _GoBalanced:
    """A direct port of boxo ``importer/balanced`` (Layout + fillNodeRec), pulling chunks."""

    def __init__(self, data: bytes, profile: Profile) -> None:
        size = profile.chunk_size
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.profile = profile

    def done(self) -> bool:
        return not self.chunks

    def leaf(self) -> tuple[CID, int, int]:
        chunk = self.chunks.pop(0) if self.chunks else b""
        if self.profile.raw_leaves:
            return CID.hash(chunk), len(chunk), len(chunk)
        block = dagpb.encode_node((), unixfs.file_leaf(chunk))
        cid = CID.hash(block, version=self.profile.cid_version, codec=DAG_PB)
        return cid, len(chunk), len(block)

    def node(self, children: list[tuple[CID, int, int]]) -> tuple[CID, int, int]:
        sizes = tuple(c[1] for c in children)
        data = unixfs.encode(
            unixfs.UnixFSData(unixfs.DataType.FILE, filesize=sum(sizes), blocksizes=sizes)
        )
        block = dagpb.encode_node([dagpb.PBLink(c[0], "", c[2]) for c in children], data)
        cid = CID.hash(block, version=self.profile.cid_version, codec=DAG_PB)
        return cid, sum(sizes), len(block) + sum(c[2] for c in children)

    def fill(self, children: list[tuple[CID, int, int]], depth: int) -> tuple[CID, int, int]:
        while len(children) < self.profile.max_links and not self.done():
            children.append(self.leaf() if depth == 1 else self.fill([], depth - 1))
        return self.node(children)

    def layout(self) -> CID:
        root = self.leaf()
        depth = 1
        while not self.done():
            root = self.fill([root], depth)
            depth += 1
        return root[0]


def _pieces(data: bytes, cut: int) -> Iterator[bytes]:
    for i in range(0, len(data), cut):
        yield data[i : i + cut]


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(0, 400),
    chunk=st.integers(1, 7),
    max_links=st.integers(2, 5),
    raw=st.booleans(),
    cut=st.integers(1, 50),
)
def test_streaming_builder_equals_recursive_balanced(
    size: int, chunk: int, max_links: int, raw: bool, cut: int
) -> None:
    profile = Profile("t", 1 if raw else 0, raw, chunk, max_links)
    data = bytes(i % 251 for i in range(size))
    result = import_chunks(_pieces(data, cut), profile)
    assert result.root == _GoBalanced(data, profile).layout()
    assert result.size == size


def test_sink_receives_every_block_children_first() -> None:
    profile = Profile("t", 1, True, 4, 3)
    blocks: list[tuple[CID, bytes]] = []
    data = bytes(range(50))
    result = import_chunks([data], profile, lambda cid, block: blocks.append((cid, block)))
    assert blocks[-1][0] == result.root
    assert result.blocks == len(blocks)
    assert result.tsize == sum(len(b) for _, b in blocks)
    seen: set[CID] = set()
    for cid, block in blocks:
        assert CID.hash(block, version=cid.version, codec=cid.codec) == cid
        assert set(dagpb.child_cids(cid, block)) <= seen
        seen.add(cid)


def test_profiles_and_modes() -> None:
    data = b"hello world\n"
    v0 = import_file(io.BytesIO(data), KUBO_V0)
    assert v0.root.encode() == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert only_hash([data], get_profile("kubo-v1")) == CID.hash(data, codec=RAW)
    assert import_file(io.BytesIO(data), KUBO_V1).root == only_hash(
        [b"hello ", b"world\n"], KUBO_V1
    )
    with pytest.raises(UnknownProfile, match="kubo-v2"):
        get_profile("kubo-v2")
    with pytest.raises(ValueError, match="raw leaves need CIDv1"):
        Profile("bad", 0, True, 10, 10)
    with pytest.raises(ValueError, match="max_links"):
        Profile("bad", 1, True, 10, 1)


def test_importer_is_single_use() -> None:
    importer = Importer(KUBO_V1)
    importer.write(b"x")
    importer.finish()
    with pytest.raises(ValueError, match="finished"):
        importer.write(b"y")
    with pytest.raises(ValueError, match="finished"):
        importer.finish()
