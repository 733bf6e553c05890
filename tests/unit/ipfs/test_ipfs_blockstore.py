from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from blockstore_suite import DATA, RAW_CID, STORE_KINDS, BlockstoreSuite, open_store

from qos_ipfs.blockstore import Blockstore, FileBlockstore
from qos_ipfs.cid import CID, DAG_PB
from qos_ipfs.errors import BlockstoreError, CorruptBlock


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blockstore]:
    with open_store(request.param, tmp_path / "blocks") as opened:
        yield opened


class TestBlockstoreConformance(BlockstoreSuite):
    pass


def test_flatfs_layout(tmp_path: Path) -> None:
    store = FileBlockstore(tmp_path)
    store.put(RAW_CID, DATA)
    path = store.path_for(RAW_CID)
    key = path.name.removesuffix(".data")
    assert key.startswith("CIQ")  # base32 of 0x12 0x20 ..., as in Kubo's flatfs
    assert path.parent.name == key[-3:-1]
    assert path.read_bytes() == DATA
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_corruption_is_never_served(tmp_path: Path) -> None:
    store = FileBlockstore(tmp_path)
    store.put(RAW_CID, DATA)
    store.path_for(RAW_CID).write_bytes(b"bit rot")
    with pytest.raises(CorruptBlock):
        store.get(RAW_CID)
    assert issubclass(CorruptBlock, BlockstoreError)


def test_iter_ignores_foreign_files(tmp_path: Path) -> None:
    store = FileBlockstore(tmp_path)
    store.put(RAW_CID, DATA)
    (tmp_path / "XX").mkdir()
    (tmp_path / "XX" / "NOT-BASE32!.data").write_bytes(b"")
    (tmp_path / "XX" / "AAAA.data").write_bytes(b"")  # base32, but not a sha2-256 multihash
    (tmp_path / "stray-file").write_bytes(b"")
    assert list(store.iter_cids()) == [RAW_CID]


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileBlockstore(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put(RAW_CID, DATA)
    monkeypatch.undo()
    assert not store.has(RAW_CID)
    assert list(store.path_for(RAW_CID).parent.iterdir()) == []


def test_reopen_sees_blocks(tmp_path: Path) -> None:
    FileBlockstore(tmp_path).put(RAW_CID, DATA)
    assert FileBlockstore(tmp_path).get(CID(0, DAG_PB, RAW_CID.multihash)) == DATA
