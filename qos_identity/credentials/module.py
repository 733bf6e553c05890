"""``CredentialModule``: schemas, credential anchors and status lists on chain.

A ``qos_app.app.Module`` (name ``credentials``; messages in ``ops.py``; state layout in
``state.py``; codes 200-299 in ``errors.py``). Stateless checks (``validate``) run at
``check_tx``; ``handle`` runs in the tx cache, so a refused message leaves no state.

Checks, in order:

* signer: ``proof.signer`` names a method of the DID the message acts for (schema
  author / issuer): unknown DID -> ``issuer_not_found``, deactivated ->
  ``issuer_deactivated``, method missing, not ed25519 or outside the allowed
  relationships, or a signature that does not verify -> ``unauthorized_signer``; a
  signer from another DID -> ``not_issuer``.
* register schema: ``schema_exists`` (same content), ``schema_version_conflict``
  (version is not the family's next one).
* anchor: ``schema_not_found``, ``already_anchored``, ``status_index_taken``.
* change status: ``stale_status_sequence``, ``status_index_unassigned``,
  ``credential_already_revoked`` (unsuspend/suspend of a revoked index is refused; revoke
  is final).

Events: ``credential_schema`` {schema_id, author, name, version}; ``credential_anchored``
{id (digest hex), issuer, subject, schema_id, status_index, types}; ``credential_status``
{issuer, action, count, sequence, first_index}.
"""

from __future__ import annotations

from typing import Any

from qos_app.context import CacheKV, Ctx
from qos_app.errors import TxInvalid
from qos_chain import codec
from qos_chain.sign import is_valid
from qos_identity.credentials import jcs
from qos_identity.credentials.errors import (
    CredentialOpRefused,
    InvalidCredentialOp,
    InvalidSchema,
    credential_codes,
)
from qos_identity.credentials.keys import document_at
from qos_identity.credentials.model import is_did
from qos_identity.credentials.ops import (
    MAX_SCHEMA_BYTES,
    MAX_STATUS_CHANGES,
    MSG_TYPES,
    SCHEMA_ID_PREFIX,
    CredentialOp,
    MsgAnchorCredential,
    MsgChangeStatus,
    MsgRegisterSchema,
    StatusAction,
    op_signer_did,
    schema_hash_of,
    schema_id_of,
    vc_sign_bytes,
)
from qos_identity.credentials.schema import check_schema
from qos_identity.credentials.state import (
    ALL,
    BY_ISSUER,
    BY_SCHEMA,
    BY_SUBJECT,
    BY_TYPE,
    CHUNK_BYTES,
    CredentialAnchor,
    IssuerRecord,
    Purpose,
    SchemaRecord,
    StatusListMeta,
    chunk_key,
    cred_key,
    get_bit,
    index_prefix,
    issuer_key,
    list_meta_key,
    load_issuer,
    locate,
    position,
    schema_key,
    schema_name_key,
    status_index_key,
)
from qos_identity.document import Relationship, split_did_url
from qos_identity.errors import IdentityError
from qos_identity.multikey import KeyType

MAX_TYPES = 8
MAX_NAME = 128
MAX_REF = 256
_ANCHOR_RELS = (Relationship.ASSERTION_METHOD,)
_CONTROL_RELS = (Relationship.ASSERTION_METHOD, Relationship.CAPABILITY_INVOCATION)


def _text(value: str, what: str, limit: int = MAX_NAME, *, empty: bool = False) -> None:
    if (not value and not empty) or len(value) > limit or "\x00" in value:
        raise InvalidCredentialOp(f"{what} must be 1..{limit} characters without NUL")


def _did(value: str, what: str) -> None:
    if not is_did(value):
        raise InvalidCredentialOp(f"{what} {value!r} is not a DID")


