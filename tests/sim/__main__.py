"""Run many simulator seeds: ``python -m tests.sim --seeds 5000 [--start 0] [--heights 3]``.

Prints each failing seed with its schedule; replay one with ``--seed N`` (same result).
Exit status 1 if any seed failed.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.sim.simnet import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.sim")
    ap.add_argument("--seeds", type=int, default=1000, help="how many seeds to run")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--seed", type=int, default=None, help="replay exactly this seed")
    ap.add_argument("--heights", type=int, default=3)
    ap.add_argument("--n", type=int, default=None, help="force the validator count")
    args = ap.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
    t0 = time.perf_counter()
    failed = 0
    evidence = steps = 0
    for seed in seeds:
        result = run(seed, args.heights, n=args.n)
        evidence += result.evidence
        steps += result.steps
        if result.failure is not None:
            failed += 1
            print(f"FAIL seed={seed}: {result.failure}")
        elif args.seed is not None:
            print(f"ok seed={seed}: heights={result.heights} steps={result.steps} "
                  f"t={result.sim_time_ns // 1_000_000}ms max_round={result.rounds_max} "
                  f"evidence={result.evidence} {result.schedule.describe()}")  # fmt: skip
    took = time.perf_counter() - t0
    print(
        f"{len(seeds)} seeds, {failed} failed, {steps} steps, {evidence} evidence reports, "
        f"{took:.1f}s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
