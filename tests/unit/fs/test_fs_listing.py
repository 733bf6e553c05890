"""FileService listings: the Pinning API's ``count`` from the per-owner counters (exact after
every insert, delete, status change; the same as a ``count(*)`` of the filters), pages that
agree with the count, progress of many on-chain records at once, and the migration that
fills the counters of an existing database."""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qos_chain.db import open_database
from qos_fs import service
from qos_fs.service import FileService, Match, PinQuery, PinStatus
from qos_ipfs.backend import EmbeddedBackend
from qos_ipfs.cid import CID

ALICE = "did:key:z6MkAlice"
BOB = "did:key:z6MkBob"
MISSING = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco"  # never stored: pinning fails
ALL = tuple(PinStatus)


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[FileService]:
    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")
    clock = itertools.count(10**18, 1000)
    s = FileService(backend, open_database(tmp_path / "files.db"), clock=lambda: next(clock))
    yield s
    s.close()


def brute(svc: FileService, owner: str, statuses: tuple[PinStatus, ...]) -> int:
    marks = ", ".join("?" * len(statuses))
    return int(
        svc.db.conn.execute(
            f"SELECT count(*) FROM fs_pins WHERE owner = ? AND status IN ({marks})",
            (owner, *map(str, statuses)),
        ).fetchone()[0]
    )


def counters(svc: FileService) -> dict[tuple[str, str], int]:
    rows = svc.db.conn.execute("SELECT owner, status, n FROM fs_pin_counts WHERE n != 0")
    return {(o, s): int(n) for o, s, n in rows}


def grouped(svc: FileService) -> dict[tuple[str, str], int]:
    rows = svc.db.conn.execute("SELECT owner, status, count(*) FROM fs_pins GROUP BY 1, 2")
    return {(o, s): int(n) for o, s, n in rows}


def meta_rows(svc: FileService) -> list[tuple[str, str, str, int]]:
    return sorted(svc.db.conn.execute("SELECT owner, key, value, created_ns FROM fs_pin_meta"))


def meta_of_pins(svc: FileService) -> list[tuple[str, str, str, int]]:
    rows = svc.db.conn.execute("SELECT owner, meta, created_ns FROM fs_pins").fetchall()
    return sorted((o, k, v, int(c)) for o, m, c in rows for k, v in json.loads(m).items())


def check_counts(svc: FileService) -> None:
    assert meta_rows(svc) == meta_of_pins(svc)
    assert counters(svc) == grouped(svc)
    for owner in (ALICE, BOB, "did:key:z6MkNobody"):
        for k in range(1, len(ALL) + 1):
            for statuses in itertools.combinations(ALL, k):
                want = brute(svc, owner, statuses)
                assert svc.pin_count(owner, statuses) == want
                count, page = svc.list_pins(owner, PinQuery(statuses=statuses, limit=3))
                assert count == want, (owner, statuses)
                assert len(page) == min(3, want)
                assert all(p.status in statuses and p.owner == owner for p in page)
        assert svc.pin_count(owner) == brute(svc, owner, ALL)


def test_counts_are_exact_after_pin_unpin_status_change_and_replace(svc: FileService) -> None:
    check_counts(svc)
    up = svc.add(io.BytesIO(b"alpha"), ALICE, name="a")  # pinned at once
    check_counts(svc)
    queued = svc.request_pin(ALICE, str(up.cid), name="again", meta={"a": "1", "b": "x y"})
    assert svc.pin_count(ALICE, (PinStatus.QUEUED,)) == 1
    check_counts(svc)
    assert svc.process(ALICE, queued.requestid).status is PinStatus.PINNED  # queued->pinned
    check_counts(svc)
    bad = svc.request_pin(BOB, MISSING)
    assert svc.process(BOB, bad.requestid).status is PinStatus.FAILED  # via pinning
    assert svc.pin_count(BOB, (PinStatus.FAILED,)) == 1
    check_counts(svc)
    new = svc.replace_pin(ALICE, queued.requestid, str(up.cid), name="replaced",
                          meta={"a": "2"})  # fmt: skip
    assert new.status is PinStatus.PINNED
    check_counts(svc)
    svc.remove_pin(ALICE, up.requestid)
    svc.remove_pin(BOB, bad.requestid)
    check_counts(svc)
    assert svc.pin_count(ALICE) == 1
    assert svc.pin_count(BOB) == 0


