"""The on-chain name indexes (``pin/name/<owner>/`` and ``pin/byname/``) as PinModule writes
them, and ``pins_page(name=...)`` reading them: every record of a name, in record key order,
complete and without duplicates across pages, resumable after any record key."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

import pytest
from fs_helpers import Chain, seed

from qos_app.context import CacheKV, Ctx
from qos_chain.sign import public_key_of
from qos_fs import client as fc
from qos_fs.module import PinModule
from qos_fs.msgs import FsMsg
from qos_fs.state import (
    BYNAME_PREFIX,
    NAME_PREFIX,
    REC_PREFIX,
    Getter,
    byname_key,
    name_key,
    pins_page,
    rec_key,
)
from qos_identity.didkey import did_key_of
from qos_identity.resolver import sqlite_reader
from qos_ipfs.cid import CID
from qos_node.testing import make_test_node

CHAIN = "qos-test"
SEEDS = [seed(10 + i) for i in range(4)]
OWNERS = [did_key_of(public_key_of(s)) for s in SEEDS]
NAMES = ["a.txt", "b.txt", "a.txt/x", "a", ""]  # "a" and "a.txt": one is a prefix of the other


class State:
    """Committed state as a sorted dict, written through the real PinModule."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.nonces = dict.fromkeys(OWNERS, 0)
        self.module = PinModule(self._keys)

    @staticmethod
    def _keys(_get: Getter, did: str) -> dict[str, bytes] | None:
        i = OWNERS.index(did)
        return {f"{did}#{fc.DEFAULT_KEY}": public_key_of(SEEDS[i])}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def scan(self, lo: bytes, hi: bytes, limit: int) -> Sequence[tuple[bytes, bytes]]:
        keys = sorted(self.data)
        i = bisect.bisect_left(keys, lo)
        return [(k, self.data[k]) for k in keys[i:] if k < hi][:limit]

    def apply(self, msg: FsMsg) -> None:
        kv = CacheKV(self.get)
        self.module.validate(msg)
        self.module.handle(Ctx(kv, CHAIN, 2, 10**18, bytes(20)), msg)
        for k, v in kv.writes.items():
            if v is None:
                self.data.pop(k, None)
            else:
                self.data[k] = v

    def pin(self, owner: int, j: int, name: str) -> None:
        did = OWNERS[owner]
        self.apply(fc.pin_msg(CHAIN, did, self.nonces[did], cid(owner, j), SEEDS[owner], name=name))
        self.nonces[did] += 1

    def unpin(self, owner: int, j: int) -> None:
        did = OWNERS[owner]
        self.apply(fc.unpin_msg(CHAIN, did, self.nonces[did], cid(owner, j), SEEDS[owner]))
        self.nonces[did] += 1


def cid(owner: int, j: int) -> CID:
    return CID.hash(f"{owner}:{j}".encode())


def name_of(owner: int, j: int) -> str:
    return NAMES[(owner + j) % len(NAMES)]


@pytest.fixture
def state() -> State:
    st = State()
    for o in range(len(OWNERS)):
        for j in range(12):
            st.pin(o, j, name_of(o, j))
    return st


def expected(st: State, name: str, owner: str | None) -> list[bytes]:
    """Every record of ``name`` (and ``owner``), by scanning all records."""
    all_recs = pins_page(st.get, st.scan, owner=owner, cid=None, after=None, limit=10**6)
    return [k for k, r in all_recs if r.name == name]


def pages(st: State, name: str, owner: str | None, limit: int) -> list[bytes]:
    out: list[bytes] = []
    after = None
    while True:
        page = pins_page(st.get, st.scan, owner=owner, cid=None, after=after, limit=limit,
                         name=name)  # fmt: skip
        out += [k for k, _ in page]
        assert all(r.name == name for _, r in page)
        if len(page) < limit:
            return out
        after = page[-1][0]


