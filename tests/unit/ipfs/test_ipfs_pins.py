from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from blockstore_suite import STORE_KINDS, open_store

from qos_chain.db import memory_database, open_database
from qos_ipfs.blockstore import Blockstore
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound, PinError
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import ImportResult, Profile, import_chunks
from qos_ipfs.pins import PinMode, PinStore, gc, reachable

SMALL = Profile("small", 0, raw_leaves=False, chunk_size=4, max_links=3)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blockstore]:
    with open_store(request.param, tmp_path / "b") as opened:
        yield opened


def _add(store: Blockstore, data: bytes, profile: Profile = SMALL) -> ImportResult:
    return import_chunks([data], profile, store.put)


def test_pin_store_persists(tmp_path: Path) -> None:
    cid = CID.hash(b"a")
    pins = PinStore(open_database(tmp_path / "pins.db"))
    pins.add(cid, name="doc")
    again = PinStore(open_database(tmp_path / "pins.db"))  # migrations are idempotent
    pin = again.get(cid)
    assert pin is not None
    assert (pin.cid, pin.mode, pin.name) == (cid, PinMode.RECURSIVE, "doc")


def test_pin_modes() -> None:
    pins = PinStore(memory_database())
    a, b = CID.hash(b"a"), CID.hash(b"b")
    pins.add(a, recursive=False)
    pins.add(a)  # recursive replaces direct
    with pytest.raises(PinError, match="already pinned recursively"):
        pins.add(a, recursive=False)
    pins.add(b, recursive=False)
    assert [p.cid for p in pins.ls(PinMode.RECURSIVE)] == [a]
    assert [p.cid for p in pins.ls(PinMode.DIRECT)] == [b]
    assert len(pins.ls()) == 2
    pins.remove(b)
    assert pins.get(b) is None
    with pytest.raises(PinError, match="not pinned"):
        pins.remove(b)


def test_gc_keeps_pinned_dags_and_removes_the_rest(store: Blockstore) -> None:
    pins = PinStore(memory_database())
    kept = _add(store, bytes(range(100)))
    gone = _add(store, b"unpinned" * 20)
    direct = _add(store, bytes(range(100, 140)))
    shared = _add(store, bytes(range(8)))  # its two leaves are inside `kept` too
    pins.add(kept.root)
    pins.add(direct.root, recursive=False)
    before = {c.multihash for c in store.iter_cids()}
    shared_leaves = reachable(store, [shared.root]) - {shared.root.multihash}

    result = gc(store, pins)

    after = {c.multihash for c in store.iter_cids()}
    live = reachable(store, [kept.root])
    assert after == live | {direct.root.multihash}
    assert result.kept == len(after)
    assert {c.multihash for c in result.removed} == before - after
    assert read_all(store, kept.root) == bytes(range(100))
    assert store.has(direct.root)
    assert not store.has(gone.root)
    assert not store.has(shared.root)
    assert shared_leaves <= after
    assert gc(store, pins).removed == ()  # a second pass finds nothing


def test_gc_aborts_without_deleting_when_a_pinned_dag_is_incomplete(store: Blockstore) -> None:
    pins = PinStore(memory_database())
    pinned = _add(store, bytes(range(100)))
    _add(store, b"garbage!")
    pins.add(pinned.root)
    child = next(c for c in reachable(store, [pinned.root]) if c != pinned.root.multihash)
    store.delete(CID(0, pinned.root.codec, child))
    count = len(list(store.iter_cids()))
    with pytest.raises(BlockNotFound):
        gc(store, pins)
    assert len(list(store.iter_cids())) == count