def test_a_failed_write_leaves_the_counts_alone(svc: FileService) -> None:
    p = svc.request_pin(ALICE, MISSING)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), svc.db.conn:  # same requestid
        svc.db.conn.execute(
            "INSERT INTO fs_pins (requestid, owner, cid, cid_text, meta, origins, status, "
            "created_ns, updated_ns) VALUES (?, ?, x'00', '', '{}', '[]', 'queued', 1, 1)",
            (p.requestid, ALICE),
        )
    check_counts(svc)
    assert svc.pin_count(ALICE) == 1


def test_filtered_counts_and_pages_match_the_filters(svc: FileService) -> None:
    pins = [svc.request_pin(ALICE, MISSING, name=f"n{i % 3}", meta={"k": str(i % 2)})
            for i in range(12)]  # fmt: skip
    for p in pins[::4]:
        svc.process(ALICE, p.requestid)  # failed
    queries = [
        PinQuery(statuses=ALL, limit=5),
        PinQuery(statuses=ALL, limit=100),
        PinQuery(statuses=(PinStatus.QUEUED, PinStatus.FAILED), limit=4),
        PinQuery(name="n1", statuses=ALL, limit=2),
        PinQuery(name="N1", match=Match.IEXACT, statuses=(PinStatus.QUEUED,), limit=10),
        PinQuery(statuses=ALL, meta=(("k", "1"),), limit=2),
        PinQuery(statuses=ALL, before_ns=pins[6].created_ns, limit=3),
        PinQuery(statuses=ALL, after_ns=pins[6].created_ns, limit=3),
        PinQuery(statuses=ALL, cids=(CID.parse(MISSING).to_bytes(),), limit=1),
        PinQuery(statuses=(PinStatus.PINNED,), limit=10),  # nothing pinned
    ]
    current = [svc.get_pin(ALICE, p.requestid) for p in reversed(pins)]  # newest first
    for q in queries:
        want = [
            p for p in current
            if p.status in q.statuses
            and (q.name is None or p.name.lower() == q.name.lower())
            and all(p.meta.get(k) == v for k, v in q.meta)
            and (q.before_ns is None or p.created_ns < q.before_ns)
            and (q.after_ns is None or p.created_ns > q.after_ns)
        ]  # fmt: skip
        count, page = svc.list_pins(ALICE, q)
        assert count == len(want), q
        assert [p.requestid for p in page] == [p.requestid for p in want[: q.limit]], q
    assert svc.list_pins(BOB, PinQuery(statuses=ALL)) == (0, [])


def test_chain_progress_of_many_records_at_once(svc: FileService) -> None:
    a = svc.add(io.BytesIO(b"alpha"), ALICE)
    cids = [a.cid.to_bytes(), CID.parse(MISSING).to_bytes()]
    for owner in (ALICE, BOB):
        for c in cids:
            svc.on_chain_pin(owner, c)
    many = [(o, c) for o in (ALICE, BOB, "did:key:z6MkNobody") for c in cids]
    many += [(ALICE, CID.hash(str(i).encode()).to_bytes()) for i in range(1200)]  # > one IN
    got = svc.chain_progress_many(many)
    assert set(got) == {(o, c) for o in (ALICE, BOB) for c in cids}
    for (o, c), p in got.items():
        assert p == svc.chain_progress(o, c)
    assert got[ALICE, cids[0]].status is PinStatus.PINNED
    assert got[BOB, cids[1]].status is PinStatus.FAILED
    assert svc.chain_progress_many([]) == {}


