"""Pure helpers that BUILD and SIGN identity operations from private seeds.

Used by the CLI, tests and benchmarks; the node never sees a private key. Seeds are
32-byte ed25519 seeds (``qos_wallet`` derives them). Every builder returns a signed
operation; ``wrap_in_tx`` puts operations (or a ``MsgDidBatch``) into a signed tx.
"""

from __future__ import annotations

from collections.abc import Sequence

from qos_app.tx import Fee, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.address import address_from_public_key
from qos_chain.sign import public_key_of
from qos_identity.document import MULTIKEY, DidDocument, Relationship, Service, VerificationMethod
from qos_identity.method import (
    MSG_BATCH,
    RECOVERY_SIGNER,
    DidOperation,
    MsgCreateDid,
    MsgDeactivateDid,
    MsgDidBatch,
    MsgLinkIdentifiers,
    MsgRecoverDid,
    MsgRotateKey,
    MsgUpdateDid,
    OpProof,
    PatchAction,
    PatchKind,
    derive_did,
    recovery_commitment_of,
    sign_op,
    to_typed,
)
from qos_identity.multikey import KeyType, encode_multikey

ServiceSpec = tuple[str, str, "str | Sequence[str]"]  # (fragment, type, endpoint or list)
DEFAULT_KEY = "key-1"
_NO_PROOF = OpProof("", b"")


def key_method(
    did: str, fragment: str, public_key: bytes, key_type: KeyType = KeyType.ED25519
) -> VerificationMethod:
    return VerificationMethod(
        f"{did}#{fragment}", MULTIKEY, did, encode_multikey(key_type, public_key)
    )


def service(did: str, fragment: str, type_: str, endpoint: str | Sequence[str]) -> Service:
    if isinstance(endpoint, str):
        return Service(f"{did}#{fragment}", type_, (endpoint,), False)
    return Service(f"{did}#{fragment}", type_, tuple(endpoint), True)


def initial_document(
    did: str,
    update_key: bytes,
    *,
    services: Sequence[ServiceSpec] = (),
    controllers: Sequence[str] = (),
    also_known_as: Sequence[str] = (),
    key_agreement: bytes | None = None,
) -> DidDocument:
    """``key-1`` (the update key) in authentication, assertionMethod and both capability
    relationships; an optional x25519 ``key-agreement-1``; the given services."""
    vm = key_method(did, DEFAULT_KEY, update_key)
    methods = [vm]
    ka: tuple[str, ...] = ()
    if key_agreement is not None:
        xm = key_method(did, "key-agreement-1", key_agreement, KeyType.X25519)
        methods.append(xm)
        ka = (xm.id,)
    return DidDocument(
        id=did,
        controller=tuple(controllers),
        also_known_as=tuple(also_known_as),
        verification_method=tuple(methods),
        authentication=(vm.id,),
        assertion_method=(vm.id,),
        key_agreement=ka,
        capability_invocation=(vm.id,),
        capability_delegation=(vm.id,),
        service=tuple(service(did, f, t, e) for f, t, e in services),
    )


def create_did(
    chain_id: str,
    update_seed: bytes,
    recovery_seed: bytes,
    *,
    services: Sequence[ServiceSpec] = (),
    controllers: Sequence[str] = (),
    also_known_as: Sequence[str] = (),
    key_agreement: bytes | None = None,
    document: DidDocument | None = None,
) -> tuple[str, MsgCreateDid]:
    """A signed create; ``document`` (whose ``#key-1`` must be the update key) overrides
    the default document built by ``initial_document``."""
    update_key = public_key_of(update_seed)
    commitment = recovery_commitment_of(public_key_of(recovery_seed))
    did = derive_did(update_key, commitment)
    doc = document or initial_document(
        did,
        update_key,
        services=services,
        controllers=controllers,
        also_known_as=also_known_as,
        key_agreement=key_agreement,
    )
    op = MsgCreateDid(did, "", update_key, commitment, doc, _NO_PROOF)
    signed = sign_op(op, chain_id, update_seed, f"{did}#{DEFAULT_KEY}")
    assert isinstance(signed, MsgCreateDid)
    return did, signed


def _signer(did: str, signer_id: str | None) -> str:
    return signer_id if signer_id is not None else f"{did}#{DEFAULT_KEY}"


def update_op(
    chain_id: str,
    did: str,
    prev_version: str,
    actions: Sequence[PatchAction],
    signer_seed: bytes,
    *,
    signer_id: str | None = None,
) -> MsgUpdateDid:
    """``signer_id`` defaults to ``<did>#key-1``; a controller signs with its own method id."""
    op = MsgUpdateDid(did, prev_version, tuple(actions), _NO_PROOF)
    return sign_op(op, chain_id, signer_seed, _signer(did, signer_id))


def rotate_op(
    chain_id: str,
    did: str,
    prev_version: str,
    new_public_key: bytes,
    signer_seed: bytes,
    *,
    method_id: str | None = None,
    signer_id: str | None = None,
    key_type: KeyType = KeyType.ED25519,
) -> MsgRotateKey:
    """Replace the key of ``method_id`` (default ``#key-1``), signed by default by that
    method's current key."""
    mid = method_id or f"{did}#{DEFAULT_KEY}"
    op = MsgRotateKey(did, prev_version, mid, encode_multikey(key_type, new_public_key), _NO_PROOF)
    return sign_op(op, chain_id, signer_seed, signer_id or mid)


