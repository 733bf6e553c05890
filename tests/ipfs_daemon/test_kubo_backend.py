"""The Kubo backend against a real daemon (js-ipfs 0.66.1, or Kubo with ``KUBO_BIN``).

The shared Blockstore conformance suite runs unchanged against ``KuboBlockstore``; then
pins, GC, CAR round trips, ``/api/v0/add`` CIDs versus our importer and the vectors, and
what happens with unknown CIDs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from blockstore_suite import BlockstoreSuite
from daemon import Daemon
from ipfs_inputs import golden_bytes, load_vectors

from qos_chain.db import memory_database
from qos_ipfs.backend import EmbeddedBackend, KuboBackend, KuboBlockstore
from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.car import export_car
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound, KuboError, MalformedCar, PinError
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import KUBO_V0, KUBO_V1, PROFILES, UNIXFS_V1_2025, import_chunks
from qos_ipfs.kubo import KuboClient, add_params
from qos_ipfs.pins import PinMode, PinStore

pytestmark = pytest.mark.slow

SMALL_MAX = 2_000_000
ADD_COLUMNS = {"kubo_v0": "kubo-v0", "kubo_v1": "kubo-v1"}


def _data(vec: dict[str, Any]) -> bytes:
    if "bytes_utf8" in vec:
        return str(vec["bytes_utf8"]).encode()
    return golden_bytes(int(vec["size"]))


def _small_vectors() -> list[Any]:
    return [
        pytest.param(vec, column, id=f"{vec['name']}-{column}")
        for vec in load_vectors()
        if int(vec.get("size", 0)) <= SMALL_MAX
        for column in ("kubo_v0", "kubo_v1", "unixfs_v1_2025")
        if column in vec
    ]


@pytest.fixture
def store(kubo_client: KuboClient, daemon_own_blocks: dict[CID, bytes]) -> Iterator[KuboBlockstore]:
    """An empty daemon blockstore: its own MFS root block is set aside for the test and
    put back afterwards (the suite expects ``iter_cids`` to list only its blocks)."""
    store = KuboBlockstore(kubo_client)
    for cid in daemon_own_blocks:
        if store.has(cid):
            store.delete(cid)
    try:
        yield store
    finally:
        for cid, data in daemon_own_blocks.items():
            store.put(cid, data)


@pytest.fixture
def backend(kubo_client: KuboClient) -> KuboBackend:
    return KuboBackend(kubo_client)


class TestKuboBlockstoreConformance(BlockstoreSuite):
    pass


def test_daemon_identity(ipfs_daemon: Daemon, kubo_client: KuboClient) -> None:
    assert kubo_client.version()["Version"]
    assert kubo_client.id()["ID"]
    assert ipfs_daemon.kind in ("js-ipfs", "kubo")


@pytest.mark.parametrize(("vec", "column"), _small_vectors())
def test_import_through_backend_gives_vector_cids(
    ipfs_daemon: Daemon, backend: KuboBackend, vec: dict[str, Any], column: str
) -> None:
    data = _data(vec)
    profile = PROFILES[column.replace("_", "-")]
    if ipfs_daemon.kind == "js-ipfs" and len(data) >= profile.chunk_size == 1 << 20:
        # js-ipfs caps a whole block/put request body at 1 MiB (hapi maxBytes), so a full
        # 1 MiB leaf plus the multipart envelope is refused; Kubo takes blocks up to 1 MiB.
        with pytest.raises(KuboError, match="maximum allowed"):
            backend.add(io.BytesIO(data), profile)
        return
    result = backend.add(io.BytesIO(data), profile)
    assert result.root.encode() == vec[column]
    assert b"".join(backend.cat(result.root)) == data
    assert [p.cid for p in backend.pins()] == [result.root]


@pytest.mark.parametrize(
    ("vec", "column"), [p for p in _small_vectors() if p.values[1] in ADD_COLUMNS]
)
def test_daemon_add_equals_vectors_and_our_importer(
    kubo_client: KuboClient, vec: dict[str, Any], column: str
) -> None:
    """``/api/v0/add`` with :func:`add_params` gives the vector CID and our importer's."""
    data = _data(vec)
    profile = PROFILES[ADD_COLUMNS[column]]
    added = kubo_client.add(iter([data[:1000], data[1000:]]), add_params(profile))
    ours = import_chunks([data], profile).root
    assert added.cid == ours
    assert added.cid.encode() == vec[column]
    only = kubo_client.add(io.BytesIO(data), add_params(profile, pin=False, only_hash=True))
    assert only.cid == ours


