"""A small process entry for cross-process tests: `python -m qos_p2p.demo --home H ...`.

Prints one JSON object per line on stdout: `{"event": "ready", "peer_id", "addrs"}` once
listening, `{"event": "connected", "peers": n}` when `--expect-peers` peers completed the
handshake and subscribed, then it sends `--consensus` consensus messages and publishes
`--txs` transactions, prints `{"event": "done", "consensus": c, "txs": t}` once it has
received `--expect-peers` times as many of each, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import trio

from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import load_or_create_node_key
from qos_p2p.port import MessageKind

POLL_S = 0.01


def _emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


async def _main(args: argparse.Namespace) -> None:
    key = load_or_create_node_key(Path(args.home))
    net = Libp2pNetwork(key, chain_id=args.chain_id, listen=args.listen, bootstrap=args.peer)
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        _emit(event="ready", peer_id=net.peer_id, addrs=net.listen_addrs())

        async def stop_on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    return

        nursery.start_soon(stop_on_signal)
        want = args.expect_peers
        while len(net.peers()) < want or any(
            net.gossip_peer_count(k) < want for k in (MessageKind.TX, MessageKind.EVIDENCE)
        ):
            await trio.sleep(POLL_S)
        _emit(event="connected", peers=len(net.peers()))
        for i in range(args.consensus):
            await net.send_consensus(f"consensus:{net.peer_id}:{i}".encode())
        for i in range(args.txs):
            await net.publish_tx(f"tx:{net.peer_id}:{i}".encode())
        counts = {MessageKind.CONSENSUS: 0, MessageKind.TX: 0}
        async for msg in net.inbound():
            if msg.kind in counts:
                counts[msg.kind] += 1
            if (
                counts[MessageKind.CONSENSUS] >= want * args.consensus
                and counts[MessageKind.TX] >= want * args.txs
            ):
                break
        _emit(event="done", consensus=counts[MessageKind.CONSENSUS], txs=counts[MessageKind.TX])
        await trio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qos_p2p.demo")
    parser.add_argument("--home", required=True)
    parser.add_argument("--listen", default="/ip4/127.0.0.1/tcp/0")
    parser.add_argument("--chain-id", default="qos-demo")
    parser.add_argument("--peer", action="append", default=[])
    parser.add_argument("--expect-peers", type=int, default=0)
    parser.add_argument("--consensus", type=int, default=0)
    parser.add_argument("--txs", type=int, default=0)
    trio.run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    main()
