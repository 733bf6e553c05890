"""Conformance suite every ``Blockstore`` implementation passes.

Use: subclass ``BlockstoreSuite`` in a test module and provide a ``store`` fixture
(parametrised over the implementations), as py-evm's ``DatabaseAPITestSuite`` does.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qos_ipfs.blockstore import Blockstore, FileBlockstore, MemoryBlockstore
from qos_ipfs.cid import CID, DAG_PB, RAW
from qos_ipfs.errors import BlockNotFound, HashMismatch
from qos_ipfs.packstore import PackBlockstore

DATA = b"conformance block"
RAW_CID = CID.hash(DATA, version=1, codec=RAW)

STORE_KINDS = ["memory", "file", "pack", "pack-buffered", "pack-tmpfs"]
"""Every implementation: the pack store with O_DIRECT (where the file system takes it),
forced buffered, and on tmpfs (which refuses O_DIRECT: the EINVAL fallback)."""
TMPFS = Path("/dev/shm")


@contextlib.contextmanager
def open_store(kind: str, path: Path) -> Iterator[Blockstore]:
    if kind == "memory":
        yield MemoryBlockstore()
    elif kind == "file":
        yield FileBlockstore(path)
    elif kind in ("pack", "pack-buffered"):
        with PackBlockstore(path, direct=kind == "pack") as store:
            yield store
    elif kind == "pack-tmpfs":
        if not TMPFS.is_dir():
            pytest.skip("no tmpfs at /dev/shm")
        with tempfile.TemporaryDirectory(dir=TMPFS) as tmp, PackBlockstore(tmp) as store:
            yield store
    else:
        raise ValueError(kind)


class BlockstoreSuite:
    def test_put_get_has(self, store: Blockstore) -> None:
        assert not store.has(RAW_CID)
        store.put(RAW_CID, DATA)
        assert store.has(RAW_CID)
        assert store.get(RAW_CID) == DATA

    def test_put_is_idempotent(self, store: Blockstore) -> None:
        store.put(RAW_CID, DATA)
        store.put(RAW_CID, DATA)
        assert list(store.iter_cids()) == [RAW_CID]

    def test_versions_and_codecs_dedupe_by_multihash(self, store: Blockstore) -> None:
        v0 = CID(0, DAG_PB, RAW_CID.multihash)
        store.put(v0, DATA)
        assert store.has(RAW_CID)
        assert store.has(v0.v1())
        assert store.get(RAW_CID) == DATA
        store.put(RAW_CID, DATA)
        assert len(list(store.iter_cids())) == 1

    def test_put_refuses_wrong_bytes(self, store: Blockstore) -> None:
        with pytest.raises(HashMismatch):
            store.put(RAW_CID, DATA + b"!")
        assert not store.has(RAW_CID)

    def test_missing(self, store: Blockstore) -> None:
        with pytest.raises(BlockNotFound):
            store.get(RAW_CID)
        with pytest.raises(BlockNotFound):
            store.delete(RAW_CID)

    def test_delete(self, store: Blockstore) -> None:
        store.put(RAW_CID, DATA)
        store.delete(CID(0, DAG_PB, RAW_CID.multihash))
        assert not store.has(RAW_CID)
        assert list(store.iter_cids()) == []

    def test_iter_cids_yields_raw_v1_per_multihash(self, store: Blockstore) -> None:
        blocks = {CID.hash(bytes([i]), version=1, codec=DAG_PB): bytes([i]) for i in range(20)}
        for cid, data in blocks.items():
            store.put(cid, data)
        listed = list(store.iter_cids())
        assert len(listed) == 20
        assert {c.multihash for c in listed} == {c.multihash for c in blocks}
        assert all(c.version == 1 and c.codec == RAW for c in listed)

    def test_empty_block(self, store: Blockstore) -> None:
        empty = CID.hash(b"")
        store.put(empty, b"")
        assert store.get(empty) == b""
