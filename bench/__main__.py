"""Run the benchmarks and print figures with their ratios.

``python -m bench`` runs both quickly (tx throughput, and did:qos with 20,000 DIDs in
state); ``--only tx|did`` picks one; ``--dids 1000000`` is the identity issue's target.
``--network`` runs the 4-validator-process load benchmark instead (slow, ~2 minutes);
``--full-nodes N`` adds N full node processes to it and reports how far each lags v0.
``--only did-devnet`` runs DID creates through a 4-validator devnet (slow).
``--only cred-devnet`` issues credentials and anchors ``--anchors`` of them 50 per tx, then
as many 1 per tx, through a 4-validator devnet (slow).
``--only ipfs`` runs the storage benchmark (100 MiB import: only-hash, with blockstore writes,
HTTP upload, as ratios to sha256); it runs only when asked for.
``--only pins`` times the `pins` listings (GraphQL and REST ``GET /pins``) with ``--pins``
on-chain and as many local pins (``--pins 1000000`` is the target); only when asked for;
``--pins-dir DIR`` keeps the populated node there and reuses it on the next run.
``--only status`` times revoke / suspend / unsuspend of 1 and 1,000 indexes for an issuer with
``--status-creds`` credentials (``1000000`` is the target) against issuers with 1,000, and
checks the served status lists; only when asked for.
"""

from __future__ import annotations

import argparse

from bench import (
    cred_bench,
    cred_devnet,
    did_bench,
    did_devnet,
    ipfs_bench,
    network_bench,
    pins_bench,
    status_bench,
    tx_throughput,
)
from qos_node.devnet import MAX_VALIDATORS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument(
        "--only",
        choices=["tx", "did", "cred", "ipfs", "did-devnet", "cred-devnet", "pins", "status"],
        default=None,
        help="run one benchmark",
    )
    p.add_argument("--txs", type=int, default=4000, help="transactions to push through")
    p.add_argument("--senders", type=int, default=40)
    p.add_argument("--creates", type=int, default=2000, help="DID creates through the node")
    p.add_argument("--dids", type=int, default=20_000, help="DIDs in state for resolution")
    p.add_argument("--resolves", type=int, default=2000, help="resolutions timed per API")
    p.add_argument("--workers", type=int, default=2, help="processes populating DID state")
    p.add_argument("--anchors", type=int, default=1000, help="credential anchors through the node")
    p.add_argument("--creds", type=int, default=20_000, help="anchored credentials for queries")
    p.add_argument("--cred-queries", type=int, default=2000, help="credential queries timed")
    p.add_argument(
        "--network", action="store_true", help="4 validator processes under load (issue 3)"
    )
    p.add_argument("--rates", default="100,250,500,1000,2000", help="--network: offered tx/s")
    p.add_argument("--step-s", type=float, default=8.0, help="--network: seconds per rate")
    p.add_argument("--net-senders", type=int, default=64, help="--network: senders per step")
    p.add_argument("--idle-s", type=float, default=10.0, help="--network: idle seconds")
    p.add_argument("--inflight", type=int, default=256, help="--network: max requests open")
    p.add_argument("--net-dir", default=None, help="--network: keep the devnet (logs) here")
    p.add_argument(
        "--validators",
        type=_validator_count,
        default=4,
        help="--network: validator processes (1..21; the issue 3 target is for 4)",
    )
    p.add_argument(
        "--full-nodes",
        type=_non_negative,
        default=0,
        help="--network: full node processes that follow (lag behind v0 reported)",
    )
    p.add_argument("--did-batch", type=int, default=50, help="--only did-devnet: creates per tx")
    p.add_argument("--ipfs-mib", type=int, default=100, help="--only ipfs: file size in MiB")
    p.add_argument("--pins", type=int, default=20_000, help="--only pins: pins of each kind")
    p.add_argument("--pin-queries", type=int, default=500, help="--only pins: samples per query")
    p.add_argument(
        "--pins-dir", default=None, help="--only pins: keep the populated node here, reuse it"
    )
    p.add_argument(
        "--status-creds", type=int, default=20_000, help="--only status: the big issuer's count"
    )
    p.add_argument(
        "--status-samples", type=int, default=100, help="--only status: samples per 1-index case"
    )
    p.add_argument(
        "--status-k-samples", type=int, default=20, help="--only status: per 1,000-index case"
    )
    return p


def _non_negative(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {n}")
    return n


def _validator_count(text: str) -> int:
    n = int(text)
    if not 1 <= n <= MAX_VALIDATORS:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_VALIDATORS}, not {n}")
    return n


def main() -> None:
    args = build_parser().parse_args()
    if args.network:
        network_bench.main_args(args)
        return
    if args.only in (None, "tx"):
        tx_throughput.run(args.txs, args.senders)
    if args.only in (None, "did"):
        did_bench.run(args.creates, args.dids, args.resolves, args.workers)
    if args.only in (None, "cred"):
        cred_bench.run(args.anchors, args.creds, args.cred_queries, args.workers)
    if args.only == "did-devnet":
        did_devnet.run(args.creates, args.did_batch)
    if args.only == "cred-devnet":
        cred_devnet.run(args.anchors)
    if args.only == "ipfs":
        ipfs_bench.run(args.ipfs_mib)
    if args.only == "pins":
        pins_bench.run(args.pins, args.pin_queries, args.workers, args.pins_dir)
    if args.only == "status":
        status_bench.run(
            args.status_creds, args.status_samples, args.status_k_samples, args.workers
        )


if __name__ == "__main__":
    main()
