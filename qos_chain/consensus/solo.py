"""The single-validator block production path (sans-I/O: ``handle(event, now) -> effects``).

When one validator holds more than 2/3 of the voting power, a block is decided as soon as
it signs it. This engine only decides *when* to produce: as soon as transactions wait
(but no sooner than ``min_block_interval`` after the previous block, so a busy mempool is
batched), and at least every ``block_interval`` when idle if ``create_empty_blocks``.
Time arrives as data (``now`` in ns); the engine holds no clock, socket or randomness.
The multi-validator Tendermint engine (issue 3) plugs into the same events and effects.
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_chain.consensus.events import (
    Committed,
    Effect,
    Event,
    ProduceBlock,
    ScheduleWake,
    Tick,
    TxsAvailable,
)

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SoloConfig:
    block_interval_ns: int = 3 * NS_PER_S  # the white paper's 3 s threshold
    min_block_interval_ns: int = 200_000_000
    create_empty_blocks: bool = True


class SoloEngine:
    def __init__(self, config: SoloConfig, next_height: int, last_block_at_ns: int) -> None:
        self.config = config
        self.next_height = next_height
        self.last_block_at_ns = last_block_at_ns
        self.txs_waiting = False
        self.producing = False

    def handle(self, event: Event, now: int) -> list[Effect]:
        if isinstance(event, TxsAvailable):
            self.txs_waiting = True
        elif isinstance(event, Committed):
            self.next_height = max(self.next_height, event.height + 1)
            self.last_block_at_ns = now
            self.producing = False
            self.txs_waiting = event.txs_waiting
        elif not isinstance(event, Tick):
            raise TypeError(f"unknown event {event!r}")
        return self._decide(now)

    def _decide(self, now: int) -> list[Effect]:
        if self.producing:
            return []
        cfg = self.config
        deadlines: list[int] = []
        if self.txs_waiting:
            deadlines.append(self.last_block_at_ns + cfg.min_block_interval_ns)
        if cfg.create_empty_blocks:
            deadlines.append(self.last_block_at_ns + cfg.block_interval_ns)
        if not deadlines:
            return []
        due = min(deadlines)
        if now >= due:
            self.producing = True
            self.txs_waiting = False
            return [ProduceBlock(self.next_height)]
        return [ScheduleWake(due)]
