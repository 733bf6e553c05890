"""Credential messages (type urls ``qos.credentials.v1.*``, codec tags 250-252).

Every message carries an ``OpProof`` (``qos_identity.method.OpProof``: the DID URL of the
signing method and an ed25519 signature) over

    sign_bytes("qos/vc-op/v1", chain_id, msg with proof.signature = b"")

the same scheme as DID operations (``qos/did-op/v1``) under its own domain, so a DID
operation signature can never be replayed as a credential operation or the reverse.
Signatures are self-contained: any account may submit and pay.

* :class:`MsgRegisterSchema` — an author DID registers an immutable JSON Schema,
  content-addressed: ``schema_id = "urn:qos:schema:" + hex(sha256(document))`` where
  ``document`` is the schema's RFC 8785 canonical JSON (or empty, with a ``cid`` of the
  document in IPFS / the content store). ``(author, name, version)`` versions a schema
  family: version 1 first, then each new registration is the next version. Signed by a
  ``capabilityInvocation`` or ``assertionMethod`` key of the author.
* :class:`MsgAnchorCredential` — no personal data: the credential digest
  (``sha256(JCS(secured credential))``), issuer and subject DIDs, schema id, types,
  validity window (Unix seconds), the status list index (``None``: the chain assigns the
  issuer's next index) and an optional reference to the encrypted delivery. Signed by an
  ``assertionMethod`` key of the issuer, at the height it is included.
* :class:`MsgChangeStatus` — revoke, suspend or unsuspend a list of indexes of the
  issuer's status lists. ``sequence`` must equal the issuer's status sequence (replay
  protection: a signed change applies once). Signed by an ``assertionMethod`` or
  ``capabilityInvocation`` key of the issuer.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, replace
from typing import TypeAlias

from qos_app.tx import TypedMsg
from qos_chain import codec
from qos_chain.sign import sign, sign_bytes
from qos_identity.method import OpProof

DOMAIN_VC_OP = "qos/vc-op/v1"
MSG_REGISTER_SCHEMA = "qos.credentials.v1.MsgRegisterSchema"
MSG_ANCHOR = "qos.credentials.v1.MsgAnchorCredential"
MSG_CHANGE_STATUS = "qos.credentials.v1.MsgChangeStatus"
SCHEMA_ID_PREFIX = "urn:qos:schema:"
MAX_SCHEMA_BYTES = 16 * 1024
MAX_STATUS_CHANGES = 16_384


class StatusAction(enum.IntEnum):
    REVOKE = 1
    SUSPEND = 2
    UNSUSPEND = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@codec.register(250)
@dataclass(frozen=True, slots=True)
class MsgRegisterSchema:
    author: str
    name: str
    version: int
    schema_hash: bytes
    document: bytes
    cid: str
    proof: OpProof


@codec.register(251)
@dataclass(frozen=True, slots=True)
class MsgAnchorCredential:
    digest: bytes
    issuer: str
    subject: str
    schema_id: str
    types: tuple[str, ...]
    valid_from: int | None
    valid_until: int | None
    status_index: int | None
    delivery: str
    proof: OpProof


@codec.register(252)
@dataclass(frozen=True, slots=True)
class MsgChangeStatus:
    issuer: str
    sequence: int
    action: StatusAction
    indexes: tuple[int, ...]
    proof: OpProof


CredentialOp: TypeAlias = MsgRegisterSchema | MsgAnchorCredential | MsgChangeStatus

MSG_TYPES: dict[str, type] = {
    MSG_REGISTER_SCHEMA: MsgRegisterSchema,
    MSG_ANCHOR: MsgAnchorCredential,
    MSG_CHANGE_STATUS: MsgChangeStatus,
}
TYPE_URL: dict[type, str] = {v: k for k, v in MSG_TYPES.items()}


def schema_id_of(schema_hash: bytes) -> str:
    return SCHEMA_ID_PREFIX + schema_hash.hex()


def schema_hash_of(document: bytes) -> bytes:
    return hashlib.sha256(document).digest()


def op_signer_did(op: CredentialOp) -> str:
    return op.proof.signer.partition("#")[0]


def vc_sign_bytes(chain_id: str, op: CredentialOp) -> bytes:
    unsigned = replace(op, proof=OpProof(op.proof.signer, b""))
    return sign_bytes(DOMAIN_VC_OP, chain_id, unsigned)


def sign_vc_op(op: CredentialOp, chain_id: str, seed: bytes, signer: str) -> CredentialOp:
    op = replace(op, proof=OpProof(signer, b""))
    return replace(op, proof=OpProof(signer, sign(seed, vc_sign_bytes(chain_id, op))))


def to_typed(op: CredentialOp) -> TypedMsg:
    return TypedMsg(TYPE_URL[type(op)], codec.encode(op))
