"""The ``did:qos`` method: identifiers, operations, their signatures and patches.

Spec: ``docs/did-qos.md``. In short:

* ``did:qos:<base58btc(sha256(encode(Inception(update_key, recovery_commitment)))[:16])>``:
  the identifier is self-certifying, derived from the inception key material, so nobody
  can register an identifier whose update key they do not hold.
* ``recovery_commitment = sha256(recovery public key)`` (Sidetree's commit/reveal): the
  recovery key stays offline and unknown until it is used; ``MsgRecoverDid`` reveals it,
  is signed by it, replaces the document and commits to the NEXT recovery key.
* Every operation names ``did`` and ``prev_version`` (the ``versionId`` it applies to;
  ``""`` for create) and carries an :class:`OpProof` over
  ``sign_bytes("qos/did-op/v1", chain_id, op with proof.signature = b"")``. Self-contained
  signatures let anyone (a service provider paying the fee) submit them, alone or many at
  once in :class:`MsgDidBatch`; ``prev_version`` makes every signed op apply at most once.
* ``proof.signer`` is the DID URL of the signing method: a ``capabilityInvocation`` method
  of the DID itself or of one of its controller DIDs (``did:qos`` or ``did:key``), or
  ``""`` for an operation signed by the revealed recovery key.

Codec tags 203-216 (documents use 200-202, state 230-231). Type urls ``qos.identity.v1.*``.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, replace
from typing import TypeAlias, TypeVar

from qos_app.tx import TypedMsg
from qos_chain import codec
from qos_chain.sign import sign, sign_bytes
from qos_identity.document import (
    MULTIKEY,
    DidDocument,
    Relationship,
    Service,
    VerificationMethod,
    check_controller_did,
    check_did_qos,
    split_did_url,
    validate_document,
    with_relationship,
)
from qos_identity.errors import (
    InvalidDid,
    InvalidDocument,
    InvalidOperation,
    MultikeyError,
)
from qos_identity.multikey import KeyType, b58encode, decode_multikey

DOMAIN_DID_OP = "qos/did-op/v1"
RECOVERY_SIGNER = ""

MSG_CREATE = "qos.identity.v1.MsgCreateDid"
MSG_UPDATE = "qos.identity.v1.MsgUpdateDid"
MSG_ROTATE = "qos.identity.v1.MsgRotateKey"
MSG_RECOVER = "qos.identity.v1.MsgRecoverDid"
MSG_DEACTIVATE = "qos.identity.v1.MsgDeactivateDid"
MSG_LINK = "qos.identity.v1.MsgLinkIdentifiers"
MSG_BATCH = "qos.identity.v1.MsgDidBatch"

MAX_PATCH_ACTIONS = 32
MAX_LINKS_PER_OP = 16
MAX_LINKS_PER_DID = 64
MAX_BATCH_OPS = 1024
SALT_BYTES = 32
_SCHEME = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
_VERSION = re.compile(r"[1-9][0-9]{0,18}")


class OpKind(enum.IntEnum):
    CREATE = 1
    UPDATE = 2
    ROTATE = 3
    RECOVER = 4
    DEACTIVATE = 5
    LINK = 6

    @property
    def label(self) -> str:
        return self.name.lower()


@codec.register(203)
@dataclass(frozen=True, slots=True)
class Inception:
    update_key: bytes
    recovery_commitment: bytes


@codec.register(204)
@dataclass(frozen=True, slots=True)
class OpProof:
    signer: str
    signature: bytes = b""


class PatchKind(enum.IntEnum):
    ADD_METHOD = 1  # method + the relationships it joins
    REMOVE_METHOD = 2  # target = method id; leaves every relationship too
    ADD_RELATIONSHIPS = 3  # target = method id, relationships to join
    REMOVE_RELATIONSHIPS = 4  # target = method id, relationships to leave
    ADD_SERVICE = 5  # service
    REMOVE_SERVICE = 6  # target = service id
    SET_CONTROLLERS = 7  # values = controller DIDs (may be empty)
    SET_ALSO_KNOWN_AS = 8  # values = URIs (may be empty)


@codec.register(205)
@dataclass(frozen=True, slots=True)
class PatchAction:
    kind: PatchKind
    method: VerificationMethod | None = None
    relationships: tuple[Relationship, ...] = ()
    target: str = ""
    service: Service | None = None
    values: tuple[str, ...] = ()


@codec.register(210)
@dataclass(frozen=True, slots=True)
class MsgCreateDid:
    did: str
    prev_version: str
    update_key: bytes
    recovery_commitment: bytes
    document: DidDocument
    proof: OpProof


@codec.register(211)
@dataclass(frozen=True, slots=True)
class MsgUpdateDid:
    did: str
    prev_version: str
    actions: tuple[PatchAction, ...]
    proof: OpProof


@codec.register(212)
@dataclass(frozen=True, slots=True)
class MsgRotateKey:
    did: str
    prev_version: str
    method_id: str
    new_public_key_multibase: str
    proof: OpProof


@codec.register(213)
@dataclass(frozen=True, slots=True)
class MsgRecoverDid:
    did: str
    prev_version: str
    recovery_key: bytes
    new_recovery_commitment: bytes
    document: DidDocument
    proof: OpProof


@codec.register(214)
@dataclass(frozen=True, slots=True)
class MsgDeactivateDid:
    """Signed by a capabilityInvocation key, or (``recovery_key`` set) by the recovery key."""

    did: str
    prev_version: str
    recovery_key: bytes
    proof: OpProof


@codec.register(215)
@dataclass(frozen=True, slots=True)
class MsgLinkIdentifiers:
    """Add/remove salted commitments ``identifier_commitment(salt, scheme, value)``."""

    did: str
    prev_version: str
    add: tuple[bytes, ...]
    remove: tuple[bytes, ...]
    proof: OpProof


@codec.register(216)
@dataclass(frozen=True, slots=True)
class MsgDidBatch:
    """Many users' operations in one tx; each is validated and applied on its own."""

    ops: tuple[TypedMsg, ...]


