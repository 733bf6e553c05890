"""Run every benchmark and print figures with their ratios."""

from __future__ import annotations

import argparse

from bench import tx_throughput


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--txs", type=int, default=4000, help="transactions to push through")
    p.add_argument("--senders", type=int, default=40)
    args = p.parse_args()
    tx_throughput.run(args.txs, args.senders)


main()