def test_the_migration_counts_an_existing_database(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    service.migrations.apply(db, stop_before="m003_pin_counts")
    some = CID.parse(MISSING)
    rows = [
        (f"r{i}", (ALICE, BOB)[i % 2], some.to_bytes(), str(some), "",
         json.dumps({"k": str(i % 3)} if i % 5 else {}), "[]", str(ALL[i % 4]), i, i)
        for i in range(40)
    ]  # fmt: skip
    with db.conn:
        db.conn.executemany(
            "INSERT INTO fs_pins (requestid, owner, cid, cid_text, name, meta, origins, status, "
            "created_ns, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.conn.close()
    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")
    svc = FileService(backend, open_database(tmp_path / "old.db"))
    try:
        assert counters(svc) == grouped(svc)
        assert svc.pin_count(ALICE, (PinStatus.QUEUED, PinStatus.PINNED)) == 20
        assert meta_rows(svc) == meta_of_pins(svc)
        want = sum(1 for i in range(0, 40, 2) if i % 5 and i % 3 == 1)
        assert svc.list_pins(ALICE, PinQuery(statuses=ALL, meta=(("k", "1"),)))[0] == want
    finally:
        svc.close()


def plans(svc: FileService, call: Callable[[], object]) -> list[tuple[str, str]]:
    """(statement, its query plan) of every SELECT that ``call`` runs on the service's DB."""
    seen: list[str] = []
    svc.db.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        svc.db.conn.set_trace_callback(None)
    out = []
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = svc.db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            out.append((sql, " | ".join(str(r[3]) for r in rows)))
    return out


def test_listing_queries_use_indexes_and_no_sort(svc: FileService) -> None:
    """No listing reads an owner's (or everyone's) rows to count or to sort them: each
    SELECT searches an index (the planner's choice does not depend on the data here)."""
    some = CID.parse(MISSING).to_bytes()
    pins = ALL[:2]
    calls: list[Callable[[], object]] = [
        lambda: svc.list_pins(ALICE, PinQuery(limit=100)),
        lambda: svc.list_pins(ALICE, PinQuery(statuses=ALL, limit=100)),
        lambda: svc.list_pins(ALICE, PinQuery(name="n", limit=100)),
        lambda: svc.list_pins(ALICE, PinQuery(name="N", match=Match.IEXACT, statuses=ALL)),
        lambda: svc.list_pins(ALICE, PinQuery(before_ns=10**18, limit=100)),
        lambda: svc.list_pins(ALICE, PinQuery(cids=(some,), statuses=pins)),
        lambda: svc.local_pins(
            owner=ALICE, cid=None, status=None, name=None, before_ns=10**18, limit=101
        ),
        lambda: svc.local_pins(
            owner=None, cid=None, status=None, name="n", before_ns=None, limit=101
        ),
        lambda: svc.local_pins(
            owner=ALICE, cid=None, status=None, name="n", before_ns=None, limit=101
        ),
        lambda: svc.local_pins(
            owner=None, cid=some, status=None, name=None, before_ns=None, limit=101
        ),
        lambda: svc.chain_progress_many([(ALICE, some), (BOB, some)]),
        lambda: svc.pin_count(ALICE, pins),
        lambda: svc.list_pins(ALICE, PinQuery(meta=(("k", "v"),), limit=100)),
        lambda: svc.list_pins(ALICE, PinQuery(statuses=ALL, meta=(("k", "v"), ("j", "w")))),
    ]
    for call in calls:
        found = plans(svc, call)
        assert found
        for sql, plan in found:
            assert "SEARCH" in plan, (sql, plan)
            assert "SCAN fs_pins" not in plan, (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)


@pytest.mark.parametrize("match", [Match.PARTIAL, Match.IPARTIAL])
def test_a_partial_name_count_reads_an_index_only(svc: FileService, match: Match) -> None:
    """A substring match cannot search an index; its count reads the owner's entries of
    (owner, status, created_ns, name) without visiting the table."""
    (found,) = plans(svc, lambda: svc.list_pins(ALICE, PinQuery(name="n", match=match)))
    sql, plan = found
    assert "COVERING INDEX fs_pins_owner_status" in plan, (sql, plan)
    assert "TEMP B-TREE" not in plan, (sql, plan)


def test_name_filters_search_the_name_indexes(svc: FileService) -> None:
    """An exact (or case-insensitive exact) name is the selective filter, with or without
    statuses: the name indexes, never a walk of the owner's status entries."""
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: svc.list_pins(ALICE, PinQuery(name="n")), "fs_pins_owner_name"),
        (lambda: svc.list_pins(ALICE, PinQuery(name="n", statuses=ALL[:2])), "fs_pins_owner_name"),
        (
            lambda: svc.list_pins(ALICE, PinQuery(name="N", match=Match.IEXACT)),
            "fs_pins_owner_lname",
        ),
        (
            lambda: svc.local_pins(
                owner=ALICE, cid=None, status=PinStatus.PINNED, name="n", before_ns=None, limit=101
            ),
            "fs_pins_owner_name",
        ),
        (
            lambda: svc.local_pins(
                owner=None, cid=None, status=PinStatus.PINNED, name="n", before_ns=None, limit=101
            ),
            "fs_pins_name",
        ),
    ]
    for call, index in cases:
        for sql, plan in plans(svc, call):
            searches = [p for p in plan.split(" | ") if p.startswith("SEARCH fs_pins")]
            assert searches, (sql, plan)
            assert all(f"INDEX {index} " in p for p in searches), (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)
