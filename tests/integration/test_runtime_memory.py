"""NodeRuntime over MemoryNetwork: 4 validators and a full node on one trio loop, real clock.

The same runtime runs over Libp2pNetwork in the multi-process tests; here the network is the
in-memory implementation of the same port (qos_p2p.memory), so the test is fast and exact.
"""

from __future__ import annotations

import time
from pathlib import Path

import trio

from qos_chain.testing.cluster import Cluster
from qos_node.runtime import NodeRuntime, TrioGateway
from qos_p2p.memory import MemoryHub


def test_runtime_commits_gossiped_txs_and_full_node_follows(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 4, followers=1)
    nodes = [m.node for m in cluster.members]
    assert all(n is not None for n in nodes)

    async def main() -> None:
        hub = MemoryHub(seed=1)
        runtimes = []
        async with trio.open_nursery() as nursery:
            for i, node in enumerate(nodes):
                assert node is not None
                net = hub.node(f"n{i}", chain_id=cluster.genesis.chain_id, is_validator=i < 4)
                rt = NodeRuntime(node, net, clock=time.time_ns)
                await nursery.start(rt.run)
                runtimes.append(rt)
            gateway = TrioGateway(runtimes[2])
            res = await trio.to_thread.run_sync(gateway.submit_tx, b"k=v", time.time_ns())
            with trio.fail_after(30):
                while (
                    not all(n is not None and n.store.tx(res.tx_hash) is not None for n in nodes)
                    or min(n.state.last_block_height for n in nodes if n is not None) < 4
                ):
                    await trio.sleep(0.02)  # sleep-ok: poll interval of a deadline-bounded wait
            nursery.cancel_scope.cancel()

    trio.run(main)
    cluster.safety()
    follower = cluster.members[4].node
    assert follower is not None
    assert follower.app.query("key", b"k").value == b"v"