DidOperation: TypeAlias = (
    MsgCreateDid
    | MsgUpdateDid
    | MsgRotateKey
    | MsgRecoverDid
    | MsgDeactivateDid
    | MsgLinkIdentifiers
)

OP_TYPES: dict[str, type] = {
    MSG_CREATE: MsgCreateDid,
    MSG_UPDATE: MsgUpdateDid,
    MSG_ROTATE: MsgRotateKey,
    MSG_RECOVER: MsgRecoverDid,
    MSG_DEACTIVATE: MsgDeactivateDid,
    MSG_LINK: MsgLinkIdentifiers,
}
TYPE_URL: dict[type, str] = {v: k for k, v in OP_TYPES.items()}
OP_KIND: dict[type, OpKind] = {
    MsgCreateDid: OpKind.CREATE,
    MsgUpdateDid: OpKind.UPDATE,
    MsgRotateKey: OpKind.ROTATE,
    MsgRecoverDid: OpKind.RECOVER,
    MsgDeactivateDid: OpKind.DEACTIVATE,
    MsgLinkIdentifiers: OpKind.LINK,
}


# --------------------------------------------------------------------------- identifiers


def recovery_commitment_of(recovery_public_key: bytes) -> bytes:
    return hashlib.sha256(recovery_public_key).digest()


def derive_did(update_key: bytes, recovery_commitment: bytes) -> str:
    """``did:qos:`` + base58btc of the first 16 bytes of sha256(encode(Inception))."""
    digest = hashlib.sha256(codec.encode(Inception(update_key, recovery_commitment))).digest()
    return "did:qos:" + b58encode(digest[:16])


