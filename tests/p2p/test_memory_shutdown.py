"""MemoryNetwork: a node whose runtime stopped reading (shutting down) is a peer going
away to its senders; sending to it must never fail the sender (a shutdown race that
failed tests/integration/test_runtime_memory.py once in CI)."""

from __future__ import annotations

import trio

from qos_p2p.port import Network
from tests.p2p.harness import memory_nets, wait_until


def test_sending_to_a_node_that_stopped_reading_is_dropped_not_raised() -> None:
    async def main() -> None:
        async with memory_nets(2) as nets:
            a, b = nets
            await wait_until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1, 10)
            async with b.inbound():
                pass  # b's runtime is gone: its receive channel is closed
            before = b.stats().inbound_dropped
            await a.send_consensus(b"vote")  # must not raise BrokenResourceError
            assert b.stats().inbound_dropped == before + 1
            assert _alive(a)

    trio.run(main)


def _alive(net: Network) -> bool:
    return len(net.peers()) == 1
