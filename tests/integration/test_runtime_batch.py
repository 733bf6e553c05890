"""A batch submission through TrioGateway: one crossing to the trio thread, per-tx
results in order, every accepted tx committed on every node (over MemoryNetwork)."""

from __future__ import annotations

import time
from pathlib import Path

import trio

from qos_chain.errors import MempoolError
from qos_chain.node import SubmitResult
from qos_chain.testing.cluster import Cluster
from qos_node.runtime import NodeRuntime, TrioGateway
from qos_p2p.memory import MemoryHub


def test_gateway_batch_is_admitted_gossiped_and_committed(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 4)
    nodes = [m.node for m in cluster.members]
    batch = [f"k{i}=v{i}".encode() for i in range(20)]

    async def main() -> list[SubmitResult | Exception]:
        hub = MemoryHub(seed=2)
        runtimes = []
        async with trio.open_nursery() as nursery:
            for i, node in enumerate(nodes):
                assert node is not None
                net = hub.node(f"n{i}", chain_id=cluster.genesis.chain_id, is_validator=True)
                rt = NodeRuntime(node, net, clock=time.time_ns)
                await nursery.start(rt.run)
                runtimes.append(rt)
            gateway = TrioGateway(runtimes[1])
            raws = [*batch, batch[0]]  # the repeat is refused, the rest admitted
            results: list[SubmitResult | Exception] = list(
                await trio.to_thread.run_sync(gateway.submit_txs, raws, time.time_ns())
            )
            accepted = [r.tx_hash for r in results if isinstance(r, SubmitResult)]
            with trio.fail_after(30):
                while not all(
                    n is not None and all(n.store.tx(h) is not None for h in accepted)
                    for n in nodes
                ):
                    await trio.sleep(0.02)  # sleep-ok: poll interval of a deadline-bounded wait
            nursery.cancel_scope.cancel()
        return results

    results = trio.run(main)
    assert len(results) == 21
    assert all(isinstance(r, SubmitResult) for r in results[:20])
    assert isinstance(results[20], MempoolError)
    assert results[20].code == "tx_already_in_mempool"
    cluster.safety()
    for node in nodes:
        assert node is not None
        assert node.app.query("key", b"k19").value == b"v19"
