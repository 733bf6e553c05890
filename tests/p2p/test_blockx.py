"""/qos/blocks/1.0.0: codec and limits, and whole UnixFS DAGs fetched host to host.

The port-level behaviour (one block, many, missing, lying peer, limits) runs on both
implementations in the conformance suite; here: the wire format's bounds, and fetch_dag of
multi-chunk files imported with the Kubo-exact importer, over MemoryNetwork and over two
real Libp2pNetwork hosts in one trio process.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import pytest
import trio

from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.cid import CID
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import KUBO_V0, KUBO_V1, UNIXFS_V1_2025, Profile, import_chunks
from qos_ipfs.remote import BlocksUnavailable, fetch_dag
from qos_node.block_exchange import blockstore_source, network_fetcher
from qos_p2p import blockx
from qos_p2p.limits import DEFAULT_LIMITS, MAX_CID_BYTES
from qos_p2p.port import BlockExchangeFailed, Network
from tests.p2p.harness import libp2p_nets, memory_nets

MiB = 1024 * 1024
LIMITS = DEFAULT_LIMITS
Nets = Callable[..., AbstractAsyncContextManager[list[Network]]]
IMPLEMENTATIONS = {"memory": memory_nets, "libp2p": libp2p_nets}


def deterministic(size: int, seed: bytes = b"qos") -> bytes:
    """`size` pseudo-random bytes (sha256 counter mode): incompressible, reproducible."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:size])


def cid_of(data: bytes) -> bytes:
    return CID.hash(data).to_bytes()


# ------------------------------------------------------------------ codec and limits


def test_request_round_trip_and_bounds() -> None:
    cids = [cid_of(bytes([i])) for i in range(LIMITS.max_block_request_count)]
    raw = blockx.encode_request(cids)
    assert blockx.decode_request(raw, LIMITS) == cids
    assert len(raw) <= blockx.request_frame_limit(LIMITS)
    too_many = blockx.encode_request([*cids, cids[0]])
    for bad in (b"", b"\0\0\0\0", too_many, raw + b"x", raw[:-1]):
        with pytest.raises(BlockExchangeFailed):
            blockx.decode_request(bad, LIMITS)
    with pytest.raises(BlockExchangeFailed):
        blockx.decode_request(blockx.encode_request([b"c" * (MAX_CID_BYTES + 1)]), LIMITS)


def test_answer_missing_found_omitted() -> None:
    store = {cid_of(b"a"): b"a", cid_of(b"b" * 3): b"b" * 3}
    absent, garbage = cid_of(b"none"), b"\x01\x55garbage"
    request = blockx.encode_request([*store, absent, garbage])

    async def main() -> None:
        raw, served = await blockx.answer(request, store.get, LIMITS)
        assert served == 2
        entries = blockx.decode_answer(raw, 4, LIMITS)
        assert entries == [b"a", b"b" * 3, None, None]
        raw, served = await blockx.answer(request, None, LIMITS)  # no source: all missing
        assert (served, blockx.decode_answer(raw, 4, LIMITS)) == (0, [None] * 4)

        def broken(cid: bytes) -> bytes | None:
            raise OSError("disk gone")

        raw, served = await blockx.answer(request, broken, LIMITS)  # a failing source: misses
        assert served == 0
        # the byte budget: the first block always goes, later ones are OMITTED (ask again)
        small = replace(LIMITS, max_block_response_bytes=2, max_block_bytes=8)
        raw, served = await blockx.answer(request, store.get, small)
        assert served == 1
        assert blockx.decode_answer(raw, 4, small) == [b"a", blockx.OMIT, blockx.OMIT, blockx.OMIT]

    trio.run(main)


def test_malformed_answers_refused() -> None:
    good = b"\0\0\0\x01\x01\0\0\0\x01x"
    assert blockx.decode_answer(good, 1, LIMITS) == [b"x"]
    over_block = b"\0\0\0\x01\x01" + (LIMITS.max_block_bytes + 1).to_bytes(4, "big")
    for bad, count in (
        (b"", 1),
        (good, 2),  # wrong entry count
        (good + b"y", 1),  # trailing bytes
        (good[:-1], 1),  # truncated block
        (b"\0\0\0\x01\x07", 1),  # unknown status
        (over_block, 1),  # a block over max_block_bytes, refused before it is read
    ):
        with pytest.raises(blockx.MalformedAnswer):
            blockx.decode_answer(bad, count, LIMITS)


def test_answer_over_the_byte_limit_refused() -> None:
    limits = replace(LIMITS, max_block_response_bytes=4, max_block_bytes=4)
    two = b"\0\0\0\x02" + (b"\x01\0\0\0\x03abc") * 2
    with pytest.raises(blockx.MalformedAnswer):
        blockx.decode_answer(two, 2, limits)


# ------------------------------------------------------------------ whole DAGs


def _import(data: bytes, profile: Profile) -> tuple[CID, MemoryBlockstore, int]:
    store = MemoryBlockstore()
    result = import_chunks([data], profile, store.put)
    return result.root, store, result.blocks


async def _fetch_file(nets: Nets, data: bytes, profile: Profile) -> tuple[float, int]:
    root, source_store, nblocks = _import(data, profile)
    async with nets(2) as (a, b):
        a.set_block_source(blockstore_source(source_store))
        local = MemoryBlockstore()
        started = time.perf_counter()
        result = await fetch_dag(root, local, network_fetcher(b, a.peer_id))
        elapsed = time.perf_counter() - started
        assert result.blocks == nblocks
        assert result.fetched == nblocks
        assert read_all(local, root) == data
        assert sorted(c.multihash for c in local.iter_cids()) == sorted(
            c.multihash for c in source_store.iter_cids()
        )
        # a second fetch finds everything locally and asks nobody
        again = await fetch_dag(root, local, network_fetcher(b, None))
        assert (again.blocks, again.fetched) == (nblocks, 0)
        assert a.stats().blocks_served == nblocks
        assert b.stats().blocks_fetched == nblocks
    return elapsed, nblocks


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1, UNIXFS_V1_2025], ids=lambda p: p.name)
def test_fetch_dag_of_a_3_mib_file(impl: str, profile: Profile) -> None:
    data = deterministic(3 * MiB, profile.name.encode())

    async def main() -> None:
        with trio.fail_after(60):
            elapsed, nblocks = await _fetch_file(IMPLEMENTATIONS[impl], data, profile)
        print(f"{impl} {profile.name}: {nblocks} blocks, {len(data) / elapsed / 1e6:.1f} MB/s")

    trio.run(main)


def test_fetch_dag_from_any_peer_skips_a_liar_and_reports_missing() -> None:
    data = deterministic(MiB + 1, b"liar")
    root, honest_store, nblocks = _import(data, KUBO_V1)

    def lie(cid: bytes) -> bytes | None:
        block = blockstore_source_sync(honest_store, cid)
        return None if block is None else block[::-1]

    async def main() -> None:
        async with memory_nets(3) as (a, b, c):
            b.set_block_source(lie)
            local = MemoryBlockstore()
            with pytest.raises(BlocksUnavailable) as info:
                await fetch_dag(root, local, network_fetcher(a, b.peer_id))
            assert info.value.missing == (root,)
            assert a.stats().blocks_rejected == 1
            c.set_block_source(blockstore_source(honest_store))
            result = await fetch_dag(root, local, network_fetcher(a, None))
            assert result.fetched == nblocks
            assert read_all(local, root) == data

    trio.run(main)


def blockstore_source_sync(store: MemoryBlockstore, cid: bytes) -> bytes | None:
    c = CID.from_bytes(cid)
    return store.get(c) if store.has(c) else None
