"""Tests for qos_chain.mempool.pool: admission rules, bounds, reap, update, invariants."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from qos_chain.abci import CheckTxResult
from qos_chain.errors import MempoolError
from qos_chain.mempool.pool import Mempool, MempoolConfig

ALICE = b"alice"
BOB = b"bob"


def ok(sender: bytes = b"", nonce: int = 0) -> CheckTxResult:
    return CheckTxResult(code=0, sender=sender, nonce=nonce)


def tx(label: str, size: int = 0) -> bytes:
    raw = label.encode()
    return raw + b"." * max(0, size - len(raw))


def code_of(exc_info: pytest.ExceptionInfo[MempoolError]) -> str:
    return exc_info.value.code


def add_chain(pool: Mempool, sender: bytes, nonces: range, next_nonce: int) -> list[bytes]:
    return [pool.add(tx(f"{sender!r}-{n}"), ok(sender, n), next_nonce) for n in nonces]


# --------------------------------------------------------------------------- config


def test_default_config() -> None:
    cfg = MempoolConfig()
    assert (cfg.max_txs, cfg.max_bytes, cfg.max_tx_bytes, cfg.max_per_sender) == (
        5000,
        64 * 1024 * 1024,
        1024 * 1024,
        256,
    )
    assert Mempool().config == cfg


@pytest.mark.parametrize("field", ["max_txs", "max_bytes", "max_tx_bytes", "max_per_sender"])
def test_config_rejects_non_positive_limits(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MempoolConfig(**{field: 0})


# --------------------------------------------------------------------------- add: basics


def test_add_returns_sha256_and_queries_work() -> None:
    pool = Mempool()
    t = tx("hello")
    h = pool.add(t, ok(), 0)
    assert h == hashlib.sha256(t).digest()
    assert h in pool
    assert hashlib.sha256(b"other").digest() not in pool
    assert pool.get(h) == t
    assert pool.get(hashlib.sha256(b"other").digest()) is None
    assert len(pool) == 1
    assert pool.size_bytes == len(t)
    assert pool.txs() == (t,)


def test_empty_pool() -> None:
    pool = Mempool()
    assert len(pool) == 0
    assert pool.size_bytes == 0
    assert pool.txs() == ()
    assert pool.reap(1000, 1000) == ()
    assert pool.pending_nonce(ALICE) is None


def test_add_refuses_a_failed_check() -> None:
    pool = Mempool()
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("bad"), CheckTxResult(code=3, log="no"), 0)
    assert code_of(exc_info) == "check_tx_failed"
    assert len(pool) == 0


def test_tx_too_large() -> None:
    pool = Mempool(MempoolConfig(max_tx_bytes=10))
    pool.add(tx("a", 10), ok(), 0)  # exactly at the limit is fine
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("b", 11), ok(), 0)
    assert code_of(exc_info) == "tx_too_large"
    assert len(pool) == 1


def test_tx_already_in_mempool() -> None:
    pool = Mempool()
    pool.add(tx("a"), ok(), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("a"), ok(), 0)
    assert code_of(exc_info) == "tx_already_in_mempool"
    assert len(pool) == 1


def test_duplicate_is_reported_before_the_nonce_rules() -> None:
    pool = Mempool()
    pool.add(tx("a"), ok(ALICE, 0), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("a"), ok(ALICE, 0), 0)
    assert code_of(exc_info) == "tx_already_in_mempool"


# --------------------------------------------------------------------------- add: bounds


def test_full_by_count() -> None:
    pool = Mempool(MempoolConfig(max_txs=3))
    for i in range(3):
        pool.add(tx(f"t{i}"), ok(), 0)
    for i in range(3, 6):
        with pytest.raises(MempoolError) as exc_info:
            pool.add(tx(f"t{i}"), ok(), 0)
        assert code_of(exc_info) == "mempool_full"
        assert len(pool) == 3
    assert pool.txs() == (tx("t0"), tx("t1"), tx("t2"))


def test_full_by_bytes() -> None:
    pool = Mempool(MempoolConfig(max_bytes=25, max_tx_bytes=10))
    pool.add(tx("a", 10), ok(), 0)
    pool.add(tx("b", 10), ok(), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("c", 6), ok(), 0)  # 26 > 25
    assert code_of(exc_info) == "mempool_full"
    assert pool.size_bytes == 20
    pool.add(tx("d", 5), ok(), 0)  # exactly 25 fits
    assert pool.size_bytes == 25
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("e", 1), ok(), 0)
    assert code_of(exc_info) == "mempool_full"
    assert pool.size_bytes == 25
    assert len(pool) == 3


def test_full_pool_accepts_again_after_update_frees_room() -> None:
    pool = Mempool(MempoolConfig(max_txs=2))
    pool.add(tx("a"), ok(), 0)
    pool.add(tx("b"), ok(), 0)
    with pytest.raises(MempoolError):
        pool.add(tx("c"), ok(), 0)
    pool.update([tx("a")], lambda t: (ok(), 0))
    pool.add(tx("c"), ok(), 0)
    assert pool.txs() == (tx("b"), tx("c"))


def test_sender_limit() -> None:
    pool = Mempool(MempoolConfig(max_per_sender=3))
    add_chain(pool, ALICE, range(3), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("alice-3"), ok(ALICE, 3), 0)
    assert code_of(exc_info) == "sender_limit"
    assert pool.pending_nonce(ALICE) == 2
    # other senders and unordered txs are unaffected
    pool.add(tx("bob-0"), ok(BOB, 0), 0)
    pool.add(tx("free"), ok(), 0)
    assert len(pool) == 5


# --------------------------------------------------------------------------- add: nonces


def test_first_tx_of_a_sender_must_have_the_committed_next_nonce() -> None:
    pool = Mempool()
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("a4"), ok(ALICE, 4), 5)
    assert code_of(exc_info) == "nonce_too_low"
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("a6"), ok(ALICE, 6), 5)
    assert code_of(exc_info) == "nonce_gap"
    assert pool.pending_nonce(ALICE) is None
    pool.add(tx("a5"), ok(ALICE, 5), 5)
    assert pool.pending_nonce(ALICE) == 5


def test_following_txs_must_extend_the_highest_pending_nonce() -> None:
    pool = Mempool()
    add_chain(pool, ALICE, range(5, 8), 5)
    assert pool.pending_nonce(ALICE) == 7
    cases = [(5, "nonce_already_pending"), (7, "nonce_already_pending"), (9, "nonce_gap")]
    for nonce, code in cases:
        with pytest.raises(MempoolError) as exc_info:
            pool.add(tx(f"other-{nonce}"), ok(ALICE, nonce), 5)
        assert code_of(exc_info) == code, nonce
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("old"), ok(ALICE, 4), 5)
    assert code_of(exc_info) == "nonce_too_low"
    pool.add(tx("a8"), ok(ALICE, 8), 5)
    assert pool.pending_nonce(ALICE) == 8
    assert len(pool) == 4


def test_nonce_already_pending_even_if_committed_nonce_moved_on() -> None:
    pool = Mempool()
    add_chain(pool, ALICE, range(2), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx("replacement"), ok(ALICE, 1), 0)
    assert code_of(exc_info) == "nonce_already_pending"


def test_senders_are_independent() -> None:
    pool = Mempool()
    pool.add(tx("a0"), ok(ALICE, 0), 0)
    pool.add(tx("b7"), ok(BOB, 7), 7)
    pool.add(tx("a1"), ok(ALICE, 1), 0)
    pool.add(tx("b8"), ok(BOB, 8), 7)
    assert pool.pending_nonce(ALICE) == 1
    assert pool.pending_nonce(BOB) == 8
    assert pool.txs() == (tx("a0"), tx("b7"), tx("a1"), tx("b8"))


def test_unordered_txs_ignore_nonces_and_stay_fifo() -> None:
    pool = Mempool()
    pool.add(tx("x"), ok(b"", 9), 0)
    pool.add(tx("y"), ok(b"", 9), 0)
    pool.add(tx("z"), ok(b"", 0), 3)
    assert pool.txs() == (tx("x"), tx("y"), tx("z"))
    assert pool.pending_nonce(b"") is None


# --------------------------------------------------------------------------- reap


def test_reap_is_an_arrival_order_prefix_within_both_limits() -> None:
    pool = Mempool()
    txs = [tx(f"t{i}", 10) for i in range(5)]
    for t in txs:
        pool.add(t, ok(), 0)
    assert pool.reap(1000, 1000) == tuple(txs)
    assert pool.reap(1000, 3) == tuple(txs[:3])
    assert pool.reap(30, 1000) == tuple(txs[:3])
    assert pool.reap(29, 1000) == tuple(txs[:2])
    assert pool.reap(25, 2) == tuple(txs[:2])
    assert pool.reap(0, 1000) == ()
    assert pool.reap(1000, 0) == ()
    assert len(pool) == 5  # reaping removes nothing


def test_reap_stops_at_the_first_tx_that_does_not_fit() -> None:
    pool = Mempool()
    pool.add(tx("a", 5), ok(), 0)
    pool.add(tx("b", 50), ok(), 0)
    pool.add(tx("c", 5), ok(), 0)
    # c would fit but skipping b could break a sender's nonce order
    assert pool.reap(20, 10) == (tx("a", 5),)


def test_reap_keeps_per_sender_nonce_order() -> None:
    pool = Mempool()
    pool.add(tx("a0"), ok(ALICE, 0), 0)
    pool.add(tx("b0"), ok(BOB, 0), 0)
    pool.add(tx("a1"), ok(ALICE, 1), 0)
    assert pool.reap(10_000, 10) == (tx("a0"), tx("b0"), tx("a1"))


def test_reap_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="negative"):
        Mempool().reap(-1, 10)
    with pytest.raises(ValueError, match="negative"):
        Mempool().reap(10, -1)


# --------------------------------------------------------------------------- update


class FakeApp:
    """Decides rechecks from a table: tx -> (sender, nonce); invalid txs fail."""

    def __init__(self) -> None:
        self.meta: dict[bytes, tuple[bytes, int]] = {}
        self.next_nonce: dict[bytes, int] = {}
        self.invalid: set[bytes] = set()
        self.calls: list[bytes] = []

    def add(self, pool: Mempool, label: str, sender: bytes = b"", nonce: int = 0) -> bytes:
        t = tx(label)
        self.meta[t] = (sender, nonce)
        return pool.add(t, ok(sender, nonce), self.next_nonce.get(sender, 0))

    def recheck(self, t: bytes) -> tuple[CheckTxResult, int]:
        self.calls.append(t)
        sender, nonce = self.meta[t]
        code = 1 if t in self.invalid else 0
        return CheckTxResult(code=code, sender=sender, nonce=nonce), self.next_nonce.get(sender, 0)

    def commit(self, pool: Mempool, block: list[bytes]) -> list[tuple[bytes, str]]:
        for t in block:
            sender, nonce = self.meta[t]
            if sender:
                self.next_nonce[sender] = nonce + 1
        return [(bytes(h), code) for h, code in pool.update(block, self.recheck)]


def h(t: bytes) -> bytes:
    return hashlib.sha256(t).digest()


def test_update_removes_committed_and_rechecks_the_rest_in_order() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(3):
        app.add(pool, f"a{n}", ALICE, n)
    app.add(pool, "free")
    app.add(pool, "b0", BOB, 0)
    dropped = app.commit(pool, [tx("a0"), tx("a1")])
    assert dropped == []
    assert pool.txs() == (tx("a2"), tx("free"), tx("b0"))
    assert app.calls == [tx("a2"), tx("free"), tx("b0")]
    assert pool.size_bytes == sum(len(t) for t in pool.txs())
    assert pool.pending_nonce(ALICE) == 2
    assert h(tx("a0")) not in pool
    assert pool.get(h(tx("a1"))) is None


def test_update_ignores_committed_txs_it_never_had() -> None:
    app, pool = FakeApp(), Mempool()
    app.add(pool, "free")
    assert pool.update([b"stranger"], app.recheck) == []
    assert pool.txs() == (tx("free"),)


def test_update_drops_invalidated_txs_and_their_gap_followers() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(4):
        app.add(pool, f"a{n}", ALICE, n)
    app.add(pool, "b0", BOB, 0)
    app.add(pool, "free1")
    app.add(pool, "free2")
    app.invalid |= {tx("a1"), tx("free1")}
    dropped = app.commit(pool, [tx("a0")])
    assert dropped == [
        (h(tx("a1")), "recheck_failed"),
        (h(tx("a2")), "nonce_gap"),
        (h(tx("a3")), "nonce_gap"),
        (h(tx("free1")), "recheck_failed"),
    ]
    assert pool.txs() == (tx("b0"), tx("free2"))
    assert pool.pending_nonce(ALICE) is None
    assert pool.pending_nonce(BOB) == 0
    # alice's queue restarts at her committed next nonce
    with pytest.raises(MempoolError) as exc_info:
        app.add(pool, "a2-again", ALICE, 2)
    assert code_of(exc_info) == "nonce_gap"
    app.add(pool, "a1-again", ALICE, 1)
    assert pool.pending_nonce(ALICE) == 1


def test_update_drops_txs_whose_nonce_was_committed_elsewhere() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(3):
        app.add(pool, f"a{n}", ALICE, n)
    app.next_nonce[ALICE] = 2  # nonces 0 and 1 were used by txs this pool never saw
    dropped = pool.update([], app.recheck)
    assert dropped == [(h(tx("a0")), "nonce_too_low"), (h(tx("a1")), "nonce_too_low")]
    assert pool.txs() == (tx("a2"),)  # a stale tx leaves no hole: a2 is next
    assert pool.pending_nonce(ALICE) == 2
    app.add(pool, "a3", ALICE, 3)


def test_update_a_stale_tx_the_app_rejects_does_not_drop_valid_followers() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(3):
        app.add(pool, f"a{n}", ALICE, n)
    app.next_nonce[ALICE] = 1  # nonce 0 was used by a tx this pool never saw
    app.invalid.add(tx("a0"))  # so the app now rejects a0 ("nonce too low")
    dropped = pool.update([], app.recheck)
    assert dropped == [(h(tx("a0")), "recheck_failed")]
    assert pool.txs() == (tx("a1"), tx("a2"))


def test_update_drops_a_queue_that_no_longer_starts_at_the_committed_nonce() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(2):
        app.add(pool, f"a{n}", ALICE, n)
    app.next_nonce[ALICE] = 0
    app.meta[tx("a0")] = (ALICE, 5)  # the app now reads a different nonce (e.g. upgrade)
    dropped = pool.update([], app.recheck)
    assert dropped == [(h(tx("a0")), "nonce_gap"), (h(tx("a1")), "nonce_gap")]
    assert len(pool) == 0
    assert pool.size_bytes == 0


def test_update_failure_of_a_sender_tx_reported_without_sender_still_breaks_the_queue() -> None:
    pool = Mempool()
    pool.add(tx("a0"), ok(ALICE, 0), 0)
    pool.add(tx("a1"), ok(ALICE, 1), 0)

    def recheck(t: bytes) -> tuple[CheckTxResult, int]:
        if t == tx("a0"):
            return CheckTxResult(code=7), 0  # a failing check may not report the sender
        return ok(ALICE, 1), 0

    assert pool.update([], recheck) == [
        (h(tx("a0")), "recheck_failed"),
        (h(tx("a1")), "nonce_gap"),
    ]


def test_update_leaves_the_pool_unchanged_if_recheck_raises() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(3):
        app.add(pool, f"a{n}", ALICE, n)
    before = (pool.txs(), pool.size_bytes, pool.pending_nonce(ALICE))

    def boom(t: bytes) -> tuple[CheckTxResult, int]:
        if t == tx("a2"):
            raise RuntimeError("app crashed")
        return app.recheck(t)

    with pytest.raises(RuntimeError, match="app crashed"):
        pool.update([tx("a0")], boom)
    assert (pool.txs(), pool.size_bytes, pool.pending_nonce(ALICE)) == before


def test_update_of_everything_empties_the_pool() -> None:
    app, pool = FakeApp(), Mempool()
    for n in range(3):
        app.add(pool, f"a{n}", ALICE, n)
    app.add(pool, "free")
    assert app.commit(pool, list(pool.txs())) == []
    assert len(pool) == 0
    assert pool.size_bytes == 0
    assert pool.pending_nonce(ALICE) is None
    assert app.calls == []


# --------------------------------------------------------------------------- remove


def test_remove_the_newest_tx_of_a_sender() -> None:
    pool = Mempool()
    hs = add_chain(pool, ALICE, range(3), 0)
    free = pool.add(tx("free"), ok(), 0)
    assert pool.remove(hs[2]) == [hs[2]]
    assert pool.pending_nonce(ALICE) == 1
    assert pool.remove(free) == [free]
    assert len(pool) == 2
    assert pool.size_bytes == sum(map(len, pool.txs()))
    pool.add(tx("again"), ok(ALICE, 2), 0)  # the queue is extendable again


def test_remove_takes_the_later_txs_of_the_sender_too() -> None:
    pool = Mempool()
    a = add_chain(pool, ALICE, range(4), 0)
    b = pool.add(tx("b0"), ok(BOB, 0), 0)
    assert pool.remove(a[1]) == a[1:]
    assert pool.txs() == (tx(f"{ALICE!r}-0"), tx("b0"))
    assert pool.pending_nonce(ALICE) == 0
    assert pool.remove(a[0]) == [a[0]]
    assert pool.pending_nonce(ALICE) is None
    assert b in pool
    assert pool.size_bytes == len(tx("b0"))


def test_remove_of_an_unknown_hash_is_a_no_op() -> None:
    pool = Mempool()
    pool.add(tx("a"), ok(), 0)
    assert pool.remove(hashlib.sha256(b"nope").digest()) == []
    assert len(pool) == 1


# --------------------------------------------------------------------------- stateful

SENDERS = (b"", b"s1", b"s2", b"s3")
STRICT_SENDER = SENDERS[1]
LIMITS = MempoolConfig(max_txs=8, max_bytes=160, max_tx_bytes=40, max_per_sender=4)


def make_tx(sid: int, nonce: int, salt: int, size: int) -> bytes:
    head = bytes([sid]) + nonce.to_bytes(4, "big") + salt.to_bytes(2, "big")
    return head + b"\xaa" * max(0, size - len(head))


def parse_tx(t: bytes) -> tuple[bytes, int]:
    return SENDERS[t[0]], int.from_bytes(t[1:5], "big")


class MempoolMachine(RuleBasedStateMachine):
    """Random add/reap/commit/recheck sequences against a model of committed state."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = Mempool(LIMITS)
        self.next_nonce: dict[bytes, int] = dict.fromkeys(SENDERS, 0)
        self.invalid: set[bytes] = set()

    def app_accepts(self, t: bytes) -> bool:
        """The fake app: spoiled txs fail; sender s1's app also fails stale nonces."""
        sender, nonce = parse_tx(t)
        stale = sender == STRICT_SENDER and nonce < self.next_nonce[sender]
        return t not in self.invalid and not stale

    def recheck(self, t: bytes) -> tuple[CheckTxResult, int]:
        sender, nonce = parse_tx(t)
        code = 0 if self.app_accepts(t) else 1
        return CheckTxResult(code=code, sender=sender, nonce=nonce), self.next_nonce[sender]

    def expected_update(
        self, block: tuple[bytes, ...]
    ) -> tuple[list[bytes], list[bytes], list[str]]:
        """Model of ``update``: (kept txs, dropped txs, their codes), in arrival order."""
        expect = dict(self.next_nonce)
        kept: list[bytes] = []
        dropped: list[bytes] = []
        codes: list[str] = []
        for t in self.pool.txs():
            if t in block:
                continue
            sender, nonce = parse_tx(t)
            code: str | None = None
            if not self.app_accepts(t):
                code = "recheck_failed"
            elif sender and nonce != expect[sender]:
                code = "nonce_too_low" if nonce < self.next_nonce[sender] else "nonce_gap"
            if code is None:
                kept.append(t)
                if sender:
                    expect[sender] += 1
            else:
                dropped.append(t)
                codes.append(code)
        return kept, dropped, codes

    def update_and_compare(self, block: tuple[bytes, ...]) -> None:
        kept, dropped, codes = self.expected_update(block)
        got = self.pool.update(block, self.recheck)
        assert self.pool.txs() == tuple(kept)
        assert got == [(hashlib.sha256(t).digest(), c) for t, c in zip(dropped, codes, strict=True)]

    @rule(
        sid=st.integers(0, len(SENDERS) - 1),
        offset=st.integers(-2, 2),
        salt=st.integers(0, 3),
        size=st.integers(7, 45),
    )
    def add(self, sid: int, offset: int, salt: int, size: int) -> None:
        sender = SENDERS[sid]
        pending = self.pool.pending_nonce(sender)
        base = self.next_nonce[sender] if pending is None else pending + 1
        nonce = max(0, base + offset)
        t = make_tx(sid, nonce, salt, size)
        expected = self.expected_refusal(t, sender, nonce, base)
        before = (len(self.pool), self.pool.size_bytes)
        refused: str | None = None
        try:
            self.pool.add(
                t, CheckTxResult(code=0, sender=sender, nonce=nonce), self.next_nonce[sender]
            )
        except MempoolError as exc:
            refused = exc.code
        assert refused == expected
        if refused is None:
            assert self.pool.txs()[-1] == t
        else:
            assert (len(self.pool), self.pool.size_bytes) == before

    def expected_refusal(self, t: bytes, sender: bytes, nonce: int, base: int) -> str | None:
        """The model of the admission rules, in the documented order."""
        pool = self.pool
        if len(t) > LIMITS.max_tx_bytes:
            return "tx_too_large"
        if hashlib.sha256(t).digest() in pool:
            return "tx_already_in_mempool"
        if len(pool) + 1 > LIMITS.max_txs or pool.size_bytes + len(t) > LIMITS.max_bytes:
            return "mempool_full"
        if not sender:
            return None
        committed = self.next_nonce[sender]
        if base - committed >= LIMITS.max_per_sender:
            return "sender_limit"
        if nonce == base:
            return None
        if committed <= nonce < base:
            return "nonce_already_pending"
        return "nonce_too_low" if nonce < committed else "nonce_gap"

    @rule(max_bytes=st.integers(0, 200), max_txs=st.integers(0, 10))
    def reap(self, max_bytes: int, max_txs: int) -> None:
        got = self.pool.reap(max_bytes, max_txs)
        everything = self.pool.txs()
        assert got == everything[: len(got)]
        assert len(got) <= max_txs
        assert sum(map(len, got)) <= max_bytes
        if len(got) < len(everything):  # maximal: the next one would not fit
            nxt = everything[len(got)]
            assert len(got) == max_txs or sum(map(len, got)) + len(nxt) > max_bytes

    @rule(
        count=st.integers(0, 8),
        spoil=st.sets(st.integers(0, 7), max_size=3),
    )
    def commit(self, count: int, spoil: set[int]) -> None:
        block = self.pool.reap(10_000, count)
        for t in block:
            sender, nonce = parse_tx(t)
            if sender:
                assert nonce == self.next_nonce[sender]  # reaped prefixes are executable
                self.next_nonce[sender] = nonce + 1
        rest = self.pool.txs()[len(block) :]
        self.invalid |= {rest[i] for i in spoil if i < len(rest)}
        self.update_and_compare(block)

    @rule(pick=st.integers(0, 20))
    def remove(self, pick: int) -> None:
        txs = self.pool.txs()
        if not txs:
            return
        victim = txs[pick % len(txs)]
        sender, nonce = parse_tx(victim)
        expected = [
            t
            for t in txs
            if t == victim or (sender and parse_tx(t)[0] == sender and parse_tx(t)[1] > nonce)
        ]
        removed = self.pool.remove(hashlib.sha256(victim).digest())
        assert sorted(removed) == sorted(hashlib.sha256(t).digest() for t in expected)
        assert not set(expected) & set(self.pool.txs())

    @rule(sid=st.integers(1, len(SENDERS) - 1), by=st.integers(1, 2))
    def external_commit(self, sid: int, by: int) -> None:
        """Txs this pool never saw used up some of a sender's nonces."""
        self.next_nonce[SENDERS[sid]] += by
        self.update_and_compare(())

    @invariant()
    def within_bounds(self) -> None:
        assert len(self.pool) <= LIMITS.max_txs
        assert self.pool.size_bytes <= LIMITS.max_bytes
        assert self.pool.size_bytes == sum(len(t) for t in self.pool.txs())

    @invariant()
    def per_sender_nonces_are_contiguous_in_arrival_order(self) -> None:
        seen: dict[bytes, list[int]] = {}
        for t in self.pool.txs():
            sender, nonce = parse_tx(t)
            if sender:
                seen.setdefault(sender, []).append(nonce)
            assert self.pool.get(hashlib.sha256(t).digest()) == t
        for sender in SENDERS[1:]:
            nonces = seen.get(sender, [])
            start = self.next_nonce[sender]
            assert len(nonces) <= LIMITS.max_per_sender
            assert nonces == list(range(start, start + len(nonces)))
            assert self.pool.pending_nonce(sender) == (nonces[-1] if nonces else None)


MempoolMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_mempool_state_machine = MempoolMachine.TestCase
