"""Real ChainNodes (SQLite, signers, Tendermint engine) in one process, wired by the
deterministic router of qos_chain.testing.cluster: agreement, tx gossip, crash and catch-up,
halting without forking below quorum, partitions, and a following full node."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from qos_chain import codec
from qos_chain.sign import DOMAIN_VOTE, sign_bytes
from qos_chain.testing.cluster import FAST, Cluster
from qos_chain.types import Vote, VoteType, canonical_vote


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return Cluster(tmp_path, 4, followers=1)


def test_four_validators_agree_and_a_full_node_follows(cluster: Cluster) -> None:
    cluster.run_until(lambda: min(cluster.heights()) >= 6)
    cluster.safety()
    follower = cluster.members[4]
    assert follower.node is not None
    assert follower.node.round_state()[0] >= 6  # the full node follows the chain
    commit = cluster.members[0].node.store.commit(3)  # type: ignore[union-attr]
    assert commit is not None
    assert sum(1 for s in commit.signatures if s.signature) >= 3  # +2/3 of 4 signed


def test_tx_submitted_to_one_node_is_committed_everywhere(cluster: Cluster) -> None:
    n0 = cluster.members[0].node
    assert n0 is not None
    res = n0.submit_tx(b"colour=blue", cluster.clock)

    def everywhere() -> bool:
        return all(
            m.node is not None and m.node.store.tx(res.tx_hash) is not None for m in cluster.members
        )

    cluster.run_until(everywhere)
    cluster.safety()
    assert all(m.node.app.query("key", b"colour").value == b"blue" for m in cluster.members)  # type: ignore[union-attr]


def test_one_crashed_validator_does_not_stop_the_chain_and_catches_up(cluster: Cluster) -> None:
    cluster.run_until(lambda: min(cluster.heights()) >= 2)
    victim = cluster.members[1]
    cluster.crash(victim)
    cluster.run_until(lambda: min(cluster.heights()) >= 8)  # 3 of 4 keep going
    cluster.start(victim)  # restart from its files: state, signer guard, blocks
    assert victim.node is not None
    cluster.run_until(lambda: victim.node is not None and victim.node.state.last_block_height >= 10)
    cluster.safety()
    # it rejoined consensus: it signs commits again
    signer = victim.node.privval.address
    later = cluster.members[0].node.store.commit(cluster.members[0].node.state.last_block_height)  # type: ignore[union-attr]

    def signs_again() -> bool:
        top = cluster.members[0].node.state.last_block_height  # type: ignore[union-attr]
        c = cluster.members[0].node.store.commit(top)  # type: ignore[union-attr]
        return c is not None and any(s.validator == signer and s.signature for s in c.signatures)

    assert later is not None
    cluster.run_until(signs_again)


def test_two_of_four_stopped_halts_without_fork_then_resumes(cluster: Cluster) -> None:
    cluster.run_until(lambda: min(cluster.heights()) >= 3)
    a, b = cluster.members[2], cluster.members[3]
    cluster.crash(a)
    cluster.crash(b)
    stuck_at = max(cluster.heights())
    with pytest.raises(AssertionError, match="not reached"):
        cluster.run_until(lambda: max(cluster.heights()) > stuck_at + 1, max_sim_s=20)
    assert max(cluster.heights()) <= stuck_at + 1  # at most the height in flight
    cluster.start(a)
    cluster.start(b)
    cluster.run_until(lambda: min(cluster.heights()) >= stuck_at + 3)
    cluster.safety()


def test_partitioned_validator_heals_and_syncs(cluster: Cluster) -> None:
    cluster.run_until(lambda: min(cluster.heights()) >= 2)
    cluster.partitioned.add("n3")
    cluster.run_until(lambda: cluster.members[0].node.state.last_block_height >= 9)  # type: ignore[union-attr]
    assert cluster.members[3].node.state.last_block_height < 9  # type: ignore[union-attr]
    cluster.partitioned.clear()
    cluster.run_until(lambda: min(cluster.heights()) >= 11)
    cluster.safety()


def test_equivocation_becomes_evidence_in_a_block(cluster: Cluster) -> None:
    cluster.run_until(lambda: min(cluster.heights()) >= 2)
    byz = cluster.members[0]
    assert byz.node is not None
    key = SigningKey(bytes.fromhex(json.loads((byz.root / "key.json").read_text())["private_key"]))
    height = min(m.node.state.next_height for m in cluster.members if m.node is not None)
    addr = byz.node.privval.address
    index = byz.node.state.validators.index_of(addr)
    assert index is not None
    for block_hash in (b"\x0a" * 32, b"\x0b" * 32):  # two prevotes for one (height, round)
        v = Vote(VoteType.PREVOTE, height, 0, block_hash, 1, addr, index, b"")
        sig = key.sign(sign_bytes(DOMAIN_VOTE, "qos-cluster", canonical_vote(v))).signature
        signed = Vote(v.type, v.height, 0, block_hash, 1, addr, index, sig)
        for m in cluster.members[1:4]:
            assert m.node is not None
            m.node.receive_consensus(codec.encode(signed), byz.name, cluster.clock)

    def committed_evidence() -> bool:
        return all(m.node is not None and m.node.store.evidence(10) for m in cluster.members)

    cluster.run_until(committed_evidence)
    cluster.safety()
    (h, raw), *_ = cluster.members[2].node.store.evidence(10)  # type: ignore[union-attr]
    assert h >= height
    assert addr in raw  # the equivocating validator is named in the evidence


def test_txs_cut_the_idle_wait_between_blocks(tmp_path: Path) -> None:
    slow_idle = dataclasses.replace(FAST, commit_ns=3_000_000_000)  # 3 s blocks when idle
    c = Cluster(tmp_path, 4, timeouts=slow_idle)
    c.run_until(lambda: min(c.heights()) >= 3)
    n0 = c.members[0].node
    assert n0 is not None
    idle_gap = n0.store.block(3).header.time_ns - n0.store.block(2).header.time_ns  # type: ignore[union-attr]
    assert idle_gap >= 3_000_000_000
    last = n0.state.last_block_time_ns
    res = n0.submit_tx(b"fast=yes", c.clock)
    c.run_until(lambda: n0.store.tx(res.tx_hash) is not None)
    rec = n0.store.tx(res.tx_hash)
    assert rec is not None
    block = n0.store.block(rec.height)
    assert block is not None
    assert block.header.time_ns - last < 1_500_000_000  # not the 3 s idle wait
    c.safety()
