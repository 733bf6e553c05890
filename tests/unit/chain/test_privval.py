"""Tests for qos_chain.privval: the persisted double-sign guard and signatures."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from qos_chain.errors import ChainError
from qos_chain.privval import DoubleSignError, FilePrivValidator, Step, generate_key_file
from qos_chain.sign import DOMAIN_PROPOSAL, DOMAIN_VOTE, is_valid, sign_bytes, verify
from qos_chain.types import CanonicalProposal, Proposal, Vote, VoteType, canonical_vote
from qos_p2p.binding import statement

CHAIN = "qos-test"
BH = b"\x11" * 32
BH2 = b"\x22" * 32


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "priv_validator_key.json"
    generate_key_file(key)
    return key, tmp_path / "priv_validator_state.json"


@pytest.fixture
def pv(paths: tuple[Path, Path]) -> FilePrivValidator:
    return FilePrivValidator(*paths)


def vote(h: int, r: int, vt: VoteType = VoteType.PREVOTE, bh: bytes = BH, t: int = 5) -> Vote:
    return Vote(vt, h, r, bh, t, b"\x00" * 20, 0, b"")


def proposal(h: int, r: int, bh: bytes = BH, t: int = 5) -> Proposal:
    return Proposal(h, r, None, bh, t, b"")


# --------------------------------------------------------------------------- keys


def test_generate_key_file_is_private_and_loadable(paths: tuple[Path, Path]) -> None:
    key, state = paths
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pv = FilePrivValidator(key, state)
    assert pv.public_key == bytes.fromhex(json.loads(key.read_text())["public_key"])
    assert len(pv.address) == 20
    assert pv.last.height == 0
    assert not state.exists()


def test_missing_key_file_raises_chain_error(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="cannot load validator key"):
        FilePrivValidator(tmp_path / "nope.json", tmp_path / "state.json")


def test_corrupt_state_file_raises_chain_error(paths: tuple[Path, Path]) -> None:
    key, state = paths
    state.write_text("{not json")
    with pytest.raises(ChainError, match="corrupt signer state"):
        FilePrivValidator(key, state)


# --------------------------------------------------------------------------- signatures


def test_vote_signature_verifies_over_canonical_sign_bytes(pv: FilePrivValidator) -> None:
    signed = pv.sign_vote(CHAIN, vote(1, 0, VoteType.PRECOMMIT))
    assert len(signed.signature) == 64
    verify(
        pv.public_key,
        sign_bytes(DOMAIN_VOTE, CHAIN, canonical_vote(signed)),
        signed.signature,
    )
    # the signature is bound to the chain id
    assert not _valid(pv, sign_bytes(DOMAIN_VOTE, "other", canonical_vote(signed)), signed)


def test_proposal_signature_verifies(pv: FilePrivValidator) -> None:
    p = pv.sign_proposal(CHAIN, proposal(1, 0))
    canon = CanonicalProposal(p.height, p.round, p.pol_round, p.block_hash, p.time_ns)
    verify(pv.public_key, sign_bytes(DOMAIN_PROPOSAL, CHAIN, canon), p.signature)


def _valid(pv: FilePrivValidator, msg: bytes, v: Vote) -> bool:
    return is_valid(pv.public_key, msg, v.signature)


# --------------------------------------------------------------------------- the guard


def test_identical_payload_returns_the_same_signature(pv: FilePrivValidator) -> None:
    a = pv.sign_vote(CHAIN, vote(3, 1))
    b = pv.sign_vote(CHAIN, vote(3, 1))
    assert a.signature == b.signature


def test_different_payload_at_same_triple_is_refused(pv: FilePrivValidator) -> None:
    pv.sign_vote(CHAIN, vote(3, 1, bh=BH))
    with pytest.raises(DoubleSignError) as exc:
        pv.sign_vote(CHAIN, vote(3, 1, bh=BH2))
    assert exc.value.code == "double_sign_refused"
    # a different timestamp is a different payload, too
    with pytest.raises(DoubleSignError):
        pv.sign_vote(CHAIN, vote(3, 1, t=6))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # height regression
        (("vote", 5, 0, VoteType.PREVOTE), ("vote", 4, 9, VoteType.PRECOMMIT)),
        # round regression
        (("vote", 5, 2, VoteType.PREVOTE), ("vote", 5, 1, VoteType.PRECOMMIT)),
        # step regression: precommit then prevote
        (("vote", 5, 2, VoteType.PRECOMMIT), ("vote", 5, 2, VoteType.PREVOTE)),
        # step regression: prevote then proposal
        (("vote", 5, 2, VoteType.PREVOTE), ("proposal", 5, 2, None)),
    ],
)
def test_regression_of_height_round_step_is_refused(
    pv: FilePrivValidator,
    first: tuple[str, int, int, VoteType | None],
    second: tuple[str, int, int, VoteType | None],
) -> None:
    _sign(pv, first)
    before = pv.last
    with pytest.raises(DoubleSignError, match="refusing"):
        _sign(pv, second)
    assert pv.last == before


def _sign(pv: FilePrivValidator, spec: tuple[str, int, int, VoteType | None]) -> None:
    kind, h, r, vt = spec
    if kind == "vote":
        assert vt is not None
        pv.sign_vote(CHAIN, vote(h, r, vt))
    else:
        pv.sign_proposal(CHAIN, proposal(h, r))


def test_forward_progress_is_allowed(pv: FilePrivValidator) -> None:
    pv.sign_proposal(CHAIN, proposal(1, 0))
    pv.sign_vote(CHAIN, vote(1, 0, VoteType.PREVOTE))
    pv.sign_vote(CHAIN, vote(1, 0, VoteType.PRECOMMIT))
    pv.sign_proposal(CHAIN, proposal(1, 1, bh=BH2))  # next round, new value
    pv.sign_proposal(CHAIN, proposal(2, 0))
    assert (pv.last.height, pv.last.round, pv.last.step) == (2, 0, Step.PROPOSE)


# --------------------------------------------------------------------------- persistence


def test_state_file_is_written_before_the_signature_is_returned(
    pv: FilePrivValidator, paths: tuple[Path, Path]
) -> None:
    _, state = paths
    signed = pv.sign_vote(CHAIN, vote(9, 2, VoteType.PRECOMMIT))
    d = json.loads(state.read_text())
    assert (d["height"], d["round"], d["step"]) == (9, 2, int(Step.PRECOMMIT))
    assert bytes.fromhex(d["signature"]) == signed.signature
    assert bytes.fromhex(d["sign_bytes"]) == sign_bytes(DOMAIN_VOTE, CHAIN, canonical_vote(signed))
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_guard_survives_a_restart(pv: FilePrivValidator, paths: tuple[Path, Path]) -> None:
    first = pv.sign_vote(CHAIN, vote(4, 1, VoteType.PREVOTE))
    again = FilePrivValidator(*paths)
    assert again.last == pv.last
    with pytest.raises(DoubleSignError):
        again.sign_vote(CHAIN, vote(4, 1, VoteType.PREVOTE, bh=BH2))
    with pytest.raises(DoubleSignError):
        again.sign_vote(CHAIN, vote(3, 7, VoteType.PRECOMMIT))
    # the identical payload is still answered with the same signature
    assert again.sign_vote(CHAIN, vote(4, 1, VoteType.PREVOTE)).signature == first.signature


def test_refused_signature_does_not_touch_the_state_file(
    pv: FilePrivValidator, paths: tuple[Path, Path]
) -> None:
    _, state = paths
    pv.sign_vote(CHAIN, vote(4, 1))
    before = state.read_bytes()
    with pytest.raises(DoubleSignError):
        pv.sign_vote(CHAIN, vote(4, 0))
    assert state.read_bytes() == before


def test_peer_binding_signs_only_that_domain_and_leaves_the_guard_alone(
    pv: FilePrivValidator,
) -> None:
    stmt = statement("qos-test", b"\x00\x24" + bytes(36))
    before = pv.last
    signature = pv.sign_peer_binding(stmt)
    assert is_valid(pv.public_key, stmt, signature)
    assert pv.last == before  # no vote or proposal step was consumed
    vote = Vote(VoteType.PREVOTE, 1, 0, b"\x01" * 32, 1, pv.address, 0, b"")
    for other in (
        sign_bytes(DOMAIN_VOTE, "qos-test", canonical_vote(vote)),
        b"QOS\x00",
        b"",
        stmt[1:],
    ):
        with pytest.raises(ValueError, match="not a peer-binding statement"):
            pv.sign_peer_binding(other)