def version_number(version_id: str) -> int:
    """``versionId`` text -> sequence number (1 = create); ``InvalidOperation`` if malformed."""
    if not isinstance(version_id, str) or not _VERSION.fullmatch(version_id):
        raise InvalidOperation(f"versionId {version_id!r} is not a positive decimal number")
    return int(version_id)


# --------------------------------------------------------------------------- general identity


def identifier_commitment(salt: bytes, scheme: str, value: str) -> bytes:
    """``sha256(salt || utf8(scheme) || 0x00 || utf8(value))`` (white paper 3.3).

    ``salt`` is 32 random bytes kept by the holder; ``scheme`` names the identifier kind
    (``passport``, ``platform.example``), lower case, no NUL, so the bytes split one way only.
    """
    if len(salt) != SALT_BYTES:
        raise InvalidOperation(f"salt must be {SALT_BYTES} bytes", code="invalid_commitment")
    if not _SCHEME.fullmatch(scheme):
        raise InvalidOperation(
            f"scheme {scheme!r} must match [a-z0-9][a-z0-9.-]{{0,63}}", code="invalid_commitment"
        )
    return hashlib.sha256(salt + scheme.encode() + b"\x00" + value.encode()).digest()


def verify_disclosure(commitment: bytes, salt: bytes, scheme: str, value: str) -> bool:
    """True when (salt, scheme, value) opens ``commitment``; never raises."""
    try:
        return identifier_commitment(salt, scheme, value) == commitment
    except (InvalidOperation, UnicodeEncodeError):
        return False


# --------------------------------------------------------------------------- signatures


def op_sign_bytes(chain_id: str, op: DidOperation) -> bytes:
    unsigned = replace(op, proof=OpProof(op.proof.signer, b""))
    return sign_bytes(DOMAIN_DID_OP, chain_id, unsigned)


OpT = TypeVar(
    "OpT",
    MsgCreateDid,
    MsgUpdateDid,
    MsgRotateKey,
    MsgRecoverDid,
    MsgDeactivateDid,
    MsgLinkIdentifiers,
)


def sign_op(op: OpT, chain_id: str, seed: bytes, signer: str) -> OpT:
    """Return ``op`` with ``proof = OpProof(signer, sign(seed, op_sign_bytes))``."""
    op = replace(op, proof=OpProof(signer, b""))
    return replace(op, proof=OpProof(signer, sign(seed, op_sign_bytes(chain_id, op))))


def to_typed(op: DidOperation) -> TypedMsg:
    return TypedMsg(TYPE_URL[type(op)], codec.encode(op))


# --------------------------------------------------------------------------- stateless checks


def _check_signer(signer: str) -> None:
    did, _ = split_did_url(signer)
    try:
        check_controller_did(did)
    except InvalidDid as exc:
        raise InvalidOperation(f"proof signer {signer!r}: {exc.message}") from exc


