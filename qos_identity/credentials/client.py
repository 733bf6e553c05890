"""Pure builders for issuers, holders and submitters (the node never sees a private key).

Seeds are 32-byte ed25519 seeds; ``signer`` is the DID URL of the signing method.
``wrap_in_tx(chain_id, sender_seed, nonce, ops)`` puts credential (and DID) operations in
a signed tx, ready for ``submit_tx``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qos_identity import client as identity_client
from qos_identity.credentials.di import AUTHENTICATION, add_proof
from qos_identity.credentials.jcs import canonicalize
from qos_identity.credentials.model import SCHEMA_TYPE, VC_TYPE, VC_V2, VP_TYPE
from qos_identity.credentials.model import validate_credential as validate_model
from qos_identity.credentials.ops import (
    CredentialOp,
    MsgAnchorCredential,
    MsgChangeStatus,
    MsgRegisterSchema,
    StatusAction,
    schema_hash_of,
    schema_id_of,
    sign_vc_op,
    to_typed,
)
from qos_identity.credentials.schema import check_schema
from qos_identity.credentials.status_list import status_entries
from qos_identity.credentials.verify import credential_digest
from qos_identity.method import OpProof

_NO_PROOF = OpProof("", b"")


def schema_document(schema: dict[str, Any]) -> bytes:
    """The registered bytes of a schema: checked, RFC 8785 canonical JSON."""
    check_schema(schema)
    return canonicalize(schema)


def register_schema_op(
    chain_id: str,
    author: str,
    name: str,
    version: int,
    schema: dict[str, Any],
    *,
    seed: bytes,
    signer: str,
    cid: str = "",
    store_document: bool = True,
) -> tuple[str, MsgRegisterSchema]:
    """(schema id, signed op). ``store_document=False`` registers only the hash + ``cid``."""
    doc = schema_document(schema)
    h = schema_hash_of(doc)
    op = MsgRegisterSchema(author, name, version, h, doc if store_document else b"", cid, _NO_PROOF)
    signed = sign_vc_op(op, chain_id, seed, signer)
    assert isinstance(signed, MsgRegisterSchema)
    return schema_id_of(h), signed


def build_credential(
    issuer: str,
    subject: str,
    claims: dict[str, Any],
    *,
    types: Sequence[str] = (),
    valid_from: str,
    valid_until: str | None = None,
    schema_id: str | None = None,
    status_index: int | None = None,
    status_base_url: str = "https://qos.invalid",
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned VC 2.0 credential (``credentialStatus`` when ``status_index`` is given:
    use ``CredentialReader.next_status_index(issuer)`` or leave it to the chain)."""
    cred: dict[str, Any] = {"@context": [VC_V2]}
    if credential_id is not None:
        cred["id"] = credential_id
    cred["type"] = [VC_TYPE, *types]
    cred["issuer"] = issuer
    cred["validFrom"] = valid_from
    if valid_until is not None:
        cred["validUntil"] = valid_until
    cred["credentialSubject"] = {"id": subject, **claims}
    if schema_id is not None:
        cred["credentialSchema"] = {"id": schema_id, "type": SCHEMA_TYPE}
    if status_index is not None:
        cred["credentialStatus"] = status_entries(status_base_url, issuer, status_index)
    return cred


def issue(credential: dict[str, Any], seed: bytes, signer: str, created: str) -> dict[str, Any]:
    """Secure ``credential`` with an ``eddsa-jcs-2022`` proof by ``signer``."""
    validate_model(credential)
    return add_proof(credential, seed, verification_method=signer, created=created)


def anchor_op(
    chain_id: str,
    credential: dict[str, Any],
    seed: bytes,
    signer: str,
    *,
    delivery: str = "",
) -> MsgAnchorCredential:
    """The anchor of a secured credential (status index taken from its credentialStatus,
    else assigned by the chain)."""
    info = validate_model(credential)
    for t in (info.valid_from, info.valid_until):
        if t is not None and t < 0:
            raise ValueError("validity dates before 1970 cannot be anchored")
    op = MsgAnchorCredential(
        credential_digest(credential), info.issuer, info.subject,
        info.schemas[0] if info.schemas else "", info.types, info.valid_from, info.valid_until,
        info.status_index, delivery, _NO_PROOF,
    )  # fmt: skip
    signed = sign_vc_op(op, chain_id, seed, signer)
    assert isinstance(signed, MsgAnchorCredential)
    return signed


def change_status_op(
    chain_id: str,
    issuer: str,
    sequence: int,
    action: StatusAction,
    indexes: Sequence[int],
    *,
    seed: bytes,
    signer: str,
) -> MsgChangeStatus:
    op = MsgChangeStatus(issuer, sequence, action, tuple(indexes), _NO_PROOF)
    signed = sign_vc_op(op, chain_id, seed, signer)
    assert isinstance(signed, MsgChangeStatus)
    return signed


def present(
    holder: str,
    credentials: Sequence[dict[str, Any]],
    seed: bytes,
    signer: str,
    *,
    challenge: str,
    domain: str,
    created: str,
) -> dict[str, Any]:
    """A verifiable presentation signed by the holder's ``authentication`` key."""
    vp = {
        "@context": [VC_V2],
        "type": [VP_TYPE],
        "holder": holder,
        "verifiableCredential": list(credentials),
    }
    return add_proof(
        vp, seed, verification_method=signer, created=created, proof_purpose=AUTHENTICATION,
        challenge=challenge, domain=domain,
    )  # fmt: skip


def wrap_in_tx(
    chain_id: str,
    sender_seed: bytes,
    nonce: int,
    ops: Sequence[CredentialOp],
    *,
    fee: int = 0,
    fee_payer_seed: bytes | None = None,
) -> bytes:
    return identity_client.wrap_in_tx(
        chain_id, sender_seed, nonce, [to_typed(op) for op in ops], fee=fee,
        fee_payer_seed=fee_payer_seed,
    )  # fmt: skip
