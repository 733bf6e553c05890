"""The validator peer-binding statement and its check (qos_p2p.binding), and the status
field that carries the proof (qos_p2p.sync)."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from qos_chain.sign import DOMAIN_VOTE, sign_bytes
from qos_chain.types import Vote, VoteType, canonical_vote
from qos_p2p import binding
from qos_p2p.binding import ClaimCheck
from qos_p2p.host import _peer_bytes
from qos_p2p.keys import node_key_from_seed
from qos_p2p.port import PeerId, Status, ValidatorProof
from qos_p2p.sync import BadStatus, decode_status, encode_status

CHAIN = "qos-test"
VAL = SigningKey(b"\x01" * 32)
OTHER = SigningKey(b"\x02" * 32)
PEER = _peer_bytes(node_key_from_seed(b"\x03" * 32).peer_id)
PEER_2 = _peer_bytes(node_key_from_seed(b"\x04" * 32).peer_id)


def in_set(public_key: bytes) -> bool:
    return public_key == bytes(VAL.verify_key)


def proof(key: SigningKey, chain_id: str, peer: bytes) -> str:
    sig = key.sign(binding.statement(chain_id, peer)).signature
    return binding.encode_proof(ValidatorProof(bytes(key.verify_key), sig))


def check(claimed: bool, text: str, peer: bytes = PEER, chain_id: str = CHAIN) -> ClaimCheck:
    return binding.check_claim(chain_id, peer, claimed, text, in_set)


def test_statement_bytes_are_exact() -> None:
    # b"QOS\0" | uvarint(14) "qos/peer-id/v1" | uvarint(8) "qos-test" | uvarint(3) peer
    assert binding.statement("qos-test", b"\xaa\xbb\xcc") == (
        b"QOS\x00\x0eqos/peer-id/v1\x08qos-test\x03\xaa\xbb\xcc"
    )
    assert len(PEER) == 38  # a libp2p ed25519 peer id: identity multihash of the key
    assert binding.statement(CHAIN, PEER).endswith(b"\x26" + PEER)


def test_statement_is_domain_separated_from_votes() -> None:
    vote = Vote(VoteType.PREVOTE, 1, 0, b"\x01" * 32, 1, b"\x00" * 20, 0, b"")
    vote_bytes = sign_bytes(DOMAIN_VOTE, CHAIN, canonical_vote(vote))
    stmt = binding.statement(CHAIN, PEER)
    assert vote_bytes[:4] == stmt[:4] == b"QOS\x00"  # one framing for every consensus key use
    assert vote_bytes[4:16] == b"\x0bqos/vote/v1"  # ...under length-prefixed domains
    assert stmt[4:19] == b"\x0eqos/peer-id/v1"
    assert binding.is_statement(stmt)
    assert not binding.is_statement(vote_bytes)


def test_a_genuine_proof_verifies() -> None:
    assert check(True, proof(VAL, CHAIN, PEER)) is ClaimCheck.VALIDATOR


def test_wrong_chain_is_forged() -> None:
    assert check(True, proof(VAL, "other-chain", PEER)) is ClaimCheck.FORGED


def test_another_peers_proof_is_forged() -> None:
    # a validator's proof for its own peer id, presented by another peer
    assert check(True, proof(VAL, CHAIN, PEER_2)) is ClaimCheck.FORGED


def test_signature_by_another_key_than_the_one_named_is_forged() -> None:
    sig = OTHER.sign(binding.statement(CHAIN, PEER)).signature
    text = binding.encode_proof(ValidatorProof(bytes(VAL.verify_key), sig))
    assert check(True, text) is ClaimCheck.FORGED


def test_a_key_outside_the_set_is_not_a_validator_but_not_forged() -> None:
    assert check(True, proof(OTHER, CHAIN, PEER)) is ClaimCheck.NOT_IN_SET


@pytest.mark.parametrize(
    "text",
    ["zz" * 96, "00" * 95, "00" * 97, "0", proof(VAL, CHAIN, PEER) + "00"],
)
def test_malformed_proofs(text: str) -> None:
    assert check(True, text) is ClaimCheck.MALFORMED


def test_a_zero_key_and_signature_are_forged() -> None:
    assert check(True, "00" * 96) is ClaimCheck.FORGED


def test_no_claim_and_unproven_claim() -> None:
    assert check(False, "") is ClaimCheck.NOT_CLAIMED
    assert check(False, proof(VAL, CHAIN, PEER)) is ClaimCheck.NOT_CLAIMED
    assert check(True, "") is ClaimCheck.UNPROVEN
    assert {ClaimCheck.MALFORMED, ClaimCheck.FORGED} == binding.PENALISED


def test_status_carries_the_proof() -> None:
    text = proof(VAL, CHAIN, PEER)
    status = Status(CHAIN, 7, PeerId("12D3KooWx"), True, text)
    assert decode_status(encode_status(status)) == status
    bare = Status(CHAIN, 7, PeerId("12D3KooWx"), False)
    assert b"validator_proof" not in encode_status(bare)  # older peers parse it unchanged
    assert decode_status(encode_status(bare)) == bare


@pytest.mark.parametrize(
    "raw",
    [
        b'{"chain_id":"c","height":1,"node_id":"n","is_validator":true,"validator_proof":5}',
        b"[1, 2]",
    ],
)
def test_status_with_a_proof_of_the_wrong_type_is_bad(raw: bytes) -> None:
    with pytest.raises(BadStatus):
        decode_status(raw)