def recover_op(
    chain_id: str,
    did: str,
    prev_version: str,
    recovery_seed: bytes,
    *,
    new_update_seed: bytes,
    next_recovery_seed: bytes,
    document: DidDocument | None = None,
) -> MsgRecoverDid:
    """Reveal the recovery key, install ``document`` (default: ``initial_document`` with
    the new update key) and commit to ``next_recovery_seed``'s public key."""
    doc = document or initial_document(did, public_key_of(new_update_seed))
    op = MsgRecoverDid(
        did,
        prev_version,
        public_key_of(recovery_seed),
        recovery_commitment_of(public_key_of(next_recovery_seed)),
        doc,
        _NO_PROOF,
    )
    return sign_op(op, chain_id, recovery_seed, RECOVERY_SIGNER)


def deactivate_op(
    chain_id: str,
    did: str,
    prev_version: str,
    signer_seed: bytes,
    *,
    signer_id: str | None = None,
    recovery: bool = False,
) -> MsgDeactivateDid:
    """Signed by a capabilityInvocation key, or with ``recovery=True`` by the recovery key
    (``signer_seed`` is then the recovery seed)."""
    if recovery:
        op = MsgDeactivateDid(did, prev_version, public_key_of(signer_seed), _NO_PROOF)
        signed = sign_op(op, chain_id, signer_seed, RECOVERY_SIGNER)
    else:
        op = MsgDeactivateDid(did, prev_version, b"", _NO_PROOF)
        signed = sign_op(op, chain_id, signer_seed, _signer(did, signer_id))
    return signed


def link_op(
    chain_id: str,
    did: str,
    prev_version: str,
    signer_seed: bytes,
    *,
    add: Sequence[bytes] = (),
    remove: Sequence[bytes] = (),
    signer_id: str | None = None,
) -> MsgLinkIdentifiers:
    """Link/unlink commitments made with ``method.identifier_commitment``."""
    op = MsgLinkIdentifiers(did, prev_version, tuple(add), tuple(remove), _NO_PROOF)
    return sign_op(op, chain_id, signer_seed, _signer(did, signer_id))


# --------------------------------------------------------------------------- patch actions


def add_method(method: VerificationMethod, *rels: Relationship) -> PatchAction:
    return PatchAction(PatchKind.ADD_METHOD, method=method, relationships=rels)


def remove_method(method_id: str) -> PatchAction:
    return PatchAction(PatchKind.REMOVE_METHOD, target=method_id)


def add_relationships(method_id: str, *rels: Relationship) -> PatchAction:
    return PatchAction(PatchKind.ADD_RELATIONSHIPS, target=method_id, relationships=rels)


def remove_relationships(method_id: str, *rels: Relationship) -> PatchAction:
    return PatchAction(PatchKind.REMOVE_RELATIONSHIPS, target=method_id, relationships=rels)


def add_service(svc: Service) -> PatchAction:
    return PatchAction(PatchKind.ADD_SERVICE, service=svc)


def remove_service(service_id: str) -> PatchAction:
    return PatchAction(PatchKind.REMOVE_SERVICE, target=service_id)


def set_controllers(*dids: str) -> PatchAction:
    return PatchAction(PatchKind.SET_CONTROLLERS, values=dids)


def set_also_known_as(*uris: str) -> PatchAction:
    return PatchAction(PatchKind.SET_ALSO_KNOWN_AS, values=uris)


# --------------------------------------------------------------------------- transactions


def batch(ops: Sequence[DidOperation]) -> MsgDidBatch:
    return MsgDidBatch(tuple(to_typed(op) for op in ops))


def _typed(msg: DidOperation | MsgDidBatch | TypedMsg) -> TypedMsg:
    if isinstance(msg, TypedMsg):
        return msg
    if isinstance(msg, MsgDidBatch):
        return TypedMsg(MSG_BATCH, codec.encode(msg))
    return to_typed(msg)


def wrap_in_tx(
    chain_id: str,
    sender_seed: bytes,
    nonce: int,
    msgs: Sequence[DidOperation | MsgDidBatch | TypedMsg],
    *,
    fee: int = 0,
    fee_payer_seed: bytes | None = None,
    memo: str = "",
) -> bytes:
    """A signed, encoded tx (``qos_app.tx``) carrying ``msgs``; ready for ``submit_tx``."""
    pk = public_key_of(sender_seed)
    payer = None
    signers = [(pk, sender_seed)]
    if fee_payer_seed is not None:
        payer_pk = public_key_of(fee_payer_seed)
        payer = address_from_public_key(payer_pk)
        signers.append((payer_pk, fee_payer_seed))
    body = TxBody(
        chain_id=chain_id,
        sender=address_from_public_key(pk),
        nonce=nonce,
        msgs=tuple(_typed(m) for m in msgs),
        fee=Fee(fee, payer),
        memo=memo,
        timeout_height=None,
    )
    return codec.encode(sign_tx(body, *signers))
