"""An in-memory validator signer with the same double-sign guard as ``FilePrivValidator``.

For tests and the consensus simulator: the guard state lives in the object (surviving a
simulated crash when the object is reused), and ``sign_*_unguarded`` lets a test play a
byzantine validator that signs conflicting votes.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from nacl.signing import SigningKey

from qos_chain.privval import GuardedSigner, LastSigned
from qos_chain.sign import DOMAIN_PROPOSAL, DOMAIN_VOTE, sign_bytes
from qos_chain.types import Proposal, Validator, Vote, canonical_proposal, canonical_vote


def seed_for(label: str, index: int) -> bytes:
    """A deterministic 32-byte ed25519 seed (test keys only)."""
    return hashlib.sha256(f"{label}/{index}".encode()).digest()


class MemorySigner(GuardedSigner):
    def __init__(self, seed: bytes) -> None:
        super().__init__(SigningKey(seed), LastSigned())

    def validator(self, power: int = 10) -> Validator:
        return Validator(self.public_key, power)

    def sign_vote_unguarded(self, chain_id: str, vote: Vote) -> Vote:
        """Sign without the guard: a byzantine validator's second vote."""
        payload = sign_bytes(DOMAIN_VOTE, chain_id, canonical_vote(vote))
        return replace(vote, signature=self._key.sign(payload).signature)

    def sign_proposal_unguarded(self, chain_id: str, proposal: Proposal) -> Proposal:
        payload = sign_bytes(DOMAIN_PROPOSAL, chain_id, canonical_proposal(proposal))
        return replace(proposal, signature=self._key.sign(payload).signature)


__all__ = ["MemorySigner", "seed_for"]
