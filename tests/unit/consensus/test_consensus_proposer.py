"""Weighted round-robin proposer selection (CometBFT proposer priority)."""

from __future__ import annotations

from collections import Counter

import pytest

from qos_chain.consensus.proposer import ProposerSchedule, ProposerState, proposer
from qos_chain.testing.signer import MemorySigner, seed_for
from qos_chain.types import Validator, ValidatorSet


def _valset(powers: list[int]) -> ValidatorSet:
    return ValidatorSet.of(
        [MemorySigner(seed_for("prop", i)).validator(p) for i, p in enumerate(powers)]
    )


def _sequence(state: ProposerState, rounds: int) -> list[bytes]:
    return [proposer(state, state.height, r).address for r in range(rounds)]


def test_equal_powers_rotate() -> None:
    vs = _valset([10, 10, 10, 10])
    seq = _sequence(ProposerState.initial(vs, 1), 12)
    assert len(set(seq[:4])) == 4
    assert seq[4:8] == seq[:4]
    assert seq[8:] == seq[:4]


def test_frequencies_are_proportional_to_power() -> None:
    powers = [1, 2, 3, 4, 10]
    vs = _valset(powers)
    sched = ProposerSchedule(ProposerState.initial(vs, 1))
    n = 20 * sum(powers)
    counts = Counter(sched(r) for r in range(n))
    for v in vs.validators:
        assert counts[v] == 20 * v.power


def test_frequencies_over_heights() -> None:
    vs = _valset([5, 1, 1, 3])
    state = ProposerState.initial(vs, 1)
    counts: Counter[Validator] = Counter()
    for _ in range(1000):
        counts[state.proposer()] += 1
        state = state.next_height()
    assert sum(counts.values()) == 1000
    assert all(abs(counts[v] - 100 * v.power) <= 1 for v in vs.validators)


def test_deterministic_and_schedule_matches_direct_computation() -> None:
    vs = _valset([7, 3, 13, 1, 1])
    base = ProposerState.initial(vs, 5).incremented(17)
    base = ProposerState(5, vs, base.priorities)
    sched = ProposerSchedule(base)
    direct = _sequence(base, 40)
    assert [sched(r).address for r in range(40)] == direct
    assert [sched(r).address for r in (39, 3, 0, 25)] == [direct[r] for r in (39, 3, 0, 25)]
    assert _sequence(base, 40) == direct


def test_ties_go_to_the_smaller_address() -> None:
    vs = _valset([10, 10, 10])
    state = ProposerState(1, vs, (0, 0, 0))
    assert state.proposer() == vs.validators[0]


def test_priorities_stay_centred_and_bounded() -> None:
    vs = _valset([1, 1000, 50])
    state = ProposerState.initial(vs, 1)
    for _ in range(500):
        state = state.next_height()
        assert max(state.priorities) - min(state.priorities) <= 2 * vs.total_power + 1000
        assert abs(sum(state.priorities)) < 3 * vs.total_power


def test_new_validator_starts_behind() -> None:
    vs = _valset([10, 10, 10])
    newcomer = MemorySigner(seed_for("prop", 99)).validator(10)
    bigger = ValidatorSet.of([*vs.validators, newcomer])
    state = ProposerState.initial(vs, 1).next_height(bigger)
    assert state.height == 2
    assert state.validators == bigger
    first_rounds = _sequence(state, 3)
    assert newcomer.address not in first_rounds


def test_rejects_bad_input() -> None:
    vs = _valset([1, 2])
    with pytest.raises(ValueError, match="one priority"):
        ProposerState(1, vs, (0,))
    with pytest.raises(ValueError, match="height"):
        proposer(ProposerState.initial(vs, 1), 2, 0)
    with pytest.raises(ValueError, match="at least one"):
        ProposerState(1, ValidatorSet(()), ())
