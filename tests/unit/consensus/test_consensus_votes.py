"""VoteSet / HeightVoteSet tallies, equivocation evidence and commits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from consensus_helpers import CHAIN, Rig

from qos_chain import codec
from qos_chain.consensus.votes import (
    MISSING,
    DuplicateVoteEvidence,
    HeightVoteSet,
    InvalidVote,
    VoteSet,
    commit_votes,
    make_commit,
    verify_evidence,
)
from qos_chain.types import CommitFlag, Validator, ValidatorSet, VoteType
from qos_chain.validation import verify_commit

PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
H1, H2 = b"\x01" * 32, b"\x02" * 32


def test_quorum_for_a_block_nil_and_any() -> None:
    rig = Rig()
    vs = VoteSet(CHAIN, 1, 0, PV, rig.valset)
    assert vs.two_thirds_majority() is MISSING
    vs.add(rig.vote(0, PV, 0, H1))
    assert vs.has_one_third_any() is False
    vs.add(rig.vote(1, PV, 0, b""))
    assert vs.has_one_third_any()
    assert not vs.has_two_thirds_any()
    vs.add(rig.vote(2, PV, 0, H1))
    assert vs.has_two_thirds_any()
    assert vs.two_thirds_majority() is MISSING
    vs.add(rig.vote(3, PV, 0, H1))
    assert vs.two_thirds_majority() == H1
    assert vs.power_for(H1) == 30
    nil = VoteSet(CHAIN, 1, 0, PV, rig.valset)
    for i in range(3):
        nil.add(rig.vote(i, PV, 0, b""))
    assert nil.two_thirds_majority() is None


def test_weighted_quorum() -> None:
    rig = Rig()
    vals = rig.valset.validators
    weighted = ValidatorSet(
        tuple(Validator(v.public_key, p) for v, p in zip(vals, [50, 10, 10, 30], strict=True))
    )
    vs = VoteSet(CHAIN, 1, 0, PC, weighted)
    vs.add(rig.vote(0, PC, 0, H1))
    assert vs.two_thirds_majority() is MISSING
    vs.add(rig.vote(1, PC, 0, H1))
    assert vs.two_thirds_majority() is MISSING
    vs.add(rig.vote(3, PC, 0, H1))
    assert vs.two_thirds_majority() == H1


def test_rejects_bad_votes() -> None:
    rig = Rig()
    vs = VoteSet(CHAIN, 1, 0, PV, rig.valset)
    good = rig.vote(0, PV, 0, H1)
    for bad in (
        replace(good, round=1),
        replace(good, type=PC),
        replace(good, signature=bytes(64)),
        replace(good, validator_index=1),
        replace(good, validator_index=-1),
        rig.signers[0].sign_vote_unguarded("other", replace(good, signature=b"")),
    ):
        with pytest.raises(InvalidVote):
            vs.add(bad)
    assert vs.power_seen == 0
    assert len(vs) == 0


def test_equivocation_evidence_and_the_second_vote_does_not_count() -> None:
    rig = Rig()
    vs = VoteSet(CHAIN, 1, 0, PV, rig.valset)
    a, b = rig.vote(0, PV, 0, H2), rig.vote(0, PV, 0, H1)
    assert vs.add(a).added
    res = vs.add(b)
    assert not res.added
    assert res.evidence == DuplicateVoteEvidence(b, a)
    assert vs.power_for(H1) == 0
    assert vs.power_for(H2) == 10
    assert not vs.add(rig.signers[0].sign_vote_unguarded(CHAIN, replace(a, time_ns=5))).added
    ev = res.evidence
    assert ev is not None
    verify_evidence(CHAIN, rig.valset, ev)
    assert codec.decode_any(codec.encode(ev)) == ev
    with pytest.raises(InvalidVote):
        verify_evidence(CHAIN, rig.valset, DuplicateVoteEvidence(a, b))
    with pytest.raises(InvalidVote):
        verify_evidence(CHAIN, rig.valset, DuplicateVoteEvidence(b, rig.vote(1, PV, 0, H2)))


def test_same_vote_twice_is_not_counted_twice() -> None:
    rig = Rig()
    vs = VoteSet(CHAIN, 1, 0, PV, rig.valset)
    v = rig.vote(0, PV, 0, H1)
    assert vs.add(v).added
    assert vs.add(v) == vs.add(v)
    assert not vs.add(v).added
    assert vs.power_seen == 10


def test_height_vote_set_round_power() -> None:
    rig = Rig()
    hvs = HeightVoteSet(CHAIN, 1, rig.valset)
    hvs.add(rig.vote(0, PV, 3, b""))
    hvs.add(rig.vote(0, PC, 3, b""))
    hvs.add(rig.vote(1, PC, 3, H1))
    assert hvs.round_power(3) == 20
    assert hvs.round_power(2) == 0
    with pytest.raises(InvalidVote):
        hvs.add(rig.vote(0, PV, 0, H1, height=2))


def test_make_commit_verifies_and_marks_absent_and_nil() -> None:
    rig = Rig()
    vs = VoteSet(CHAIN, 1, 2, PC, rig.valset)
    vs.add(rig.vote(0, PC, 2, H1))
    vs.add(rig.vote(1, PC, 2, H1))
    vs.add(rig.vote(2, PC, 2, b""))
    with pytest.raises(Exception, match="power"):
        verify_commit(CHAIN, rig.valset, make_commit(vs, H1), H1, 1)
    vs.add(rig.vote(3, PC, 2, H1))
    commit = make_commit(vs, H1)
    assert [s.flag for s in commit.signatures] == [
        CommitFlag.COMMIT,
        CommitFlag.COMMIT,
        CommitFlag.NIL,
        CommitFlag.COMMIT,
    ]
    verify_commit(CHAIN, rig.valset, commit, H1, 1)
    rebuilt = VoteSet(CHAIN, 1, 2, PC, rig.valset)
    for v in commit_votes(commit):
        assert rebuilt.add(v).added
    assert rebuilt.two_thirds_majority() == H1
    partial = VoteSet(CHAIN, 1, 2, PC, rig.valset)
    partial.add(rig.vote(0, PC, 2, H1))
    partial.add(rig.vote(1, PC, 2, H2))
    assert [s.flag for s in make_commit(partial, H1).signatures][1:] == [CommitFlag.ABSENT] * 3
    with pytest.raises(ValueError, match="nil"):
        make_commit(vs, b"")
