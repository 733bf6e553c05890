"""Validator peer binding: a validator proves that a peer id speaks for its consensus key.

A peer's status (qos_p2p.sync) claims ``is_validator``; the claim counts only with
``validator_proof``: hex of ``public_key (32) || signature (64)``, an ed25519 signature
by the validator's consensus key over

    statement = b"QOS\\x00" || uvarint(len(DOMAIN)) || DOMAIN
                || uvarint(len(chain_id)) || chain_id || uvarint(len(peer)) || peer

with ``DOMAIN = "qos/peer-id/v1"``, ``chain_id`` UTF-8 and ``peer`` the binary peer id
(libp2p: the multihash bytes of ``ID``; in memory: the UTF-8 name). It is the framing of
``qos_chain.sign.sign_bytes`` with a domain of its own, so the statement can never be a
vote, proposal or tx sign bytes (every consensus-key signature is domain-tagged the same
way), nor valid on another chain or for another peer id. It carries no time: a proof is
as long-lived as the node key and the validator key (rotate either to revoke it).

``check_claim`` judges a status: the signature is checked first (a proof copied from
another peer, or from another chain, is FORGED), then the node's ``is_validator_key``
(a well-signed proof by a key outside the current validator set is NOT_IN_SET).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from qos_chain.codec import write_uvarint
from qos_chain.sign import DOMAIN_PEER_ID, MAGIC, domain_prefix, is_valid
from qos_p2p.port import ValidatorProof

DOMAIN = DOMAIN_PEER_ID  # "qos/peer-id/v1"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
PROOF_BYTES = PUBLIC_KEY_BYTES + SIGNATURE_BYTES


class ClaimCheck(enum.Enum):
    """How a peer's validator claim was judged."""

    NOT_CLAIMED = "not_claimed"  # a full node (any proof it carries is not looked at)
    UNPROVEN = "unproven"  # claims validator without a proof: treated as a full node
    NOT_IN_SET = "not_in_set"  # signed by a key outside the current set: a full node
    MALFORMED = "malformed"  # not hex, wrong length: penalised, a full node
    FORGED = "forged"  # the signature does not verify for this chain and peer id: penalised
    VALIDATOR = "validator"  # verified, and the key is in the current set


PENALISED = frozenset({ClaimCheck.MALFORMED, ClaimCheck.FORGED})


class MalformedProof(ValueError):
    """A validator proof that is not hex of 96 bytes."""


def statement(chain_id: str, peer: bytes) -> bytes:
    """The bytes a validator signs to bind ``peer`` to its key on ``chain_id``."""
    out = bytearray(MAGIC)
    domain = DOMAIN.encode()
    chain = chain_id.encode()
    write_uvarint(out, len(domain))
    out += domain
    write_uvarint(out, len(chain))
    out += chain
    write_uvarint(out, len(peer))
    out += peer
    return bytes(out)


def is_statement(raw: bytes) -> bool:
    """``raw`` is framed as a peer-binding statement (a prover signs nothing else)."""
    return raw.startswith(domain_prefix(DOMAIN))


def encode_proof(proof: ValidatorProof) -> str:
    return (proof.public_key + proof.signature).hex()


def decode_proof(text: str) -> ValidatorProof:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise MalformedProof("validator proof is not hex") from exc
    if len(raw) != PROOF_BYTES:
        raise MalformedProof(f"validator proof of {len(raw)} bytes, not {PROOF_BYTES}")
    return ValidatorProof(raw[:PUBLIC_KEY_BYTES], raw[PUBLIC_KEY_BYTES:])


def check_claim(
    chain_id: str,
    peer: bytes,
    claimed: bool,
    proof_text: str,
    is_validator_key: Callable[[bytes], bool],
) -> ClaimCheck:
    """Judge a status's validator claim for the authenticated peer id ``peer`` (bytes)."""
    if not claimed:
        return ClaimCheck.NOT_CLAIMED
    if not proof_text:
        return ClaimCheck.UNPROVEN
    try:
        proof = decode_proof(proof_text)
    except MalformedProof:
        return ClaimCheck.MALFORMED
    if not is_valid(proof.public_key, statement(chain_id, peer), proof.signature):
        return ClaimCheck.FORGED
    if not is_validator_key(proof.public_key):
        return ClaimCheck.NOT_IN_SET
    return ClaimCheck.VALIDATOR