def test_the_module_writes_and_removes_both_name_indexes(state: State) -> None:
    did, c = OWNERS[0], cid(0, 0).to_bytes()
    assert name_of(0, 0) == "a.txt"
    assert state.get(name_key(did, "a.txt", c)) == b""
    assert state.get(byname_key("a.txt", did, c)) == b""
    unnamed = [j for j in range(12) if name_of(1, j) == ""]
    assert unnamed
    named_keys = [k for k in state.data if k.startswith((NAME_PREFIX, BYNAME_PREFIX))]
    assert len(named_keys) == 2 * sum(
        1 for o in range(len(OWNERS)) for j in range(12) if name_of(o, j)
    )
    state.unpin(0, 0)
    assert state.get(name_key(did, "a.txt", c)) is None
    assert state.get(byname_key("a.txt", did, c)) is None
    assert state.get(rec_key(did, c)) is None


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
@pytest.mark.parametrize("name", ["a.txt", "b.txt", "a.txt/x", "a", "missing"])
def test_name_pages_are_complete_ordered_and_without_duplicates(
    state: State, name: str, limit: int
) -> None:
    want = expected(state, name, None)
    assert len(want) == (0 if name == "missing" else sum(
        1 for o in range(len(OWNERS)) for j in range(12) if name_of(o, j) == name
    ))  # fmt: skip
    assert pages(state, name, None, limit) == want
    for o in OWNERS:
        mine = expected(state, name, o)
        assert pages(state, name, o, limit) == mine
        assert all(k.startswith(REC_PREFIX + o.encode() + b"/") for k in mine)


def test_name_listing_resumes_after_any_record_key(state: State) -> None:
    want = expected(state, "a.txt", None)
    every_key = [k for k, _ in pins_page(state.get, state.scan, owner=None, cid=None,
                                         after=None, limit=10**6)]  # fmt: skip
    for after in [b"", b"pin/a", *every_key, b"pin/rec/~", b"zzz"]:
        got = pins_page(state.get, state.scan, owner=None, cid=None, after=after,
                        limit=1000, name="a.txt")  # fmt: skip
        assert [k for k, _ in got] == [k for k in want if k > after], after
        for o in OWNERS:
            mine = [k for k in expected(state, "a.txt", o) if k > after]
            got = pins_page(state.get, state.scan, owner=o, cid=None, after=after,
                            limit=1000, name="a.txt")  # fmt: skip
            assert [k for k, _ in got] == mine, (o, after)


def test_an_owner_listing_never_leaks_other_owners_records(state: State) -> None:
    """A cursor of another owner (sorting before this one) starts at this owner's first."""
    a, b = sorted(OWNERS)[:2]
    first_of_a = pins_page(state.get, state.scan, owner=a, cid=None, after=None, limit=1)[0][0]
    got = pins_page(state.get, state.scan, owner=b, cid=None, after=first_of_a, limit=1000)
    assert got == pins_page(state.get, state.scan, owner=b, cid=None, after=None, limit=1000)


def test_unpinned_records_leave_the_name_listing(state: State) -> None:
    before = expected(state, "b.txt", None)
    victims = [(o, j) for o in range(len(OWNERS)) for j in range(12) if name_of(o, j) == "b.txt"]
    for o, j in victims[::2]:
        state.unpin(o, j)
    gone = {rec_key(OWNERS[o], cid(o, j).to_bytes()) for o, j in victims[::2]}
    assert pages(state, "b.txt", None, 2) == [k for k in before if k not in gone]


def _run(tmp: Path) -> tuple[bytes, Chain, str]:
    chain = Chain(make_test_node(tmp))
    did = chain.create_did(seed(1), seed(2))
    msgs = [
        fc.pin_msg(chain.chain_id, did, 0, cid(0, 0), seed(1), name="same.txt"),
        fc.pin_msg(chain.chain_id, did, 1, cid(0, 1), seed(1), name="same.txt"),
        fc.unpin_msg(chain.chain_id, did, 2, cid(0, 0), seed(1)),
    ]
    for m in msgs:
        assert chain.commit(m).ok
    return chain.tnode.bundle.node.state.app_hash, chain, did


def test_name_indexes_on_a_node_are_deterministic(tmp_path: Path) -> None:
    """Two nodes committing the same pins and unpins reach the same app hash, and the
    committed state holds exactly the remaining pin in both name indexes."""
    h1, chain, did = _run(tmp_path / "one")
    h2, _, _ = _run(tmp_path / "two")
    assert h1 == h2
    get, scan = sqlite_reader(chain.tnode.bundle.db.conn)
    named = pins_page(get, scan, owner=None, cid=None, after=None, limit=10, name="same.txt")
    assert [r.cid for _, r in named] == [cid(0, 1).to_bytes()]
    assert get(byname_key("same.txt", did, cid(0, 0).to_bytes())) is None
    assert get(byname_key("same.txt", did, cid(0, 1).to_bytes())) == b""
    assert get(name_key(did, "same.txt", cid(0, 1).to_bytes())) == b""