def test_unixfs_v1_2025_has_no_add_equivalent() -> None:
    with pytest.raises(Exception, match="no /api/v0/add equivalent"):
        add_params(UNIXFS_V1_2025)


def test_cat_ranges_verified(backend: KuboBackend, kubo_client: KuboClient) -> None:
    data = golden_bytes(700_000)
    root = backend.add(io.BytesIO(data), KUBO_V1).root
    assert b"".join(backend.cat(root, 300_000, 1000)) == data[300_000:301_000]
    assert b"".join(kubo_client.cat(root, 300_000, 1000)) == data[300_000:301_000]
    assert b"".join(kubo_client.cat(root)) == data


def test_pin_unpin_gc(backend: KuboBackend) -> None:
    kept = backend.add(io.BytesIO(golden_bytes(600_000)), KUBO_V0).root
    dropped = backend.add(io.BytesIO(b"temporary"), KUBO_V0, pin=False).root
    direct = CID.hash(b"direct block")
    backend.blocks.put(direct, b"direct block")
    backend.pin(direct, recursive=False)
    modes = {p.cid: p.mode for p in backend.pins()}
    assert modes == {kept: PinMode.RECURSIVE, direct: PinMode.DIRECT}
    result = backend.gc()
    assert dropped.multihash in {c.multihash for c in result.removed}
    assert backend.blocks.has(direct)
    assert b"".join(backend.cat(kept)) == golden_bytes(600_000)
    with pytest.raises(PinError):
        backend.pin(kept, recursive=False)  # already pinned recursively
    backend.unpin(kept)
    with pytest.raises(PinError):
        backend.unpin(kept)
    backend.gc()
    assert not backend.blocks.has(kept)
    assert backend.blocks.has(direct)


def test_pin_unknown_cid_is_block_not_found(backend: KuboBackend) -> None:
    with pytest.raises(BlockNotFound):
        backend.pin(CID.hash(b"never stored"))
    with pytest.raises(BlockNotFound):
        backend.blocks.get(CID.hash(b"never stored"))


def test_car_round_trip_equals_our_car(backend: KuboBackend) -> None:
    data = golden_bytes(1_048_577)
    local = MemoryBlockstore()
    root = import_chunks([data], KUBO_V0, local.put).root
    ours = b"".join(export_car(local, root))
    imported = backend.import_car(io.BytesIO(ours))
    assert imported.roots == (root,)
    assert imported.blocks == sum(1 for _ in local.iter_cids())
    assert [p.cid for p in backend.pins()] == [root]  # pin-roots
    exported = b"".join(backend.export_car(root))
    assert exported == ours
    # and the daemon's own export, imported into an embedded store, reads back the file
    embedded = EmbeddedBackend(MemoryBlockstore(), PinStore(memory_database()))
    embedded.import_car(io.BytesIO(exported))
    assert read_all(embedded.blocks, root) == data


def test_car_import_refuses_corrupt_car(backend: KuboBackend) -> None:
    local = MemoryBlockstore()
    root = import_chunks([b"x" * 1000], KUBO_V1, local.put).root
    car = bytearray(b"".join(export_car(local, root)))
    car[-1] ^= 1
    with pytest.raises(MalformedCar):
        backend.import_car(io.BytesIO(bytes(car)))
    assert backend.pins() == []
