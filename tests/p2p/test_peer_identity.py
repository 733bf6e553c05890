"""Validator status is proven, not claimed: real libp2p hosts on loopback.

Genuine validators get their ValidatorAuth from NodeRuntime (the node's prover: the
consensus key signs the peer-binding statement; the verifier: the current validator set)
over a stand-in chain node. Impostors: a full node that claims validator with no proof,
a peer presenting a genuine validator's proof (made for that validator's peer id), and a
peer with a self-made proof by a key outside the set.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import trio

from qos_chain.node import ChainNode
from qos_chain.testing.signer import MemorySigner, seed_for
from qos_chain.types import ValidatorSet
from qos_node.runtime import NodeRuntime
from qos_p2p import binding
from qos_p2p.host import Libp2pNetwork, _peer_bytes
from qos_p2p.keys import NodeKey, generate_node_key
from qos_p2p.port import (
    Accept,
    InboundMessage,
    MessageKind,
    Network,
    PeerId,
    Reject,
    ValidatorAuth,
    ValidatorProof,
    Verdict,
)
from tests.p2p.harness import CHAIN, collect, tx_gossip_line, wait_until

SIGNERS = [MemorySigner(seed_for("peer-identity", i)) for i in range(3)]


def runtime_for(signer: MemorySigner, state: SimpleNamespace, net: Network) -> NodeRuntime:
    node = SimpleNamespace(state=state, privval=signer)
    return NodeRuntime(cast(ChainNode, node), net)


def network(key: NodeKey, boot: list[str], seed: int, **kw: bool) -> Libp2pNetwork:
    return Libp2pNetwork(key, chain_id=CHAIN, bootstrap=boot, ban_seconds=30, seed=seed, **kw)


def auth_of(rt: NodeRuntime) -> ValidatorAuth:
    return ValidatorAuth(rt._prove, rt._is_validator_key)


def view(net: Libp2pNetwork) -> dict[PeerId, bool]:
    return {p.peer_id: p.is_validator for p in net.peers()}


def no_message_from(net: Libp2pNetwork, peer: PeerId) -> bool:
    while True:
        try:
            msg: InboundMessage = net.inbound().receive_nowait()
        except trio.WouldBlock:
            return True
        if msg.peer == peer:
            return False


async def until_sent(net: Libp2pNetwork, want: int) -> None:
    """Offer direct txs until one went over `want` live links (links open asynchronously)."""
    with trio.fail_after(15):
        while await net.send_txs(b"probe") < want:
            await trio.sleep(0.01)  # sleep-ok: poll interval of a deadline-bounded wait


async def until_consensus(net: Libp2pNetwork) -> list[InboundMessage]:
    """Every inbound message up to and including the first consensus message."""
    out: list[InboundMessage] = []
    with trio.fail_after(15):
        async for msg in net.inbound():
            out.append(msg)
            if msg.kind is MessageKind.CONSENSUS:
                return out
    return out


def reject_bad(kind: MessageKind, payload: bytes) -> Verdict:
    return Reject("bad") if payload.startswith(b"bad") else Accept()


def test_an_unproven_claim_gets_no_validator_privileges() -> None:
    """v1, v2 genuine; the impostor is a full node that claims validator (no proof)."""

    async def main() -> None:
        state = SimpleNamespace(validators=ValidatorSet.of([s.validator() for s in SIGNERS[:2]]))
        async with trio.open_nursery() as nursery:
            v1 = network(generate_node_key(), [], 1)
            v1.set_validator_auth(auth_of(runtime_for(SIGNERS[0], state, v1)))
            await nursery.start(v1.run)
            boot = v1.listen_addrs()[:1]
            v2 = network(generate_node_key(), boot, 2)
            v2.set_validator_auth(auth_of(runtime_for(SIGNERS[1], state, v2)))
            await nursery.start(v2.run)
            impostor = network(generate_node_key(), boot, 3, is_validator=True)  # trusts claims
            await nursery.start(impostor.run)
            await wait_until(
                lambda: len(v1.peers()) == 2 and len(v2.peers()) == len(impostor.peers()) == 1,
                15,
            )

            assert view(v1) == {v2.peer_id: True, impostor.peer_id: False}
            assert view(v2) == {v1.peer_id: True}
            assert view(impostor) == {v1.peer_id: True}  # v1 proves itself: the impostor agrees
            # the impostor opens consensus and tx streams to v1: refused, counted, penalised
            await wait_until(
                lambda: v1.stats().txs_direct_refused >= 1 and v1.stats().consensus_refused >= 1,
                15,
            )
            assert v1.stats().validator_claims_unproven == 1
            assert v1.stats().validator_proofs_invalid == 0
            assert v1.peer_score(impostor.peer_id) < 0
            assert v1.peer_score(v2.peer_id) == 0

            await impostor.send_consensus(b"impostor-vote")
            await impostor.send_txs(b"impostor-txs")
            await until_sent(v2, 1)  # the genuine validator's tx link is up
            await v2.send_consensus(b"v2-vote")
            got = await until_consensus(v1)
            assert {m.peer for m in got} == {v2.peer_id}
            assert got[-1].payload == b"v2-vote"
            assert {m.payload for m in got if m.kind is MessageKind.TX} == {b"probe"}
            assert no_message_from(v1, impostor.peer_id)
            assert v1.stats().txs_direct_received >= 1
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_replayed_validator_proof_is_forged_and_penalised() -> None:
    """The impostor presents v2's genuine proof (signed for v2's peer id) as its own."""

    async def main() -> None:
        state = SimpleNamespace(validators=ValidatorSet.of([s.validator() for s in SIGNERS[:2]]))
        v2_key = generate_node_key()
        v2_stmt = binding.statement(CHAIN, _peer_bytes(v2_key.peer_id))
        stolen = ValidatorProof(SIGNERS[1].public_key, SIGNERS[1]._key.sign(v2_stmt).signature)
        async with trio.open_nursery() as nursery:
            v1 = network(generate_node_key(), [], 1)
            v1.set_validator_auth(auth_of(runtime_for(SIGNERS[0], state, v1)))
            await nursery.start(v1.run)
            impostor = network(generate_node_key(), v1.listen_addrs()[:1], 3)
            impostor.set_validator_auth(ValidatorAuth(lambda _: stolen, lambda _: True))
            await nursery.start(impostor.run)
            await wait_until(lambda: len(v1.peers()) == 1 and len(impostor.peers()) == 1, 15)

            assert view(v1) == {impostor.peer_id: False}
            assert v1.stats().validator_proofs_invalid == 1  # once, though judged twice
            await wait_until(lambda: v1.stats().txs_direct_refused >= 1, 15)
            assert v1.peer_score(impostor.peer_id) <= -20  # the proof, then a stream
            await impostor.send_consensus(b"impostor-vote")
            await impostor.send_txs(b"impostor-txs")  # its links open, then v1 resets them
            assert no_message_from(v1, impostor.peer_id)
            assert v1.stats().txs_direct_received == v1.stats().consensus_received == 0
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_key_outside_the_set_makes_a_full_node_without_penalty() -> None:
    async def main() -> None:
        state = SimpleNamespace(validators=ValidatorSet.of([s.validator() for s in SIGNERS[:2]]))
        outsider = MemorySigner(seed_for("outsider", 0))
        its_view = SimpleNamespace(
            validators=ValidatorSet.of([SIGNERS[0].validator(), outsider.validator()])
        )
        async with trio.open_nursery() as nursery:
            v1 = network(generate_node_key(), [], 1)
            v1.set_validator_auth(auth_of(runtime_for(SIGNERS[0], state, v1)))
            await nursery.start(v1.run)
            other = network(generate_node_key(), v1.listen_addrs()[:1], 3)
            other.set_validator_auth(auth_of(runtime_for(outsider, its_view, other)))
            await nursery.start(other.run)
            await wait_until(lambda: len(v1.peers()) == 1 and len(other.peers()) == 1, 15)

            assert view(v1) == {other.peer_id: False}
            assert view(other) == {v1.peer_id: True}
            # it believes it is a validator (its own view of the set): its streams are
            # refused, but a set view that differs is no misbehaviour
            await wait_until(lambda: v1.stats().txs_direct_refused >= 1, 15)
            assert v1.stats().validator_claims_unproven == 1
            assert v1.stats().validator_proofs_invalid == 0
            assert v1.peer_score(other.peer_id) == 0
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_validator_set_change_is_applied_to_connected_peers() -> None:
    """v2 leaves the set: once the runtimes see the change, v1 stops treating it as a
    validator and the direct links close; back in the set, they reopen (no reconnect)."""

    async def main() -> None:
        both = ValidatorSet.of([s.validator() for s in SIGNERS[:2]])
        state = SimpleNamespace(validators=both)
        async with trio.open_nursery() as nursery:
            v1 = network(generate_node_key(), [], 1)
            rt1 = runtime_for(SIGNERS[0], state, v1)
            rt1._validators = both
            v1.set_validator_auth(auth_of(rt1))
            await nursery.start(v1.run)
            v2 = network(generate_node_key(), v1.listen_addrs()[:1], 2)
            rt2 = runtime_for(SIGNERS[1], state, v2)
            rt2._validators = both
            v2.set_validator_auth(auth_of(rt2))
            await nursery.start(v2.run)
            await wait_until(lambda: view(v1) == {v2.peer_id: True}, 15)
            await until_sent(v1, 1)

            state.validators = ValidatorSet.of([SIGNERS[0].validator()])
            rt1._check_validator_set()
            rt2._check_validator_set()
            await wait_until(lambda: view(v1) == {v2.peer_id: False}, 15)
            await wait_until(lambda: view(v2) == {v1.peer_id: True}, 15)
            assert await v1.send_txs(b"after-removal") == 0
            assert await v2.send_txs(b"after-removal") == 0

            state.validators = both
            rt1._check_validator_set()
            rt2._check_validator_set()
            await wait_until(lambda: view(v1) == {v2.peer_id: True}, 15)
            await until_sent(v1, 1)
            assert v1.stats().reconnects == 0  # judged again over the same connection
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_rejected_gossip_message_penalises_its_publisher_behind_a_relay() -> None:
    """a - b - c in a line; b relays everything, c rejects "bad": c penalises the relay b
    and the publisher a, which it is not even connected to."""

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            b = network(generate_node_key(), [], 1)
            await nursery.start(b.run)
            boot = b.listen_addrs()[:1]
            a = network(generate_node_key(), boot, 0)
            c = network(generate_node_key(), boot, 2)
            c.set_validator(reject_bad)
            await nursery.start(a.run)
            await nursery.start(c.run)
            await wait_until(lambda: tx_gossip_line(a, b, c), 15)
            await a.publish_tx(b"bad-1")
            await a.publish_tx(b"good-1")
            (at_c,) = await collect(c, 1, MessageKind.TX)
            assert at_c.payload == b"good-1"
            assert at_c.peer == a.peer_id
            assert a.peer_id not in view(c)  # never connected
            assert c.peer_score(a.peer_id) < 0  # the publisher
            assert c.peer_score(b.peer_id) < 0  # and the relay
            assert c.stats().rejected == 2
            nursery.cancel_scope.cancel()

    trio.run(main)
