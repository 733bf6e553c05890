"""ConsensusWal: records survive, a torn tail is cut at the last whole record, reset empties,
and a validator restarted mid-height replays its own signed votes instead of going silent."""

from __future__ import annotations

from pathlib import Path

from qos_chain import codec
from qos_chain.consensus.wal import ConsensusWal
from qos_chain.consensus.wire import decode_consensus
from qos_chain.replica import SendConsensus
from qos_chain.testing.cluster import Cluster
from qos_chain.types import Vote, VoteType


def test_records_round_trip_and_torn_tail(tmp_path: Path) -> None:
    wal = ConsensusWal(tmp_path / "cs.wal")
    wal.append(b"one", own=True)
    wal.append(b"two", own=False)
    wal.close()
    assert ConsensusWal(tmp_path / "cs.wal").records() == [(True, b"one"), (False, b"two")]
    raw = (tmp_path / "cs.wal").read_bytes()
    (tmp_path / "cs.wal").write_bytes(raw[:-1])  # a crash mid-append
    assert ConsensusWal(tmp_path / "cs.wal").records() == [(True, b"one")]
    corrupt = bytearray(raw)
    corrupt[-1] ^= 1  # a flipped bit in the last payload fails its checksum
    (tmp_path / "cs.wal").write_bytes(bytes(corrupt))
    assert ConsensusWal(tmp_path / "cs.wal").records() == [(True, b"one")]


def test_reset_empties_the_log(tmp_path: Path) -> None:
    wal = ConsensusWal(tmp_path / "cs.wal")
    wal.append(b"x", own=True)
    wal.reset()
    wal.append(b"y", own=False)
    assert wal.records() == [(False, b"y")]


def test_reset_truncates_in_place_and_later_records_start_at_zero(tmp_path: Path) -> None:
    wal = ConsensusWal(tmp_path / "cs.wal")
    wal.append(b"a" * 1000, own=True)
    inode = (tmp_path / "cs.wal").stat().st_ino
    wal.reset()
    assert (tmp_path / "cs.wal").stat().st_size == 0
    wal.append(b"b", own=True)
    assert (tmp_path / "cs.wal").stat().st_ino == inode  # the same file, no rename
    assert ConsensusWal(tmp_path / "cs.wal").records() == [(True, b"b")]


def test_records_of_a_decided_height_left_by_a_lost_truncation_are_not_replayed(
    tmp_path: Path,
) -> None:
    """``reset`` does not fsync: after a power loss the log may still hold the decided
    height's records. The restarted validator must skip them (older height)."""
    cluster = Cluster(tmp_path, 4)
    victim = cluster.members[2]
    cluster.run_until(lambda: min(cluster.heights()) >= 3)
    assert victim.node is not None
    decided = victim.node.state.last_block_height
    wal_path = victim.root / "cs.wal"
    cluster.crash(victim)
    current = ConsensusWal(wal_path).records()  # what it logged at decided + 1, if anything
    commit = next(
        m.node.store.commit(decided)
        for m in cluster.members
        if m is not victim and m.node is not None
    )
    assert commit is not None
    stale = [
        codec.encode(
            Vote(
                VoteType.PRECOMMIT,
                decided,
                commit.round,
                commit.block_hash,
                sig.time_ns,
                sig.validator,
                i,
                sig.signature,
            )
        )
        for i, sig in enumerate(commit.signatures)
        if sig.signature
    ]
    assert stale
    # what a lost truncation leaves: the decided height's records, then the current ones
    wal_path.unlink()
    wal = ConsensusWal(wal_path)
    for payload in stale:
        wal.append(payload, own=True)
    for own, payload in current:
        wal.append(payload, own=own)
    wal.close()
    cluster.start(victim)
    assert victim.node is not None
    assert victim.node.state.last_block_height == decided
    resent = {e.payload for e in victim.node.outbox if isinstance(e, SendConsensus)}
    assert not set(stale) & resent  # nothing of the decided height is re-sent
    assert {p for own, p in current if own} <= resent  # the current height's still are
    cluster.run_until(lambda: min(cluster.heights()) >= decided + 2)
    cluster.safety()


def test_restarted_validator_replays_its_own_votes(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 4)
    victim = cluster.members[1]
    cluster.run_until(lambda: min(cluster.heights()) >= 2)

    def signed_this_height() -> bool:
        assert victim.node is not None
        assert victim.node.wal is not None
        return any(own for own, _ in victim.node.wal.records())

    cluster.run_until(signed_this_height)
    assert victim.node is not None
    assert victim.node.wal is not None
    own = [p for o, p in victim.node.wal.records() if o]
    height = victim.node.state.next_height
    cluster.crash(victim)
    cluster.start(victim)
    assert victim.node is not None
    # the WAL still held own records, so the height had not committed: it resumes there
    assert victim.node.state.next_height == height
    resent = [e.payload for e in victim.node.outbox if isinstance(e, SendConsensus)]
    assert own
    assert set(own) <= set(resent)  # its signed votes are re-gossiped, not lost
    bft = victim.node.bft
    assert bft is not None
    for v in (m for m in map(decode_consensus, own) if isinstance(m, Vote)):
        counted = bft.engine.votes.get(v.round, v.type).votes
        assert counted.get(v.validator_index) == v  # and counted by the engine again
    cluster.run_until(lambda: min(cluster.heights()) >= height + 2)
    cluster.safety()