def validate_op(op: CredentialOp) -> None:
    """Stateless checks (``check_tx``)."""
    if len(op.proof.signature) != 64:
        raise InvalidCredentialOp("proof signature must be 64 bytes")
    try:
        split_did_url(op.proof.signer)
    except IdentityError as exc:
        raise InvalidCredentialOp(f"proof signer: {exc.message}") from exc
    if isinstance(op, MsgRegisterSchema):
        _did(op.author, "author")
        _text(op.name, "schema name")
        if op.version < 1 or op.version >= 2**32:
            raise InvalidCredentialOp("schema version is a positive 32-bit number")
        if len(op.schema_hash) != 32:
            raise InvalidCredentialOp("schema hash must be 32 bytes (sha256)")
        _text(op.cid, "cid", MAX_REF, empty=True)
        if not op.document and not op.cid:
            raise InvalidCredentialOp("give the schema document or its cid")
        if op.document:
            _check_schema_document(op.document, op.schema_hash)
    elif isinstance(op, MsgAnchorCredential):
        if len(op.digest) != 32:
            raise InvalidCredentialOp("credential digest must be 32 bytes (sha256)")
        _did(op.issuer, "issuer")
        _did(op.subject, "subject")
        _text(op.schema_id, "schema id", MAX_REF, empty=True)
        if op.schema_id and not op.schema_id.startswith(SCHEMA_ID_PREFIX):
            raise InvalidCredentialOp(f"schema id must be a registered {SCHEMA_ID_PREFIX}...")
        if not 1 <= len(op.types) <= MAX_TYPES or len(set(op.types)) != len(op.types):
            raise InvalidCredentialOp(f"an anchor lists 1..{MAX_TYPES} distinct types")
        for t in op.types:
            _text(t, "type")
        if "VerifiableCredential" not in op.types:
            raise InvalidCredentialOp("types must include VerifiableCredential")
        if (
            op.valid_from is not None
            and op.valid_until is not None
            and op.valid_until < op.valid_from
        ):
            raise InvalidCredentialOp("valid_until is before valid_from")
        _text(op.delivery, "delivery reference", MAX_REF, empty=True)
    else:
        _did(op.issuer, "issuer")
        if not 1 <= len(op.indexes) <= MAX_STATUS_CHANGES:
            raise InvalidCredentialOp(
                f"a status change lists 1..{MAX_STATUS_CHANGES} indexes",
                code="too_many_status_changes",
            )
        if len(set(op.indexes)) != len(op.indexes):
            raise InvalidCredentialOp("a status change lists an index twice")


def _check_schema_document(document: bytes, schema_hash: bytes) -> None:
    if len(document) > MAX_SCHEMA_BYTES:
        raise InvalidSchema(f"a schema document is at most {MAX_SCHEMA_BYTES} bytes")
    if schema_hash_of(document) != schema_hash:
        raise InvalidSchema("schema hash is not sha256 of the document")
    try:
        obj = jcs.loads(document)
        canonical = jcs.canonicalize(obj)
    except jcs.NotJson as exc:
        raise InvalidSchema(f"schema document: {exc.message}") from exc
    if canonical != document:
        raise InvalidSchema("the schema document must be in RFC 8785 canonical form")
    check_schema(obj)


def authorize(
    kv: CacheKV, chain_id: str, op: CredentialOp, did: str, rels: tuple[Relationship, ...]
) -> None:
    """``op`` is signed by an ed25519 key in one of ``rels`` of ``did`` (current state)."""
    signer_did = op_signer_did(op)
    if signer_did != did:
        raise CredentialOpRefused(f"{op.proof.signer} is not a key of {did}", code="not_issuer")
    view = document_at(kv.get, did)
    if view is None:
        raise CredentialOpRefused(f"{did} is not registered", code="issuer_not_found")
    if view.deactivated:
        raise CredentialOpRefused(f"{did} is deactivated", code="issuer_deactivated")
    doc = view.document
    m = doc.method(op.proof.signer)
    names = "/".join(r.json_name for r in rels)
    if m is None or not any(op.proof.signer in doc.relationship(r) for r in rels):
        raise CredentialOpRefused(f"{op.proof.signer} is not in the {names} of {did}")
    key = m.multikey()
    if key.key_type is not KeyType.ED25519:
        raise CredentialOpRefused(f"{op.proof.signer} is not an ed25519 key")
    if not is_valid(key.public_key, vc_sign_bytes(chain_id, op), op.proof.signature):
        raise CredentialOpRefused("the operation signature does not verify")


