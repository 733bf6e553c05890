"""The validator signer with a persisted double-sign guard (CometBFT's FilePV).

The key lives in ``priv_validator_key.json`` (0600; a hot key, as in CometBFT); the last
signed (height, round, step) and its sign bytes live in ``priv_validator_state.json``,
written atomically with fsync *before* a signature is returned. The signer refuses any
regression of (height, round, step) and any different payload at the same triple, across
restarts, so a validator can never sign two different values for one step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path

from nacl.signing import SigningKey

from qos_chain.address import Address, address_from_public_key
from qos_chain.errors import ChainError
from qos_chain.fileutil import atomic_write
from qos_chain.sign import (
    DOMAIN_PEER_ID,
    DOMAIN_PROPOSAL,
    DOMAIN_VOTE,
    domain_prefix,
    sign_bytes,
)
from qos_chain.types import (
    Proposal,
    Vote,
    VoteType,
    canonical_proposal,
    canonical_vote,
)


class Step(IntEnum):
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


class DoubleSignError(ChainError):
    code = "double_sign_refused"


@dataclass(frozen=True, slots=True)
class LastSigned:
    height: int = 0
    round: int = 0
    step: int = 0
    sign_bytes: bytes = b""
    signature: bytes = b""


def generate_key_file(path: Path) -> bytes:
    """Create a new validator key file; returns the public key."""
    key = SigningKey.generate()
    data = {
        "public_key": bytes(key.verify_key).hex(),
        "private_key": bytes(key).hex(),
    }
    atomic_write(path, json.dumps(data, indent=2).encode(), mode=0o600)
    return bytes(key.verify_key)


class GuardedSigner:
    """ed25519 signing of votes and proposals behind the double-sign guard.

    Subclasses decide where the guard state lives: ``_persist`` runs before a new
    signature is returned (the file signer fsyncs it; the in-memory test signer keeps it).
    """

    def __init__(self, key: SigningKey, last: LastSigned) -> None:
        self._key = key
        self.public_key = bytes(key.verify_key)
        self.address: Address = address_from_public_key(self.public_key)
        self.last = last

    def _persist(self, last: LastSigned) -> None:
        """Record ``last`` durably before its signature may leave the process."""

    def sign_peer_binding(self, statement: bytes) -> bytes:
        """Sign a peer-binding statement (``qos_p2p.binding``: domain ``qos/peer-id/v1``).
        Outside the double-sign guard, which has nothing to guard here: the domain tag
        makes these bytes impossible as a vote, a proposal or a tx, and anything not
        framed with that domain is refused."""
        if not statement.startswith(domain_prefix(DOMAIN_PEER_ID)):
            raise ValueError("not a peer-binding statement: refusing to sign it")
        return bytes(self._key.sign(statement).signature)

    def _sign(self, height: int, round_: int, step: Step, payload: bytes) -> bytes:
        hrs = (height, round_, int(step))
        last = (self.last.height, self.last.round, self.last.step)
        if hrs < last:
            raise DoubleSignError(f"refusing to sign {hrs}: already signed {last}")
        if hrs == last:
            if payload == self.last.sign_bytes:
                return self.last.signature
            raise DoubleSignError(f"refusing to sign a different value at {hrs}")
        signature = self._key.sign(payload).signature
        new = LastSigned(height, round_, int(step), payload, signature)
        self._persist(new)  # persist before the signature can leave the process
        self.last = new
        return signature

    def sign_vote(self, chain_id: str, vote: Vote) -> Vote:
        step = Step.PREVOTE if vote.type == VoteType.PREVOTE else Step.PRECOMMIT
        payload = sign_bytes(DOMAIN_VOTE, chain_id, canonical_vote(vote))
        return replace(vote, signature=self._sign(vote.height, vote.round, step, payload))

    def sign_proposal(self, chain_id: str, proposal: Proposal) -> Proposal:
        payload = sign_bytes(DOMAIN_PROPOSAL, chain_id, canonical_proposal(proposal))
        sig = self._sign(proposal.height, proposal.round, Step.PROPOSE, payload)
        return replace(proposal, signature=sig)


class FilePrivValidator(GuardedSigner):
    def __init__(self, key_path: Path, state_path: Path) -> None:
        try:
            data = json.loads(key_path.read_text())
            key = SigningKey(bytes.fromhex(data["private_key"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ChainError(f"cannot load validator key {key_path}: {exc}") from exc
        self._state_path = state_path
        super().__init__(key, self._load_state())

    def _load_state(self) -> LastSigned:
        if not self._state_path.exists():
            return LastSigned()
        try:
            d = json.loads(self._state_path.read_text())
            return LastSigned(
                d["height"],
                d["round"],
                d["step"],
                bytes.fromhex(d["sign_bytes"]),
                bytes.fromhex(d["signature"]),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ChainError(f"corrupt signer state {self._state_path}: {exc}") from exc

    def _persist(self, last: LastSigned) -> None:
        d = {
            "height": last.height,
            "round": last.round,
            "step": last.step,
            "sign_bytes": last.sign_bytes.hex(),
            "signature": last.signature.hex(),
        }
        atomic_write(self._state_path, json.dumps(d).encode(), mode=0o600)


__all__ = [
    "DoubleSignError",
    "FilePrivValidator",
    "GuardedSigner",
    "LastSigned",
    "Step",
    "generate_key_file",
]
