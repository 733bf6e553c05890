"""The runtime's network counters (with its own txs_dropped) through the API port and
GraphQL; the runtime's validator prover signs only peer-binding statements."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
import trio

from qos_api.app import create_app
from qos_api.ports import NetworkStatsView
from qos_chain.node import ChainNode
from qos_chain.testing.signer import MemorySigner, seed_for
from qos_chain.types import ValidatorSet
from qos_node.port import LocalNodePort
from qos_node.runtime import NodeRuntime
from qos_node.testing import make_test_node
from qos_p2p import binding
from qos_p2p.counters import Counters
from qos_p2p.port import InboundMessage, MessageKind, Network, NetworkStats, PeerId

SIGNER = MemorySigner(seed_for("stats", 0))


class CountingNetwork:
    def __init__(self) -> None:
        self.counters = Counters()

    def stats(self) -> NetworkStats:
        return self.counters.stats()


def runtime(validators: ValidatorSet, backlog: int = 64) -> tuple[NodeRuntime, CountingNetwork]:
    node = SimpleNamespace(state=SimpleNamespace(validators=validators), privval=SIGNER)
    net = CountingNetwork()
    rt = NodeRuntime(cast(ChainNode, node), cast(Network, net), tx_backlog_bytes=backlog)
    return rt, net


def test_network_stats_carry_the_runtimes_dropped_tx_messages() -> None:
    rt, net = runtime(ValidatorSet.of([SIGNER.validator()]))
    net.counters.inc("txs_direct_received", 3)
    for _ in range(3):
        rt._take(InboundMessage(PeerId("p"), MessageKind.TX, b"x" * 40))  # 1 fits, 2 dropped
    stats = rt.network_stats()
    assert stats.txs_dropped == 2 == rt.txs_dropped
    assert stats.txs_direct_received == 3
    assert net.stats().txs_dropped == 0  # the network itself never drops these


def test_the_api_view_has_every_network_counter() -> None:
    fields = [f.name for f in dataclasses.fields(NetworkStats)]
    assert [f.name for f in dataclasses.fields(NetworkStatsView)] == fields
    assert "txs_dropped" in fields
    stats = NetworkStats(**{name: i for i, name in enumerate(fields)})
    assert dataclasses.asdict(NetworkStatsView(**dataclasses.asdict(stats))) == (
        dataclasses.asdict(stats)
    )


def test_the_prover_signs_only_the_statement_and_only_in_the_set() -> None:
    rt, _ = runtime(ValidatorSet.of([SIGNER.validator()]))
    stmt = binding.statement("qos-test", b"peer")
    proof = rt._prove(stmt)
    assert proof is not None
    assert proof.public_key == SIGNER.public_key
    text = binding.encode_proof(proof)
    checked = binding.check_claim("qos-test", b"peer", True, text, rt._is_validator_key)
    assert checked is binding.ClaimCheck.VALIDATOR
    with pytest.raises(ValueError, match="not a peer-binding statement"):
        rt._prove(b"QOS\x00\x0bqos/vote/v1...")
    other = MemorySigner(seed_for("stats", 1))
    outside, _ = runtime(ValidatorSet.of([other.validator()]))
    assert outside._prove(stmt) is None
    assert not outside._is_validator_key(SIGNER.public_key)
    assert outside._is_validator_key(other.public_key)


def _graphql(app: Any, query: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://qos.test"
        ) as client:
            resp = await client.post("/graphql", json={"query": query})
            assert resp.status_code == 200, resp.text
            body: dict[str, Any] = resp.json()
            return body

    return trio.run(main)


def test_graphql_network_stats(tmp_path: Path) -> None:
    tnode = make_test_node(tmp_path)
    rt, net = runtime(ValidatorSet.of([SIGNER.validator()]), backlog=0)
    net.counters.inc("validator_proofs_invalid")
    rt._take(InboundMessage(PeerId("p"), MessageKind.TX, b"tx"))

    def view() -> NetworkStatsView:
        return NetworkStatsView(**dataclasses.asdict(rt.network_stats()))

    query = "{ networkStats { txsDropped validatorProofsInvalid txsDirectRefused } }"
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now, network_stats=view)
    try:
        out = _graphql(create_app(port), query)
    finally:
        port.close()
    assert out == {
        "data": {
            "networkStats": {"txsDropped": 1, "validatorProofsInvalid": 1, "txsDirectRefused": 0}
        }
    }
    bare = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now)
    try:
        assert _graphql(create_app(bare), query) == {"data": {"networkStats": None}}
    finally:
        bare.close()