def register_schema(ctx: Ctx, op: MsgRegisterSchema) -> str:
    kv = ctx.kv
    authorize(kv, ctx.chain_id, op, op.author, _CONTROL_RELS)
    sid = schema_id_of(op.schema_hash)
    if kv.get(schema_key(sid)) is not None:
        raise CredentialOpRefused(f"schema {sid} is already registered", code="schema_exists")
    if kv.get(schema_name_key(op.author, op.name, op.version)) is not None or (
        op.version > 1 and kv.get(schema_name_key(op.author, op.name, op.version - 1)) is None
    ):
        raise CredentialOpRefused(
            f"{op.name!r} version {op.version} is taken or not the next version",
            code="schema_version_conflict",
        )
    rec = SchemaRecord(
        sid, op.author, op.name, op.version, op.schema_hash, op.document, op.cid,
        ctx.height, ctx.time_ns,
    )  # fmt: skip
    kv.set(schema_key(sid), codec.encode(rec))
    kv.set(schema_name_key(op.author, op.name, op.version), sid.encode())
    ctx.emit(
        "credential_schema", schema_id=sid, author=op.author, name=op.name,
        version=str(op.version),
    )  # fmt: skip
    return sid


def anchor_credential(ctx: Ctx, op: MsgAnchorCredential) -> CredentialAnchor:
    kv = ctx.kv
    authorize(kv, ctx.chain_id, op, op.issuer, _ANCHOR_RELS)
    if op.schema_id and kv.get(schema_key(op.schema_id)) is None:
        raise CredentialOpRefused(f"schema {op.schema_id} is not registered",
                                  code="schema_not_found")  # fmt: skip
    if kv.get(cred_key(op.digest)) is not None:
        raise CredentialOpRefused(f"credential {op.digest.hex()} is already anchored",
                                  code="already_anchored")  # fmt: skip
    issuer = load_issuer(kv.get, op.issuer)
    index = issuer.next_index if op.status_index is None else op.status_index
    if index >= 2**40:
        raise InvalidCredentialOp("status index out of range")
    if kv.get(status_index_key(op.issuer, index)) is not None:
        raise CredentialOpRefused(f"status index {index} of {op.issuer} is taken",
                                  code="status_index_taken")  # fmt: skip
    anchor = CredentialAnchor(
        op.digest, op.issuer, op.subject, op.schema_id, op.types, op.valid_from,
        op.valid_until, index, op.delivery, op.proof.signer, ctx.height, ctx.time_ns,
    )  # fmt: skip
    kv.set(cred_key(op.digest), codec.encode(anchor))
    pos = position(ctx.height, op.digest)
    kv.set(index_prefix(BY_SUBJECT, op.subject) + pos, b"")
    kv.set(index_prefix(BY_ISSUER, op.issuer) + pos, b"")
    if op.schema_id:
        kv.set(index_prefix(BY_SCHEMA, op.schema_id) + pos, b"")
    for t in op.types:
        kv.set(index_prefix(BY_TYPE, t) + pos, b"")
    kv.set(ALL + pos, b"")
    kv.set(status_index_key(op.issuer, index), op.digest)
    rec = IssuerRecord(max(issuer.next_index, index + 1), issuer.sequence, issuer.anchored + 1)
    kv.set(issuer_key(op.issuer), codec.encode(rec))
    ctx.emit(
        "credential_anchored", id=op.digest.hex(), issuer=op.issuer, subject=op.subject,
        schema_id=op.schema_id, status_index=str(index), types=",".join(op.types),
    )  # fmt: skip
    return anchor