def validate_op(op: DidOperation) -> None:
    """Everything that can be checked without state (run in ``check_tx``)."""
    check_did_qos(op.did)
    if len(op.proof.signature) != 64:
        raise InvalidOperation("proof signature must be 64 bytes")
    if isinstance(op, MsgCreateDid):
        if op.prev_version != "":
            raise InvalidOperation("a create has no previous version (prev_version must be '')")
        if len(op.update_key) != 32 or len(op.recovery_commitment) != 32:
            raise InvalidOperation("update key and recovery commitment must be 32 bytes")
        if derive_did(op.update_key, op.recovery_commitment) != op.did:
            raise InvalidOperation(f"{op.did} is not derived from the inception data")
        if op.document.id != op.did:
            raise InvalidDocument(f"document id {op.document.id!r} is not {op.did}")
        validate_document(op.document)
        m = op.document.method(op.proof.signer)
        if (
            m is None
            or op.proof.signer not in op.document.capability_invocation
            or m.multikey().public_key != op.update_key
        ):
            raise InvalidOperation(
                "a create is signed by the update key, which must be a capabilityInvocation "
                "method of the new document (proof.signer names it)"
            )
        return
    version_number(op.prev_version)
    if isinstance(op, MsgRecoverDid):
        if op.proof.signer != RECOVERY_SIGNER:
            raise InvalidOperation("a recover is signed by the recovery key (signer '')")
        if len(op.recovery_key) != 32 or len(op.new_recovery_commitment) != 32:
            raise InvalidOperation("recovery key and new commitment must be 32 bytes")
        if op.new_recovery_commitment == recovery_commitment_of(op.recovery_key):
            raise InvalidOperation("the new recovery commitment must not reuse the revealed key")
        if op.document.id != op.did:
            raise InvalidDocument(f"document id {op.document.id!r} is not {op.did}")
        validate_document(op.document)
        return
    if isinstance(op, MsgDeactivateDid):
        if op.recovery_key:
            if len(op.recovery_key) != 32 or op.proof.signer != RECOVERY_SIGNER:
                raise InvalidOperation("recovery key must be 32 bytes and signer ''")
            return
        _check_signer(op.proof.signer)
        return
    _check_signer(op.proof.signer)
    if isinstance(op, MsgUpdateDid):
        if not 1 <= len(op.actions) <= MAX_PATCH_ACTIONS:
            raise InvalidOperation(f"an update carries 1..{MAX_PATCH_ACTIONS} patch actions")
        for a in op.actions:
            _check_action(a)
    elif isinstance(op, MsgRotateKey):
        did, _ = split_did_url(op.method_id)
        if did != op.did:
            raise InvalidOperation(f"{op.method_id} is not a method of {op.did}")
        try:
            decode_multikey(op.new_public_key_multibase)
        except MultikeyError as exc:
            raise InvalidDocument(exc.message, code="invalid_public_key") from exc
    elif isinstance(op, MsgLinkIdentifiers):
        items = op.add + op.remove
        if not items or len(op.add) > MAX_LINKS_PER_OP or len(op.remove) > MAX_LINKS_PER_OP:
            raise InvalidOperation(
                f"link adds/removes 1..{MAX_LINKS_PER_OP} commitments", code="invalid_commitment"
            )
        if any(len(c) != 32 for c in items) or len(set(items)) != len(items):
            raise InvalidOperation(
                "commitments are distinct 32-byte sha256 digests", code="invalid_commitment"
            )


_SHAPES: dict[PatchKind, tuple[set[str], set[str]]] = {  # kind -> (required, optional)
    PatchKind.ADD_METHOD: ({"method"}, {"relationships"}),
    PatchKind.REMOVE_METHOD: ({"target"}, set()),
    PatchKind.ADD_RELATIONSHIPS: ({"target", "relationships"}, set()),
    PatchKind.REMOVE_RELATIONSHIPS: ({"target", "relationships"}, set()),
    PatchKind.ADD_SERVICE: ({"service"}, set()),
    PatchKind.REMOVE_SERVICE: ({"target"}, set()),
    PatchKind.SET_CONTROLLERS: (set(), {"values"}),
    PatchKind.SET_ALSO_KNOWN_AS: (set(), {"values"}),
}


def _check_action(a: PatchAction) -> None:
    k = a.kind
    shape = {
        "method": a.method is not None,
        "relationships": bool(a.relationships),
        "target": bool(a.target),
        "service": a.service is not None,
        "values": bool(a.values),
    }
    required, optional = _SHAPES[k]
    allowed = required | optional
    extra = {f for f, present in shape.items() if present and f not in allowed}
    missing = {f for f in required if not shape[f]}
    if extra or missing:
        raise InvalidOperation(
            f"patch {k.name.lower()}: unexpected {sorted(extra)}, missing {sorted(missing)}"
        )
    if len(set(a.relationships)) != len(a.relationships):
        raise InvalidOperation(f"patch {k.name.lower()} names a relationship twice")


# --------------------------------------------------------------------------- patches


def apply_patch(doc: DidDocument, actions: tuple[PatchAction, ...]) -> DidDocument:
    """Apply actions in order; the result is validated as a whole by the caller."""
    for a in actions:
        doc = _apply_action(doc, a)
    return doc


