"""Safety and liveness of TendermintEngine over the seeded simulated network."""

from __future__ import annotations

import pytest

from qos_chain.types import ValidatorSet
from tests.sim.simnet import Simulation, make_schedule, run

SEEDS = range(500)


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_is_safe_and_live(seed: int) -> None:
    result = run(seed)
    assert result.failure is None, result.failure
    assert min(result.heights[i] for i in range(result.schedule.n)
               if i not in result.schedule.byzantine) >= 3  # fmt: skip


def test_a_seed_replays_exactly() -> None:
    a, b = run(4242), run(4242)
    assert (a.heights, a.steps, a.sim_time_ns, a.messages) == (
        b.heights,
        b.steps,
        b.sim_time_ns,
        b.messages,
    )


def test_schedules_cover_the_faults() -> None:
    schedules = [make_schedule(s) for s in SEEDS]
    assert {s.n for s in schedules} == {4, 7}
    assert any(len(s.byzantine) == (s.n - 1) // 3 > 0 for s in schedules)
    assert sum(1 for s in schedules if s.crashes) > 100
    assert sum(1 for s in schedules if s.partitions) > 100
    assert sum(1 for s in schedules if s.drop > 0) > 100


def test_equivocation_is_reported_in_byzantine_runs() -> None:
    byz = [s for s in range(100) if make_schedule(s).byzantine]
    assert sum(run(s).evidence for s in byz[:10]) > 0


def test_the_simulator_catches_a_weakened_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutant that decides on 1/2 instead of 2/3 of the power must be caught (SAFETY)."""
    monkeypatch.setattr(ValidatorSet, "quorum", lambda self: self.total_power // 2)
    failures = [Simulation(make_schedule(s)).run().failure for s in range(200)]
    assert any(f is not None and "SAFETY" in f for f in failures)