def change_status(ctx: Ctx, op: MsgChangeStatus) -> int:
    """Apply one status change; cost O(len(indexes) + chunks touched)."""
    kv = ctx.kv
    authorize(kv, ctx.chain_id, op, op.issuer, _CONTROL_RELS)
    issuer = load_issuer(kv.get, op.issuer)
    if op.sequence != issuer.sequence:
        raise CredentialOpRefused(
            f"status sequence {op.sequence}, the issuer's is {issuer.sequence} "
            "(replayed or concurrent change)",
            code="stale_status_sequence",
        )
    chunks: dict[tuple[Purpose, int, int], bytearray] = {}

    def chunk(purpose: Purpose, list_id: int, n: int) -> bytearray:
        k = (purpose, list_id, n)
        if k not in chunks:
            raw = kv.get(chunk_key(op.issuer, purpose, list_id, n))
            chunks[k] = bytearray(raw if raw is not None else bytes(CHUNK_BYTES))
        return chunks[k]

    for index in op.indexes:
        if index >= issuer.next_index or kv.get(status_index_key(op.issuer, index)) is None:
            raise CredentialOpRefused(f"status index {index} is not assigned to a credential",
                                      code="status_index_unassigned")  # fmt: skip
        list_id, n, bit = locate(index)
        revoked = chunk(Purpose.REVOCATION, list_id, n)
        if get_bit(bytes(revoked), bit):
            raise CredentialOpRefused(
                f"status index {index} is revoked (final)", code="credential_already_revoked"
            )
        mask = 0x80 >> (bit & 7)
        if op.action is StatusAction.REVOKE:
            revoked[bit >> 3] |= mask
        else:
            suspended = chunk(Purpose.SUSPENSION, list_id, n)
            if op.action is StatusAction.SUSPEND:
                suspended[bit >> 3] |= mask
            else:
                suspended[bit >> 3] &= ~mask & 0xFF
    meta = codec.encode(StatusListMeta(ctx.height, ctx.time_ns))
    for (purpose, list_id, n), data in sorted(chunks.items()):
        key = chunk_key(op.issuer, purpose, list_id, n)
        # an absent chunk reads as zeros: write (and move the list's validFrom) only on change
        if (kv.get(key) or bytes(CHUNK_BYTES)) != bytes(data):
            kv.set(key, bytes(data))
            kv.set(list_meta_key(op.issuer, purpose, list_id), meta)
    rec = IssuerRecord(issuer.next_index, issuer.sequence + 1, issuer.anchored)
    kv.set(issuer_key(op.issuer), codec.encode(rec))
    ctx.emit(
        "credential_status", issuer=op.issuer, action=op.action.label,
        count=str(len(op.indexes)), sequence=str(op.sequence), first_index=str(op.indexes[0]),
    )  # fmt: skip
    return len(op.indexes)


class CredentialModule:
    """``qos_app.app.Module`` for credential attestations (name ``credentials``)."""

    def __init__(self) -> None:
        self.name = "credentials"
        self.msg_types: dict[str, type] = dict(MSG_TYPES)
        self.codes: dict[str, int] = credential_codes()

    def validate(self, msg: object) -> None:
        if not isinstance(msg, MsgRegisterSchema | MsgAnchorCredential | MsgChangeStatus):
            raise TxInvalid(
                f"credentials cannot handle {type(msg).__name__}", code="unknown_message_type"
            )
        validate_op(msg)

    def handle(self, ctx: Ctx, msg: object) -> None:
        if isinstance(msg, MsgRegisterSchema):
            register_schema(ctx, msg)
        elif isinstance(msg, MsgAnchorCredential):
            anchor_credential(ctx, msg)
        elif isinstance(msg, MsgChangeStatus):
            change_status(ctx, msg)
        else:
            raise TxInvalid("unexpected message", code="unknown_message_type")

    def init_genesis(self, kv: CacheKV, state: dict[str, Any]) -> None:
        if state:
            raise ValueError("credentials has no genesis state")
