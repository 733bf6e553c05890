"""Tests for qos_app.store.MerkleStore: the incremental app hash equals a from-scratch one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qos_app.store import N_BUCKETS, MerkleStore, bucket_of, entry_leaf
from qos_chain.db import memory_database, open_database
from qos_chain.merkle import EMPTY_ROOT, merkle_root

# four keys that share one bucket (found by search), so buckets with several entries occur
SAME_BUCKET = (b"k0", b"k80058", b"k182973", b"k315740")

Writes = dict[bytes, bytes | None]


def bucket_root_of(model: dict[bytes, bytes], bucket: int) -> bytes:
    keys = sorted(k for k in model if bucket_of(k) == bucket)
    if not keys:
        return EMPTY_ROOT
    return merkle_root([entry_leaf(k, hashlib.sha256(model[k]).digest()) for k in keys])


def reference_app_hash(model: dict[bytes, bytes]) -> bytes:
    """The app hash recomputed from scratch: Merkle root over all 65,536 bucket roots."""
    by_bucket: dict[int, list[bytes]] = {}
    for k in model:
        by_bucket.setdefault(bucket_of(k), []).append(k)
    roots = [EMPTY_ROOT] * N_BUCKETS
    for b in by_bucket:
        roots[b] = bucket_root_of(model, b)
    return merkle_root(roots)


def apply(model: dict[bytes, bytes], writes: Writes) -> None:
    for k, v in writes.items():
        if v is None:
            model.pop(k, None)
        else:
            model[k] = v


keys = st.one_of(st.sampled_from(SAME_BUCKET), st.binary(max_size=6))
values = st.binary(max_size=12)
batch = st.dictionaries(keys, st.one_of(st.none(), values), max_size=6)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_same_bucket_keys_share_a_bucket() -> None:
    assert len({bucket_of(k) for k in SAME_BUCKET}) == 1


def test_empty_store_hash_is_the_root_of_empty_buckets() -> None:
    s = MerkleStore(memory_database())
    assert s.app_hash == reference_app_hash({})
    assert s.height == 0


@SETTINGS
@given(batches=st.lists(batch, min_size=1, max_size=4))
def test_app_hash_matches_from_scratch_recomputation(batches: list[Writes]) -> None:
    s = MerkleStore(memory_database())
    model: dict[bytes, bytes] = {}
    for height, writes in enumerate(batches, start=1):
        staged = s.stage(writes, height)
        assert s.commit() == staged
        apply(model, writes)
        assert s.app_hash == staged
        assert s.height == height
        # every touched bucket's root matches the model (cheap, after every batch)
        for b in {bucket_of(k) for k in writes}:
            assert s.bucket_root(b, {}) == bucket_root_of(model, b)
        for k in writes:
            assert s.get(k) == model.get(k)
    assert s.app_hash == reference_app_hash(model)  # full recomputation, once per example
    stored = {bytes(k): bytes(v) for k, v in s.db.conn.execute("SELECT key, value FROM app_state")}
    assert stored == model


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(batch, min_size=1, max_size=3), data=st.data())
def test_write_order_within_a_batch_does_not_matter(
    batches: list[Writes], data: st.DataObject
) -> None:
    a = MerkleStore(memory_database())
    b = MerkleStore(memory_database())
    for height, writes in enumerate(batches, start=1):
        order = data.draw(st.permutations(list(writes.items())))
        ha = a.stage(writes, height)
        hb = b.stage(dict(order), height)
        assert ha == hb
        a.commit()
        b.commit()
        assert a.app_hash == b.app_hash


def test_stage_is_a_pure_preview() -> None:
    s = MerkleStore(memory_database())
    s.stage({b"a": b"1"}, 1)
    s.commit()
    h1 = s.app_hash
    preview = s.stage({b"a": None, b"b": b"2"}, 2)
    assert preview != h1
    # nothing changed: not the hash, not the height, not the data
    assert s.app_hash == h1
    assert s.height == 1
    assert s.get(b"a") == b"1"
    assert s.get(b"b") is None
    # staging again replaces the preview; committing persists only the latest one
    s.stage({b"c": b"3"}, 2)
    s.commit()
    assert (s.get(b"a"), s.get(b"b"), s.get(b"c")) == (b"1", None, b"3")
    assert s.app_hash == reference_app_hash({b"a": b"1", b"c": b"3"})


def test_stage_without_commit_is_not_persisted(tmp_path: Path) -> None:
    db = open_database(tmp_path / "app.db")
    s = MerkleStore(db)
    with db.atomic():
        s.stage({b"a": b"1"}, 1)
        s.commit()
    h1 = s.app_hash
    s.stage({b"a": b"2", b"z": b"9"}, 2)  # never committed (crash)
    db.close()
    db2 = open_database(tmp_path / "app.db")
    s2 = MerkleStore(db2)
    assert (s2.app_hash, s2.height) == (h1, 1)
    assert (s2.get(b"a"), s2.get(b"z")) == (b"1", None)
    db2.close()


def test_reopen_restores_the_app_hash(tmp_path: Path) -> None:
    db = open_database(tmp_path / "app.db")
    s = MerkleStore(db)
    model: dict[bytes, bytes] = {}
    first: Writes = {k: k * 2 for k in SAME_BUCKET}
    batches: list[Writes] = [
        first | {b"x": b"1", b"y": b"2"},
        {SAME_BUCKET[1]: None, b"x": b"changed", b"new": b""},
        {k: None for k in SAME_BUCKET},  # empties the shared bucket again
    ]
    for height, writes in enumerate(batches, start=1):
        with db.atomic():
            s.stage(writes, height)
            s.commit()
        apply(model, writes)
    db.close()

    db2 = open_database(tmp_path / "app.db")
    s2 = MerkleStore(db2)
    assert s2.app_hash == s.app_hash == reference_app_hash(model)
    assert s2.height == 3
    # emptied buckets are not kept
    n = db2.conn.execute(
        "SELECT COUNT(*) FROM app_buckets WHERE bucket = ?", (bucket_of(SAME_BUCKET[0]),)
    ).fetchone()[0]
    assert n == 0
    db2.close()


def test_delete_of_a_missing_key_is_a_no_op() -> None:
    s = MerkleStore(memory_database())
    h0 = s.app_hash
    assert s.stage({b"ghost": None}, 1) == h0
    s.commit()
    assert s.app_hash == h0
    assert s.height == 1


def test_commit_without_stage_raises() -> None:
    s = MerkleStore(memory_database())
    with pytest.raises(RuntimeError, match="commit without stage"):
        s.commit()


def test_reload_after_a_rolled_back_commit(tmp_path: Path) -> None:
    db = open_database(tmp_path / "app.db")
    s = MerkleStore(db)
    h0 = s.app_hash
    s.stage({b"a": b"1"}, 1)

    def commit_then_fail() -> None:
        with db.atomic():
            s.commit()
            raise RuntimeError("block save failed")

    with pytest.raises(RuntimeError, match="block save failed"):
        commit_then_fail()
    assert s.get(b"a") is None  # the rows were rolled back
    s.reload()
    assert (s.app_hash, s.height) == (h0, 0)
    db.close()


def test_migrations_are_idempotent() -> None:
    db = memory_database()
    s = MerkleStore(db)
    s.stage({b"a": b"1"}, 1)
    s.commit()
    again = MerkleStore(db)  # applies the migrations a second time
    assert again.app_hash == s.app_hash
    assert again.get(b"a") == b"1"


def test_prefix_scan() -> None:
    s = MerkleStore(memory_database())
    s.stage({b"p/a": b"1", b"p/b": b"2", b"p\xff": b"3", b"q": b"4", b"\xff\xff": b"5"}, 1)
    s.commit()
    assert s.prefix(b"p/") == [(b"p/a", b"1"), (b"p/b", b"2")]
    assert s.prefix(b"p/", limit=1) == [(b"p/a", b"1")]
    assert s.prefix(b"\xff") == [(b"\xff\xff", b"5")]
    assert len(s.prefix(b"")) == 5
