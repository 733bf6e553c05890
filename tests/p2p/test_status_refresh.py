"""A peer's height over libp2p is refreshed by periodic status exchanges, not frozen at the
connection's handshake (what `peers()` and the `peers` API show)."""

from __future__ import annotations

import trio

from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import generate_node_key
from tests.p2p.harness import CHAIN, wait_until


def _height_of(net: Libp2pNetwork, peer: str) -> int | None:
    return next((p.height for p in net.peers() if p.peer_id == peer), None)


def test_peer_heights_follow_the_peers() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            b = Libp2pNetwork(generate_node_key(), chain_id=CHAIN, seed=1, status_refresh_s=0.2)
            await nursery.start(b.run)
            a = Libp2pNetwork(
                generate_node_key(),
                chain_id=CHAIN,
                bootstrap=[b.listen_addrs()[0]],
                seed=0,
                status_refresh_s=0.2,
            )
            await nursery.start(a.run)
            await wait_until(lambda: _height_of(a, b.peer_id) == 0, 15, "handshake")
            b.set_height(7)
            await wait_until(lambda: _height_of(a, b.peer_id) == 7, 15, "a sees b move on")
            a.set_height(3)
            await wait_until(lambda: _height_of(b, a.peer_id) == 3, 15, "b sees a move on")
            nursery.cancel_scope.cancel()

    trio.run(main)
