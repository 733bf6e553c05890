"""The runtime's own txs: direct to the validators, and gossiped as well whenever some
other validator has no live direct link (or this node is no validator)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest
import trio

from qos_chain.node import ChainNode
from qos_chain.replica import PublishTx
from qos_chain.types import Validator, ValidatorSet
from qos_node.runtime import NodeRuntime
from qos_p2p.port import Network

KEYS = [bytes([i]) * 32 for i in range(1, 5)]


class FakeNetwork:
    def __init__(self, live: int) -> None:
        self.live = live
        self.direct: list[bytes] = []
        self.gossiped: list[bytes] = []

    async def send_txs(self, payload: bytes) -> int:
        self.direct.append(payload)
        return self.live

    async def publish_tx(self, payload: bytes) -> None:
        self.gossiped.append(payload)


def flush(live: int, *, validator: bool) -> FakeNetwork:
    vals = ValidatorSet.of([Validator(k, 10) for k in KEYS])
    me = vals.validators[0].address if validator else b"\x00" * 20
    node = SimpleNamespace(
        state=SimpleNamespace(validators=vals),
        privval=SimpleNamespace(address=me),
        take_outbox=lambda: [PublishTx(b"tx-1")],
    )
    net = FakeNetwork(live)
    rt = NodeRuntime(cast(ChainNode, node), cast(Network, net))
    trio.run(rt._flush)
    return net


@pytest.mark.parametrize(("live", "gossiped"), [(3, False), (2, True), (0, True)])
def test_a_validator_gossips_when_a_validator_has_no_live_link(live: int, gossiped: bool) -> None:
    net = flush(live, validator=True)
    assert net.direct == [b"tx-1"]
    assert net.gossiped == ([b"tx-1"] if gossiped else [])


def test_a_full_node_gossips() -> None:
    net = flush(0, validator=False)
    assert net.gossiped == [b"tx-1"]
