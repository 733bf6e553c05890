"""TendermintEngine against validator stubs (real ed25519 keys, 4 validators, equal power)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from consensus_helpers import (
    CHAIN,
    Rig,
    S,
    make_block,
    non_proposer_rig,
    sent_proposals,
    sent_votes,
    timeouts,
)

from qos_chain import codec
from qos_chain.consensus.messages import (
    Decide,
    ProposalBlockReady,
    ReportEvidence,
    RequestProposalBlock,
    RoundStep,
    StartHeight,
    TimeoutFired,
    VoteReceived,
)
from qos_chain.consensus.votes import DuplicateVoteEvidence, verify_evidence
from qos_chain.privval import DoubleSignError
from qos_chain.types import Vote, VoteType
from qos_chain.validation import verify_commit

PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
A = make_block(1, b"block-a")
B = make_block(1, b"block-b")


def _decides(effects: Sequence[object]) -> list[Decide]:
    return [e for e in effects if isinstance(e, Decide)]


def _lock_on_a_in_round_0(rig: Rig) -> None:
    """Round 0: proposal A, +2/3 prevotes for A (lock), then nil precommits -> round 1."""
    rig.start()
    rig.send(rig.proposal(0, A))
    others = rig.others()
    out = rig.votes(others[:2], PV, 0, A.hash())
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, A.hash())]
    assert (rig.engine.locked_round, rig.engine.valid_round) == (0, 0)
    out = rig.votes(others, PC, 0, b"")
    (t,) = [t for t in timeouts(out) if t.step == RoundStep.PRECOMMIT]
    rig.now = t.at_ns
    rig.send(TimeoutFired(1, 0, RoundStep.PRECOMMIT))
    assert rig.engine.state().round == 1


def test_happy_path_decides_in_round_0() -> None:
    rig = non_proposer_rig()
    out = rig.start()
    assert rig.engine.state().step == RoundStep.PROPOSE
    assert [t.step for t in timeouts(out)] == [RoundStep.PROPOSE]
    out = rig.send(rig.proposal(0, A))
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, A.hash())]
    others = rig.others()
    out = rig.votes(others, PV, 0, A.hash())
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, A.hash())]
    out = rig.votes(others[:2], PC, 0, A.hash())
    (d,) = _decides(out)
    assert (d.height, d.round, d.block) == (1, 0, A)
    verify_commit(CHAIN, rig.valset, d.commit, A.hash(), 1)
    assert rig.engine.state().step == RoundStep.COMMIT
    # later votes for the decided height change nothing
    assert not _decides(rig.votes(others[2:], PC, 0, A.hash()))


def test_proposer_requests_a_block_and_proposes_it() -> None:
    probe = Rig()
    rig = Rig(me=probe.proposer_index(0))
    out = rig.start()
    assert RequestProposalBlock(1, 0) in out
    out = rig.send(ProposalBlockReady(1, 0, A))
    (p,) = sent_proposals(out)
    assert (p.height, p.round, p.pol_round, p.block_hash) == (1, 0, None, A.hash())
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, A.hash())]
    # a stale block for another round is ignored
    assert rig.send(ProposalBlockReady(1, 3, B)) == []


def test_next_height_waits_for_the_commit_timeout() -> None:
    rig = non_proposer_rig()
    rig.start()
    rig.send(rig.proposal(0, A))
    rig.votes(rig.others(), PV, 0, A.hash())
    rig.votes(rig.others(), PC, 0, A.hash())
    rig.now += 1
    out = rig.send(StartHeight(2, rig.valset, rig.base(2)))
    (t,) = timeouts(out)
    assert (t.height, t.round, t.step) == (2, 0, RoundStep.NEW_HEIGHT)
    assert t.at_ns == rig.now - 1 + rig.engine.config.commit_ns
    assert rig.engine.state().step == RoundStep.NEW_HEIGHT
    rig.now = t.at_ns
    rig.send(TimeoutFired(2, 0, RoundStep.NEW_HEIGHT))
    assert rig.engine.state() == replace(rig.engine.state(), height=2, round=0)
    assert rig.engine.state().step == RoundStep.PROPOSE


def test_proposer_timeout_prevotes_nil_then_nil_precommits_start_next_round() -> None:
    rig = non_proposer_rig()
    (t,) = timeouts(rig.start())
    rig.now = t.at_ns
    out = rig.send(TimeoutFired(1, 0, RoundStep.PROPOSE))
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, b"")]
    out = rig.votes(rig.others(), PV, 0, b"")  # line 44: +2/3 nil prevotes
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, b"")]
    out = rig.votes(rig.others(), PC, 0, b"")  # line 47
    (t,) = [t for t in timeouts(out) if t.step == RoundStep.PRECOMMIT]
    rig.now = t.at_ns
    out = rig.send(TimeoutFired(1, 0, RoundStep.PRECOMMIT))  # line 65
    assert rig.engine.state().round == 1
    assert rig.engine.state().step == RoundStep.PROPOSE


def test_prevote_timeout_precommits_nil() -> None:
    rig = non_proposer_rig()
    rig.start()
    rig.send(rig.proposal(0, A))
    others = rig.others()
    out = rig.votes(others[:1], PV, 0, B.hash()) + rig.votes(others[1:2], PV, 0, b"")
    (t,) = [t for t in timeouts(out) if t.step == RoundStep.PREVOTE]  # line 34
    rig.now = t.at_ns
    out = rig.send(TimeoutFired(1, 0, RoundStep.PREVOTE))  # line 61
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, b"")]
    assert rig.engine.locked_round == -1


def test_locked_validator_refuses_to_prevote_another_value() -> None:
    rig = non_proposer_rig(rounds=2)
    _lock_on_a_in_round_0(rig)
    out = rig.send(rig.proposal(1, B))  # line 22: locked on A, B is new -> nil
    assert [(v.type, v.round, v.block_hash) for v in sent_votes(out)] == [(PV, 1, b"")]
    assert rig.engine.locked_value == A


def test_locked_validator_prevotes_its_locked_value_again() -> None:
    rig = non_proposer_rig(rounds=2)
    _lock_on_a_in_round_0(rig)
    out = rig.send(rig.proposal(1, A))
    assert [(v.type, v.round, v.block_hash) for v in sent_votes(out)] == [(PV, 1, A.hash())]


def test_proof_of_lock_in_a_later_round_unlocks() -> None:
    """Locked on A in round 0; +2/3 prevoted B in round 1; round 2 re-proposes B with
    pol_round 1, so the validator prevotes B (line 28: lockedRound <= vr)."""
    rig = non_proposer_rig(rounds=3)
    _lock_on_a_in_round_0(rig)
    others = rig.others()
    rig.votes(others[:1], PV, 1, B.hash())
    # we never saw round 1's proposal: timeout propose -> nil prevote
    rig.now += 5 * S
    out = rig.send(TimeoutFired(1, 1, RoundStep.PROPOSE))
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, b"")]
    rig.votes(others[1:], PV, 1, B.hash())  # now 3 of 4 prevoted B in round 1
    assert rig.engine.locked_value == A  # no proposal for B seen in round 1: no line 36
    rig.now += 5 * S
    rig.send(TimeoutFired(1, 1, RoundStep.PREVOTE))
    out = rig.votes(others, PC, 1, b"")
    rig.now += 5 * S
    rig.send(TimeoutFired(1, 1, RoundStep.PRECOMMIT))
    assert rig.engine.state().round == 2
    out = rig.send(rig.proposal(2, B, pol_round=1))
    assert [(v.type, v.round, v.block_hash) for v in sent_votes(out)] == [(PV, 2, B.hash())]
    out = rig.votes(others, PV, 2, B.hash())  # line 36: relock on B
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, B.hash())]
    assert (rig.engine.locked_value, rig.engine.locked_round) == (B, 2)


def test_proposal_with_pol_round_waits_for_the_proof_of_lock() -> None:
    rig = non_proposer_rig(rounds=2)
    _lock_on_a_in_round_0(rig)
    assert sent_votes(rig.send(rig.proposal(1, B, pol_round=0))) == []  # no POL for B
    rig.now += 10 * S
    out = rig.send(TimeoutFired(1, 1, RoundStep.PROPOSE))
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, b"")]


def test_relock_in_round_via_line_36() -> None:
    rig = non_proposer_rig(rounds=2)
    _lock_on_a_in_round_0(rig)
    rig.send(rig.proposal(1, B))  # prevote nil (locked on A)
    out = rig.votes(rig.others(), PV, 1, B.hash())
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PC, B.hash())]
    assert (rig.engine.locked_round, rig.engine.valid_round) == (1, 1)


def test_invalid_block_gets_a_nil_prevote() -> None:
    rig = non_proposer_rig()
    rig.invalid.add(A.hash())
    rig.start()
    out = rig.send(rig.proposal(0, A))
    assert [(v.type, v.block_hash) for v in sent_votes(out)] == [(PV, b"")]


def test_round_skip_on_one_third_of_a_later_round() -> None:
    rig = non_proposer_rig()
    rig.start()
    others = rig.others()
    rig.votes(others[:1], PV, 5, b"")  # 10 of 40: not > 1/3
    assert rig.engine.state().round == 0
    out = rig.votes(others[1:2], PC, 5, b"")  # 20 of 40 in round 5, any type
    assert rig.engine.state().round == 5
    (t,) = timeouts(out)
    assert (t.round, t.step) == (5, RoundStep.PROPOSE)


def test_round_skip_beyond_the_window() -> None:
    rig = non_proposer_rig()
    rig.start()
    rig.votes(rig.others()[:2], PV, 1_000, b"")
    assert rig.engine.state().round == 1_000


def test_late_proposal_with_precommits_decides_even_from_an_older_round() -> None:
    rig = non_proposer_rig()
    rig.start()
    others = rig.others()
    out = rig.votes(others, PC, 0, A.hash())
    assert not _decides(out)  # no proposal yet
    rig.votes(others[:2], PV, 3, b"")  # skip ahead to round 3
    assert rig.engine.state().round == 3
    (d,) = _decides(rig.send(rig.proposal(0, A)))  # line 49 for round 0
    assert (d.round, d.block) == (0, A)
    verify_commit(CHAIN, rig.valset, d.commit, A.hash(), 1)


def test_timeouts_grow_per_round() -> None:
    rig = non_proposer_rig(rounds=3)
    out = rig.start()
    durations = []
    for r in range(3):
        (t,) = [t for t in timeouts(out) if t.step == RoundStep.PROPOSE]
        durations.append(t.at_ns - rig.now)
        rig.now = t.at_ns
        rig.send(TimeoutFired(1, r, RoundStep.PROPOSE))
        out = rig.votes(rig.others(), PC, r, b"")
        (tp,) = [t for t in timeouts(out) if t.step == RoundStep.PRECOMMIT]
        assert tp.at_ns - rig.now == rig.engine.config.precommit(r)
        rig.now = tp.at_ns
        out = rig.send(TimeoutFired(1, r, RoundStep.PRECOMMIT))
    assert durations == [3 * S, 3 * S + S // 2, 4 * S]


def test_stale_timeouts_are_ignored() -> None:
    rig = non_proposer_rig()
    rig.start()
    rig.votes(rig.others()[:2], PV, 2, b"")
    assert rig.send(TimeoutFired(1, 0, RoundStep.PROPOSE)) == []
    assert rig.send(TimeoutFired(7, 2, RoundStep.PROPOSE)) == []


def test_equivocation_produces_evidence_once() -> None:
    rig = non_proposer_rig()
    rig.start()
    i = rig.others()[0]
    rig.votes([i], PV, 0, A.hash())
    out = rig.votes([i], PV, 0, B.hash())
    (ev,) = [e.evidence for e in out if isinstance(e, ReportEvidence)]
    assert ev.validator == rig.signers[i].address
    verify_evidence(CHAIN, rig.valset, ev)
    assert codec.decode(DuplicateVoteEvidence, codec.encode(ev)) == ev
    assert codec.tag_of(DuplicateVoteEvidence) == 30
    assert rig.engine.votes.prevotes(0).power_for(B.hash()) == 0
    assert not [e for e in rig.votes([i], PV, 0, B.hash()) if isinstance(e, ReportEvidence)]


def test_bad_votes_are_ignored() -> None:
    rig = non_proposer_rig()
    rig.start()
    i = rig.others()[0]
    good = rig.vote(i, PV, 0, A.hash())
    bad_sig = replace(good, signature=bytes(64))
    wrong_index = replace(good, validator_index=(i + 1) % rig.n)
    out_of_range = replace(good, validator_index=99)
    other_chain = rig.signers[i].sign_vote_unguarded("other-chain", replace(good, signature=b""))
    outsider = Rig(n=5).signers[4]
    stranger = outsider.sign_vote_unguarded(
        CHAIN, Vote(PV, 1, 0, A.hash(), 0, outsider.address, i, b"")
    )
    old_height = rig.vote(i, PV, 0, A.hash(), height=0)
    for v in (bad_sig, wrong_index, out_of_range, other_chain, stranger, old_height):
        assert rig.send(VoteReceived(v)) == []
    assert rig.engine.votes.prevotes(0).power_seen == 0
    rig.send(VoteReceived(good))
    assert rig.engine.votes.prevotes(0).power_seen == 10


def test_forged_proposal_is_ignored() -> None:
    rig = non_proposer_rig()
    rig.start()
    msg = rig.proposal(0, A)
    wrong_signer = rig.signers[rig.me].sign_proposal_unguarded(CHAIN, msg.proposal)
    assert rig.send(replace(msg, proposal=wrong_signer)) == []
    assert rig.send(replace(msg, block=B)) == []  # block does not match the hash
    assert rig.engine.state().step == RoundStep.PROPOSE


def test_future_height_messages_are_buffered() -> None:
    rig = non_proposer_rig()
    rig.start()
    rig.send(rig.proposal(0, A))
    rig.votes(rig.others(), PV, 0, A.hash())
    A2 = make_block(2, b"a2")
    early = rig.votes(rig.others(), PC, 0, A2.hash(), height=2)
    assert early == []
    rig.votes(rig.others(), PC, 0, A.hash())
    assert rig.engine.state().step == RoundStep.COMMIT
    rig.now += 10 * S
    rig.send(StartHeight(2, rig.valset, rig.base(2)))
    (d,) = _decides(rig.send(rig.proposal(0, A2, height=2)))
    assert (d.height, d.block) == (2, A2)


def test_refusing_signer_keeps_the_engine_silent() -> None:
    rig = non_proposer_rig()
    me = rig.signers[rig.me]
    me.sign_vote(CHAIN, Vote(PV, 1, 0, B.hash(), 0, me.address, rig.me, b""))
    rig.start()
    out = rig.send(rig.proposal(0, A))
    assert sent_votes(out) == []  # the guard refused a different prevote at (1, 0)
    assert rig.engine.state().step == RoundStep.PREVOTE
    with pytest.raises(DoubleSignError):
        me.sign_vote(CHAIN, Vote(PV, 1, 0, A.hash(), 1, me.address, rig.me, b""))
