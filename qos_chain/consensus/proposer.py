"""Proposer selection: CometBFT's weighted round-robin by proposer priority.

Each validator carries a *proposer priority*. One increment adds every validator's voting
power to its priority, picks the validator with the highest priority (ties go to the
smaller address) and subtracts the total voting power from the chosen one. Over many
increments each validator is chosen in proportion to its power. Before a batch of
increments the priorities are rescaled so their spread stays within ``2 * total_power``
and centred on zero (CometBFT ``ValidatorSet.IncrementProposerPriority``,
``RescalePriorities`` and ``shiftByAvgProposerPriority``; integer arithmetic only, Go's
truncating division reproduced).

:class:`ProposerState` is the base state of one height: its proposer is the proposer of
round 0; round ``r`` is ``r`` increments further (``proposer(state, height, round)``). The
state of the next height is one increment after this height's base, whatever round the
block was decided in (CometBFT ``updateState``). Pure and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_chain.types import Validator, ValidatorSet

PRIORITY_WINDOW_SIZE_FACTOR = 2


def _quo(a: int, b: int) -> int:
    """Integer division truncating toward zero (Go's ``/`` on int64)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _rescale(priorities: list[int], diff_max: int) -> None:
    if diff_max <= 0:
        return
    diff = max(priorities) - min(priorities)
    if diff > diff_max:
        ratio = (diff + diff_max - 1) // diff_max
        for i, p in enumerate(priorities):
            priorities[i] = _quo(p, ratio)


def _shift_by_average(priorities: list[int]) -> None:
    # Go: big.Int Div is Euclidean; with a positive divisor that is floor division.
    avg = sum(priorities) // len(priorities)
    for i in range(len(priorities)):
        priorities[i] -= avg


def _increment(validators: ValidatorSet, priorities: list[int], times: int) -> int:
    """``times`` increments in place; returns the index chosen by the last one."""
    vals = validators.validators
    total = validators.total_power
    chosen = -1
    for _ in range(times):
        for i, v in enumerate(vals):
            priorities[i] += v.power
        chosen = _most_priority(vals, priorities)
        priorities[chosen] -= total
    return chosen


def _most_priority(validators: tuple[Validator, ...], priorities: list[int]) -> int:
    best = 0
    for i in range(1, len(priorities)):
        if priorities[i] > priorities[best]:
            best = i
        # equal priority: keep the smaller address; validators are sorted by address, so the
        # earlier index already is the smaller one
    return best


@dataclass(frozen=True, slots=True)
class ProposerState:
    """Proposer priorities (aligned with ``validators``) at round 0 of ``height``.

    ``chosen`` is the index picked by the last increment: the proposer of this state, as
    CometBFT's ``ValidatorSet.Proposer``; ``None`` means "the highest priority"
    (CometBFT ``findProposer``).
    """

    height: int
    validators: ValidatorSet
    priorities: tuple[int, ...]
    chosen: int | None = None

    def __post_init__(self) -> None:
        if not self.validators.validators:
            raise ValueError("proposer selection needs at least one validator")
        if len(self.priorities) != len(self.validators.validators):
            raise ValueError("one priority per validator")
        if self.chosen is not None and not 0 <= self.chosen < len(self.priorities):
            raise ValueError("chosen proposer index out of range")

    @classmethod
    def initial(cls, validators: ValidatorSet, height: int) -> ProposerState:
        """The state for a fresh validator set (CometBFT ``NewValidatorSet``: one increment)."""
        zero = cls(height, validators, (0,) * len(validators.validators))
        return zero.incremented(1)

    def proposer(self) -> Validator:
        """The proposer of this state (CometBFT ``GetProposer``)."""
        idx = self.chosen
        if idx is None:
            idx = _most_priority(self.validators.validators, list(self.priorities))
        return self.validators.validators[idx]

    def incremented(self, times: int) -> ProposerState:
        """``times`` increments (CometBFT ``IncrementProposerPriority``); same height."""
        if times < 0:
            raise ValueError("cannot increment a negative number of times")
        if times == 0:
            return self
        prios = self._prepared()
        chosen = _increment(self.validators, prios, times)
        return ProposerState(self.height, self.validators, tuple(prios), chosen)

    def _prepared(self) -> list[int]:
        """Priorities rescaled and centred, as done once before a batch of increments."""
        prios = list(self.priorities)
        _rescale(prios, PRIORITY_WINDOW_SIZE_FACTOR * self.validators.total_power)
        _shift_by_average(prios)
        return prios

    def next_height(self, validators: ValidatorSet | None = None) -> ProposerState:
        """The base state of ``height + 1``, optionally for an updated validator set.

        As CometBFT ``updateState``: apply the validator updates, then one increment.
        Validators that stay keep their priority; a new one starts at
        ``-1.125 * total_power`` (CometBFT ``applyUpdates``), so it does not propose at once.
        """
        state = self
        if validators is not None and validators != self.validators:
            addrs = [v.address for v in self.validators.validators]
            old = dict(zip(addrs, self.priorities, strict=True))
            total = validators.total_power
            start = -(total + (total >> 3))
            prios = tuple(old.get(v.address, start) for v in validators.validators)
            state = ProposerState(self.height, validators, prios)
        nxt = state.incremented(1)
        return ProposerState(self.height + 1, nxt.validators, nxt.priorities, nxt.chosen)


def proposer(state: ProposerState, height: int, round_: int) -> Validator:
    """The proposer of ``(height, round_)``: ``round_`` increments from the height's base."""
    if height != state.height:
        raise ValueError(f"proposer state is for height {state.height}, not {height}")
    if round_ < 0:
        raise ValueError("round must be >= 0")
    return state.incremented(round_).proposer()


class ProposerSchedule:
    """Proposers of one height: ``schedule(r) == proposer(base, base.height, r)``.

    Computed incrementally (the rescale happens once, before the increments, exactly as in
    ``proposer``), so asking for rounds in increasing order costs O(n) per round.
    """

    __slots__ = ("_base", "_cache", "_chosen", "_last", "_last_round")

    def __init__(self, base: ProposerState) -> None:
        self._base = base
        self._cache: dict[int, Validator] = {}
        self._last = base._prepared()
        self._last_round = 0
        self._chosen = 0

    @property
    def height(self) -> int:
        return self._base.height

    def __call__(self, round_: int) -> Validator:
        if round_ < 0:
            raise ValueError("round must be >= 0")
        hit = self._cache.get(round_)
        if hit is not None:
            return hit
        if round_ == 0:  # no increment, hence no rescale (CometBFT ``GetProposer``)
            v = self._base.proposer()
        elif round_ < self._last_round:
            v = self._base.incremented(round_).proposer()
        else:
            if round_ > self._last_round:
                self._chosen = _increment(
                    self._base.validators, self._last, round_ - self._last_round
                )
                self._last_round = round_
            v = self._base.validators.validators[self._chosen]
        if len(self._cache) < 1024:
            self._cache[round_] = v
        return v


__all__ = ["PRIORITY_WINDOW_SIZE_FACTOR", "ProposerSchedule", "ProposerState", "proposer"]
