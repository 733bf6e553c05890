"""Run the port conformance suite against MemoryNetwork and Libp2pNetwork."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio

from tests.p2p import conformance
from tests.p2p.harness import libp2p_nets, memory_nets

IMPLEMENTATIONS = {"memory": memory_nets, "libp2p": libp2p_nets}


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
def test_port_conformance(impl: str, check: Callable[..., Awaitable[None]]) -> None:
    factory = IMPLEMENTATIONS[impl]

    async def main() -> None:
        with trio.fail_after(60):
            await check(factory)

    trio.run(main)
