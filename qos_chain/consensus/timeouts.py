"""Consensus timeouts, growing linearly with the round (Algorithm 1: ``timeoutX(r)``).

``timeout(r) = base + r * delta`` for propose, prevote and precommit, so that after GST
some round is long enough for every correct process to hear from the others. Defaults are
CometBFT's (``config.DefaultConsensusConfig``), except ``commit``: the pause after a
decision before round 0 of the next height, set to the 3 s block threshold. All values
are integer nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_chain.consensus.messages import RoundStep

MS = 1_000_000
NS_PER_S = 1_000 * MS


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    propose_ns: int = 3_000 * MS
    propose_delta_ns: int = 500 * MS
    prevote_ns: int = 1_000 * MS
    prevote_delta_ns: int = 500 * MS
    precommit_ns: int = 1_000 * MS
    precommit_delta_ns: int = 500 * MS
    commit_ns: int = 3_000 * MS

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def propose(self, round_: int) -> int:
        return self.propose_ns + round_ * self.propose_delta_ns

    def prevote(self, round_: int) -> int:
        return self.prevote_ns + round_ * self.prevote_delta_ns

    def precommit(self, round_: int) -> int:
        return self.precommit_ns + round_ * self.precommit_delta_ns

    def for_step(self, step: RoundStep, round_: int) -> int:
        if step == RoundStep.PROPOSE:
            return self.propose(round_)
        if step == RoundStep.PREVOTE:
            return self.prevote(round_)
        if step == RoundStep.PRECOMMIT:
            return self.precommit(round_)
        if step == RoundStep.NEW_HEIGHT:
            return self.commit_ns
        raise ValueError(f"no timeout for step {step!r}")


__all__ = ["MS", "NS_PER_S", "TimeoutConfig"]
