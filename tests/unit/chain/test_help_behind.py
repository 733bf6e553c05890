"""When a validator pushes a decided block to a peer it thinks is behind (BftDriver).

Under load the last precommits of a height arrive after +2/3 decided it; a peer that sent
such a late vote decided too. Pushing it the block (read, encode, send, decode) would be
pure waste, and a stale pushed block must never be pushed back. A peer that still speaks
of an old height after HELP_AFTER_NS, or two heights back, is pushed the block."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qos_chain import codec
from qos_chain.consensus.wire import BlockWithCommit, decode_consensus
from qos_chain.node import ChainNode
from qos_chain.replica import HELP_AFTER_NS, SendConsensus
from qos_chain.testing.cluster import Cluster
from qos_chain.types import CommitFlag, Vote, VoteType


@pytest.fixture
def settled(tmp_path: Path) -> Cluster:
    cluster = Cluster(tmp_path, 4)
    cluster.run_until(lambda: min(cluster.heights()) >= 4)
    for m in cluster.members:  # nothing in flight: every outbox delivered
        assert m.node is not None
        m.node.take_outbox()
    return cluster


def _late_precommit(node: ChainNode, height: int, index: int) -> bytes:
    """Validator ``index``'s precommit of ``height``, rebuilt from the stored commit."""
    commit = node.store.commit(height)
    assert commit is not None
    sig = commit.signatures[index]
    address = node.state.validators.validators[index].address
    if sig.flag is not CommitFlag.COMMIT:  # absent from the commit: the driver checks no sig
        sig = replace(sig, validator=address)
    vote = Vote(
        VoteType.PRECOMMIT,
        height,
        commit.round,
        commit.block_hash,
        sig.time_ns,
        sig.validator,
        index,
        sig.signature,
    )
    return codec.encode(vote)


def _pushed_blocks(node: ChainNode, peer: str) -> list[int]:
    out = []
    for eff in node.take_outbox():
        if isinstance(eff, SendConsensus) and eff.peer == peer:
            msg = decode_consensus(eff.payload)
            if isinstance(msg, BlockWithCommit):
                out.append(msg.block.header.height)
    return out


def _driver_of(cluster: Cluster, i: int) -> ChainNode:
    node = cluster.members[i].node
    assert node is not None
    assert node.bft is not None
    return node


def test_a_late_vote_right_after_the_commit_pushes_nothing(settled: Cluster) -> None:
    node = _driver_of(settled, 0)
    last = node.state.last_block_height
    started = node.bft._height_started_at  # type: ignore[union-attr]
    node.receive_consensus(_late_precommit(node, last, 1), "n1", started + 1_000_000)
    assert _pushed_blocks(node, "n1") == []


def test_a_peer_still_at_the_old_height_after_the_wait_is_pushed_the_block(
    settled: Cluster,
) -> None:
    node = _driver_of(settled, 0)
    last = node.state.last_block_height
    started = node.bft._height_started_at  # type: ignore[union-attr]
    payload = _late_precommit(node, last, 2)
    peer = "stuck"  # has sent nothing newer than ``last`` (the cluster's n2 has)
    node.receive_consensus(payload, peer, started + 1_000_000)
    assert _pushed_blocks(node, peer) == []
    node.receive_consensus(payload, peer, started + HELP_AFTER_NS)  # regossiped a second on
    assert _pushed_blocks(node, peer) == [last]
    node.receive_consensus(payload, peer, started + 2 * HELP_AFTER_NS)
    assert _pushed_blocks(node, peer) == []  # once per (peer, height)


def test_a_peer_two_heights_back_is_pushed_at_once(settled: Cluster) -> None:
    node = _driver_of(settled, 0)
    last = node.state.last_block_height
    started = node.bft._height_started_at  # type: ignore[union-attr]
    node.receive_consensus(_late_precommit(node, last - 1, 3), "stuck", started + 1_000_000)
    assert _pushed_blocks(node, "stuck") == [last - 1]


def test_a_peer_that_sent_a_newer_height_is_not_behind(settled: Cluster) -> None:
    node = _driver_of(settled, 0)
    last = node.state.last_block_height
    started = node.bft._height_started_at  # type: ignore[union-attr]
    node.receive_consensus(_late_precommit(node, last, 1), "n1", started + 1_000_000)
    newer = codec.encode(
        Vote(VoteType.PREVOTE, last + 1, 0, b"", 0, b"\x01" * 20, 1, b"")  # our height
    )
    node.receive_consensus(newer, "n1", started + 2_000_000)
    node.receive_consensus(_late_precommit(node, last - 1, 1), "n1", started + 5 * HELP_AFTER_NS)
    assert _pushed_blocks(node, "n1") == []


def test_a_pushed_block_we_already_have_is_not_pushed_back(settled: Cluster) -> None:
    node = _driver_of(settled, 0)
    last = node.state.last_block_height
    block, commit = node.store.block(last - 1), node.store.commit(last - 1)
    assert block is not None
    assert commit is not None
    started = node.bft._height_started_at  # type: ignore[union-attr]
    stale = codec.encode(BlockWithCommit(block, commit))
    node.receive_consensus(stale, "n1", started + 5 * HELP_AFTER_NS)
    assert _pushed_blocks(node, "n1") == []
    assert node.state.last_block_height == last  # and nothing applied twice
