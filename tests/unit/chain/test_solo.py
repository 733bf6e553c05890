"""Tests for qos_chain.consensus.solo: when the single-validator engine produces blocks."""

from __future__ import annotations

import pytest

from qos_chain.consensus.events import Committed, ProduceBlock, ScheduleWake, Tick, TxsAvailable
from qos_chain.consensus.solo import NS_PER_S, SoloConfig, SoloEngine

T0 = 1_000 * NS_PER_S
INTERVAL = 3 * NS_PER_S
MIN_INTERVAL = 200_000_000
CFG = SoloConfig(block_interval_ns=INTERVAL, min_block_interval_ns=MIN_INTERVAL)


def engine(cfg: SoloConfig = CFG, height: int = 1, last: int = T0) -> SoloEngine:
    return SoloEngine(cfg, height, last)


def test_default_config_matches_the_white_paper_interval() -> None:
    cfg = SoloConfig()
    assert cfg.block_interval_ns == 3 * NS_PER_S
    assert cfg.min_block_interval_ns == 200_000_000
    assert cfg.create_empty_blocks is True


# --------------------------------------------------------------------------- idle


def test_idle_schedules_wake_at_last_block_plus_interval() -> None:
    e = engine()
    assert e.handle(Tick(), T0) == [ScheduleWake(T0 + INTERVAL)]
    assert e.handle(Tick(), T0 + INTERVAL - 1) == [ScheduleWake(T0 + INTERVAL)]


def test_idle_produces_exactly_at_the_interval() -> None:
    e = engine(height=7)
    assert e.handle(Tick(), T0 + INTERVAL) == [ProduceBlock(7)]
    assert e.producing


def test_idle_late_tick_produces_at_once() -> None:
    e = engine()
    assert e.handle(Tick(), T0 + 10 * INTERVAL) == [ProduceBlock(1)]


def test_idle_without_empty_blocks_never_produces() -> None:
    e = engine(SoloConfig(INTERVAL, MIN_INTERVAL, create_empty_blocks=False))
    for dt in (0, INTERVAL, 100 * INTERVAL):
        assert e.handle(Tick(), T0 + dt) == []
    assert not e.producing


def test_without_empty_blocks_txs_produce_a_block() -> None:
    e = engine(SoloConfig(INTERVAL, MIN_INTERVAL, create_empty_blocks=False))
    assert e.handle(TxsAvailable(), T0 + 1) == [ScheduleWake(T0 + MIN_INTERVAL)]
    assert e.handle(Tick(), T0 + MIN_INTERVAL) == [ProduceBlock(1)]


# --------------------------------------------------------------------------- txs


def test_txs_wait_for_min_interval_after_the_last_block() -> None:
    e = engine()
    assert e.handle(TxsAvailable(), T0 + 1) == [ScheduleWake(T0 + MIN_INTERVAL)]
    assert e.handle(Tick(), T0 + MIN_INTERVAL - 1) == [ScheduleWake(T0 + MIN_INTERVAL)]
    assert e.handle(Tick(), T0 + MIN_INTERVAL) == [ProduceBlock(1)]


def test_txs_produce_immediately_when_min_interval_already_passed() -> None:
    e = engine()
    assert e.handle(TxsAvailable(), T0 + MIN_INTERVAL + 5) == [ProduceBlock(1)]


def test_txs_with_zero_min_interval_produce_at_once() -> None:
    e = engine(SoloConfig(INTERVAL, 0))
    assert e.handle(TxsAvailable(), T0) == [ProduceBlock(1)]


def test_txs_deadline_never_later_than_idle_deadline() -> None:
    # a min interval longer than the idle interval: the idle deadline wins
    e = engine(SoloConfig(INTERVAL, 2 * INTERVAL))
    assert e.handle(TxsAvailable(), T0) == [ScheduleWake(T0 + INTERVAL)]


# --------------------------------------------------------------------------- producing


def test_no_second_produce_while_producing() -> None:
    e = engine()
    assert e.handle(Tick(), T0 + INTERVAL) == [ProduceBlock(1)]
    assert e.handle(Tick(), T0 + 5 * INTERVAL) == []
    assert e.handle(TxsAvailable(), T0 + 5 * INTERVAL) == []
    assert e.producing


def test_committed_resets_the_clock_and_advances_height() -> None:
    e = engine()
    assert e.handle(Tick(), T0 + INTERVAL) == [ProduceBlock(1)]
    t1 = T0 + INTERVAL + 7
    assert e.handle(Committed(1, txs_waiting=False), t1) == [ScheduleWake(t1 + INTERVAL)]
    assert not e.producing
    assert e.next_height == 2
    assert e.last_block_at_ns == t1
    assert e.handle(Tick(), t1 + INTERVAL) == [ProduceBlock(2)]


def test_committed_with_txs_waiting_produces_after_min_interval() -> None:
    e = engine()
    assert e.handle(TxsAvailable(), T0 + MIN_INTERVAL) == [ProduceBlock(1)]
    t1 = T0 + MIN_INTERVAL + 1
    assert e.handle(Committed(1, txs_waiting=True), t1) == [ScheduleWake(t1 + MIN_INTERVAL)]
    assert e.handle(Tick(), t1 + MIN_INTERVAL) == [ProduceBlock(2)]


def test_txs_available_while_producing_are_remembered_until_committed_says_otherwise() -> None:
    e = engine()
    assert e.handle(Tick(), T0 + INTERVAL) == [ProduceBlock(1)]
    assert e.handle(TxsAvailable(), T0 + INTERVAL) == []
    # the node reports whether txs still wait after the commit; that report wins
    t1 = T0 + INTERVAL + 1
    assert e.handle(Committed(1, txs_waiting=False), t1) == [ScheduleWake(t1 + INTERVAL)]


def test_committed_height_never_moves_backwards() -> None:
    e = engine(height=10)
    e.handle(Committed(3, txs_waiting=False), T0)
    assert e.next_height == 10
    e.handle(Committed(12, txs_waiting=False), T0)
    assert e.next_height == 13


def test_produce_clears_txs_waiting() -> None:
    e = engine()
    e.handle(TxsAvailable(), T0 + MIN_INTERVAL)
    assert not e.txs_waiting


def test_unknown_event_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown event"):
        engine().handle(object(), T0)  # type: ignore[arg-type]
