"""Events into and effects out of a consensus engine (values only; no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed (a scheduled wake-up fired, or the driver polls)."""


@dataclass(frozen=True, slots=True)
class TxsAvailable:
    """The mempool went from empty to non-empty (or got new txs)."""


@dataclass(frozen=True, slots=True)
class Committed:
    height: int
    txs_waiting: bool


Event = Tick | TxsAvailable | Committed


@dataclass(frozen=True, slots=True)
class ProduceBlock:
    height: int


@dataclass(frozen=True, slots=True)
class ScheduleWake:
    at_ns: int


Effect = ProduceBlock | ScheduleWake