def _drop(doc: DidDocument, method_id: str, rels: tuple[Relationship, ...]) -> DidDocument:
    for rel in rels:
        refs = doc.relationship(rel)
        doc = with_relationship(doc, rel, tuple(r for r in refs if r != method_id))
    return doc


def _apply_action(doc: DidDocument, a: PatchAction) -> DidDocument:
    k = a.kind
    if k is PatchKind.ADD_METHOD and a.method is not None:
        if doc.method(a.method.id) is not None:
            raise InvalidDocument(f"{a.method.id} already exists", code="duplicate_key_id")
        doc = replace(doc, verification_method=(*doc.verification_method, a.method))
        for rel in a.relationships:
            doc = with_relationship(doc, rel, (*doc.relationship(rel), a.method.id))
        return doc
    if k is PatchKind.REMOVE_METHOD:
        if doc.method(a.target) is None:
            raise InvalidOperation(f"no verification method {a.target}")
        doc = _drop(doc, a.target, tuple(Relationship))
        return replace(
            doc, verification_method=tuple(m for m in doc.verification_method if m.id != a.target)
        )
    if k is PatchKind.ADD_RELATIONSHIPS:
        if doc.method(a.target) is None:
            raise InvalidOperation(f"no verification method {a.target}")
        for rel in a.relationships:
            if a.target in doc.relationship(rel):
                raise InvalidOperation(f"{a.target} is already in {rel.json_name}")
            doc = with_relationship(doc, rel, (*doc.relationship(rel), a.target))
        return doc
    if k is PatchKind.REMOVE_RELATIONSHIPS:
        for rel in a.relationships:
            if a.target not in doc.relationship(rel):
                raise InvalidOperation(f"{a.target} is not in {rel.json_name}")
        return _drop(doc, a.target, a.relationships)
    if k is PatchKind.ADD_SERVICE and a.service is not None:
        if any(s.id == a.service.id for s in doc.service):
            raise InvalidDocument(f"{a.service.id} already exists", code="duplicate_service_id")
        return replace(doc, service=(*doc.service, a.service))
    if k is PatchKind.REMOVE_SERVICE:
        if not any(s.id == a.target for s in doc.service):
            raise InvalidOperation(f"no service {a.target}")
        return replace(doc, service=tuple(s for s in doc.service if s.id != a.target))
    if k is PatchKind.SET_CONTROLLERS:
        return replace(doc, controller=a.values)
    if k is PatchKind.SET_ALSO_KNOWN_AS:
        return replace(doc, also_known_as=a.values)
    raise InvalidOperation(f"malformed patch action {k.name.lower()}")  # pragma: no cover


def rotate_key(doc: DidDocument, method_id: str, new_multibase: str) -> DidDocument:
    """Replace the key of ``method_id`` (same id, same relationships, same key type)."""
    m = doc.method(method_id)
    if m is None:
        raise InvalidOperation(f"no verification method {method_id}")
    if m.type == MULTIKEY:
        old, new = m.multikey().key_type, decode_multikey(new_multibase).key_type
        if old is not new:
            raise InvalidDocument(
                f"rotation must keep the key type ({old.value}, got {new.value})",
                code="invalid_public_key",
            )
    if m.public_key_multibase == new_multibase:
        raise InvalidOperation("rotation to the same key")
    nm = replace(m, public_key_multibase=new_multibase)
    return replace(
        doc,
        verification_method=tuple(nm if x.id == method_id else x for x in doc.verification_method),
    )


def controlling_keys(doc: DidDocument) -> list[bytes]:
    """ed25519 keys in the document's own capabilityInvocation."""
    out = []
    for ref in doc.capability_invocation:
        m = doc.method(ref)
        if m is not None:
            k = m.multikey()
            if k.key_type is KeyType.ED25519:
                out.append(k.public_key)
    return out
