"""A full node keeps following the chain over Libp2pNetwork, not only up to the heights
its peers reported when it connected.

Over libp2p a peer's height (``PeerInfo.height``) is the one of its last status exchange
(the connection's handshake), and a node outside the validator set gets no consensus
messages: before the fix a full node synced to the handshake height and then stood still
(measured: a devnet at height 51, its full node at 4). MemoryNetwork reports live heights,
so this runs over the real network: one validator and one full node runtime, one trio
loop, TCP/Noise/yamux on loopback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import trio

from qos_chain.node import ChainNode
from qos_chain.testing.cluster import Cluster
from qos_node.runtime import NodeRuntime
from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import generate_node_key


async def _until(cond: Callable[[], object]) -> None:
    while not cond():
        await trio.sleep(0.02)  # sleep-ok: poll interval of a deadline-bounded wait


def test_full_node_follows_past_the_handshake_height(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 1, followers=1)
    val, full = (m.node for m in cluster.members)
    assert isinstance(val, ChainNode)
    assert isinstance(full, ChainNode)
    chain = cluster.genesis.chain_id

    async def main() -> int:
        val_key = generate_node_key()
        val_net = Libp2pNetwork(val_key, chain_id=chain)
        async with trio.open_nursery() as nursery:
            val_rt = NodeRuntime(val, val_net, clock=time.time_ns)
            await nursery.start(val_rt.run)
            val_addr = val_net.listen_addrs()[0]
            full_net = Libp2pNetwork(
                generate_node_key(), chain_id=chain, bootstrap=[val_addr], is_validator=False
            )
            await nursery.start(NodeRuntime(full, full_net, clock=time.time_ns).run)
            with trio.fail_after(30):
                await _until(full_net.peers)  # the full node handshook
                joined = full_net.peers()[0].height  # what the handshake told it
                # it syncs what exists (a sync answer holds every block up to the count)
                await _until(lambda: full.state.last_block_height >= joined)
                # the validator commits three more heights, one tx each (0.2 s apart)
                for i in range(3):
                    h = val.state.last_block_height
                    val.submit_tx(f"k{i}=v".encode(), time.time_ns())
                    val_rt.wake()
                    await _until(lambda h=h: val.state.last_block_height > h)
                target = val.state.last_block_height
                assert target >= joined + 3
                await _until(lambda: full.state.last_block_height >= target)
            nursery.cancel_scope.cancel()
        return target

    target = trio.run(main)
    assert full.store.block(target) is not None
    assert full.app.query("key", b"k2").value == b"v"
