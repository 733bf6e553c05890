"""``IdentityModule``: the did:qos state machine plugged into ``qos_app.app.QosApp``.

Messages (type url -> class in ``method.py``): ``qos.identity.v1.MsgCreateDid``,
``MsgUpdateDid``, ``MsgRotateKey``, ``MsgRecoverDid``, ``MsgDeactivateDid``,
``MsgLinkIdentifiers`` and ``MsgDidBatch``. A single operation that fails fails its tx
with the operation's code; inside a batch each operation runs in its own cache and a
failure is reported, not propagated (the tx succeeds, the other operations apply).

Every applied or refused operation emits one ``did_operation`` event with attributes
``index`` (position in the batch; absent for a single message), ``did``, ``op`` (create,
update, rotate, recover, deactivate, link), ``code`` (``ok`` or an identity code),
``version_id`` (the new version, when applied) and ``log`` (the reason, when refused).

Order of checks for an existing DID: ``not_found`` -> ``deactivated`` -> ``stale_version``
(``prev_version`` is not the current ``versionId``: replay or concurrent update) ->
``unauthorized`` (signer not a capabilityInvocation method of the DID or of a controller
DID, or the signature does not verify) -> the new document's validity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from qos_app.context import CacheKV, Ctx
from qos_app.errors import AppError, TxInvalid
from qos_chain import codec
from qos_chain.errors import DecodeError
from qos_chain.sign import is_valid
from qos_identity.didkey import did_key_document, did_key_of
from qos_identity.document import DID_KEY_PREFIX, DidDocument, split_did_url, validate_document
from qos_identity.errors import (
    IdentityError,
    InvalidDocument,
    InvalidOperation,
    OperationRefused,
    identity_codes,
)
from qos_identity.method import (
    MAX_BATCH_OPS,
    MAX_LINKS_PER_DID,
    MSG_BATCH,
    OP_KIND,
    OP_TYPES,
    DidOperation,
    MsgCreateDid,
    MsgDeactivateDid,
    MsgDidBatch,
    MsgLinkIdentifiers,
    MsgRecoverDid,
    MsgRotateKey,
    MsgUpdateDid,
    OpKind,
    apply_patch,
    controlling_keys,
    op_sign_bytes,
    recovery_commitment_of,
    rotate_key,
    validate_op,
)
from qos_identity.multikey import KeyType
from qos_identity.state import (
    DidState,
    Getter,
    VersionEntry,
    controller_key,
    doc_key,
    link_key,
    load_state,
    version_key,
)

EVENT = "did_operation"


def controllers_of(doc: DidDocument) -> list[str]:
    """Index keys for ``identities(controller)``: controller DIDs + did:key of own keys."""
    return sorted(set(doc.controller) | {did_key_of(k) for k in controlling_keys(doc)})


def check_controllable(doc: DidDocument) -> None:
    if not controlling_keys(doc) and not doc.controller:
        raise InvalidDocument(
            "the document needs an ed25519 capabilityInvocation key or a controller, "
            "or nobody could update it"
        )


def _decode_op(type_url: str, value: bytes) -> DidOperation:
    cls = OP_TYPES.get(type_url)
    if cls is None:
        raise InvalidOperation(f"{type_url!r} is not an identity operation")
    try:
        op: DidOperation = codec.decode(cls, value)
    except DecodeError as exc:
        raise InvalidOperation(f"malformed operation: {exc.message}") from exc
    return op


def _authorize(get: Getter, state: DidState, op: DidOperation, chain_id: str) -> None:
    signer = op.proof.signer
    did, _ = split_did_url(signer)
    doc: DidDocument
    if did == op.did:
        doc = state.document
    elif did in state.document.controller:
        if did.startswith(DID_KEY_PREFIX):
            doc = did_key_document(did)
        else:
            cs = load_state(get, did)
            if cs is None or cs.deactivated:
                raise OperationRefused(f"controller {did} is unknown or deactivated")
            doc = cs.document
    else:
        raise OperationRefused(f"{signer} is neither a key of {op.did} nor of its controllers")
    m = doc.method(signer)
    if m is None or signer not in doc.capability_invocation:
        raise OperationRefused(f"{signer} is not a capabilityInvocation method")
    key = m.multikey()
    if key.key_type is not KeyType.ED25519:
        raise OperationRefused(f"{signer} is not an ed25519 key")
    if not is_valid(key.public_key, op_sign_bytes(chain_id, op), op.proof.signature):
        raise OperationRefused("the operation signature does not verify")


def _check_recovery(state: DidState, op: MsgRecoverDid | MsgDeactivateDid, chain_id: str) -> None:
    if recovery_commitment_of(op.recovery_key) != state.recovery_commitment:
        raise OperationRefused(
            "the revealed key does not match the recovery commitment", code="invalid_recovery_key"
        )
    if not is_valid(op.recovery_key, op_sign_bytes(chain_id, op), op.proof.signature):
        raise OperationRefused(
            "the operation is not signed by the revealed recovery key", code="invalid_recovery_key"
        )


def _reindex(kv: CacheKV, did: str, old: DidDocument | None, new: DidDocument | None) -> None:
    before = set(controllers_of(old)) if old is not None else set()
    after = set(controllers_of(new)) if new is not None else set()
    for c in sorted(before - after):
        kv.delete(controller_key(c, did))
    for c in sorted(after - before):
        kv.set(controller_key(c, did), b"")


def apply_op(kv: CacheKV, ctx: Ctx, op: DidOperation) -> int:
    """Stateful checks and writes of one (stateless-valid) operation; returns the version."""
    kind = OP_KIND[type(op)]
    state = load_state(kv.get, op.did)
    if isinstance(op, MsgCreateDid):
        if state is not None:
            why = " and was deactivated: identifiers are never reused" if state.deactivated else ""
            raise OperationRefused(f"{op.did} already exists{why}", code="already_exists")
        if not is_valid(op.update_key, op_sign_bytes(ctx.chain_id, op), op.proof.signature):
            raise OperationRefused("the create is not signed by the update key")
        new = DidState(
            op.document, 1, ctx.time_ns, ctx.time_ns, ctx.height, ctx.height, False,
            op.recovery_commitment, 0,
        )  # fmt: skip
        _write(kv, ctx, op.did, None, new, kind=kind)
        return 1
    if state is None:
        raise OperationRefused(f"{op.did} is not registered", code="not_found")
    if state.deactivated:
        raise OperationRefused(f"{op.did} is deactivated", code="deactivated")
    if int(op.prev_version) != state.version:
        raise OperationRefused(
            f"operation applies to version {op.prev_version}, the current version is "
            f"{state.version} (replayed or concurrent operation)",
            code="stale_version",
        )
    doc = state.document
    commitment = state.recovery_commitment
    links = state.links
    deactivated = False
    if isinstance(op, MsgRecoverDid):
        _check_recovery(state, op, ctx.chain_id)
        doc, commitment = op.document, op.new_recovery_commitment
        check_controllable(doc)
    elif isinstance(op, MsgDeactivateDid):
        if op.recovery_key:
            _check_recovery(state, op, ctx.chain_id)
        else:
            _authorize(kv.get, state, op, ctx.chain_id)
        doc, deactivated = DidDocument(id=op.did), True
    else:
        _authorize(kv.get, state, op, ctx.chain_id)
        if isinstance(op, MsgUpdateDid):
            doc = apply_patch(doc, op.actions)
            validate_document(doc)
            check_controllable(doc)
        elif isinstance(op, MsgRotateKey):
            doc = rotate_key(doc, op.method_id, op.new_public_key_multibase)
            validate_document(doc)
        elif isinstance(op, MsgLinkIdentifiers):
            links = _link(kv, ctx, op, links)
    new = replace(
        state,
        document=doc,
        version=state.version + 1,
        updated_ns=ctx.time_ns,
        updated_height=ctx.height,
        deactivated=deactivated,
        recovery_commitment=commitment,
        links=links,
    )
    _write(kv, ctx, op.did, state, new, kind=kind)
    return new.version


def _link(kv: CacheKV, ctx: Ctx, op: MsgLinkIdentifiers, links: int) -> int:
    for c in op.remove:
        if kv.get(link_key(op.did, c)) is None:
            raise InvalidOperation(f"commitment {c.hex()} is not linked", code="invalid_commitment")
        kv.delete(link_key(op.did, c))
        links -= 1
    for c in op.add:
        if kv.get(link_key(op.did, c)) is not None:
            raise InvalidOperation(
                f"commitment {c.hex()} is already linked", code="invalid_commitment"
            )
        kv.set(link_key(op.did, c), codec.uvarint(ctx.height))
        links += 1
    if links > MAX_LINKS_PER_DID:
        raise InvalidOperation(
            f"a DID links at most {MAX_LINKS_PER_DID} identifiers", code="invalid_commitment"
        )
    return links


def _write(
    kv: CacheKV, ctx: Ctx, did: str, old: DidState | None, new: DidState, *, kind: OpKind
) -> None:
    kv.set(doc_key(did), codec.encode(new))
    entry = VersionEntry(
        new.version, kind, ctx.time_ns, ctx.height, new.document, new.deactivated, ctx.sender
    )
    kv.set(version_key(did, new.version), codec.encode(entry))
    _reindex(
        kv,
        did,
        None if old is None else old.document,
        None if new.deactivated else new.document,
    )


def _emit(
    ctx: Ctx,
    *,
    did: str,
    op: str,
    code: str,
    version: int | None = None,
    log: str = "",
    index: int | None = None,
) -> None:
    attrs = {"did": did, "op": op, "code": code}
    if index is not None:
        attrs["index"] = str(index)
    if version is not None:
        attrs["version_id"] = str(version)
    if log:
        attrs["log"] = log
    ctx.emit(EVENT, **attrs)


class IdentityModule:
    """``qos_app.app.Module`` for did:qos (name ``identity``)."""

    def __init__(self) -> None:
        self.name = "identity"
        self.msg_types: dict[str, type] = {**OP_TYPES, MSG_BATCH: MsgDidBatch}
        self.codes: dict[str, int] = identity_codes()

    def validate(self, msg: object) -> None:
        if isinstance(msg, MsgDidBatch):
            if not 1 <= len(msg.ops) <= MAX_BATCH_OPS:
                raise InvalidOperation(
                    f"a batch carries 1..{MAX_BATCH_OPS} operations", code="batch_too_large"
                )
            return  # each operation is validated on its own in handle()
        if type(msg) not in OP_KIND:
            raise TxInvalid(
                f"identity cannot handle {type(msg).__name__}", code="unknown_message_type"
            )
        validate_op(msg)  # type: ignore[arg-type]

    def handle(self, ctx: Ctx, msg: object) -> None:
        if isinstance(msg, MsgDidBatch):
            for i, item in enumerate(msg.ops):
                self._handle_item(ctx, i, item.type_url, item.value)
            return
        if type(msg) not in OP_KIND:
            raise TxInvalid("unexpected message", code="unknown_message_type")
        op: DidOperation = msg  # type: ignore[assignment]
        version = apply_op(ctx.kv, ctx, op)
        _emit(ctx, did=op.did, op=OP_KIND[type(op)].label, code="ok", version=version)

    def _handle_item(self, ctx: Ctx, index: int, type_url: str, value: bytes) -> None:
        sub = CacheKV(ctx.kv.get)
        did, label = "", "unknown"
        try:
            op = _decode_op(type_url, value)
            did, label = op.did, OP_KIND[type(op)].label
            validate_op(op)
            version = apply_op(sub, ctx, op)
        except AppError as err:
            code = err.code if isinstance(err, IdentityError) else "invalid_operation"
            _emit(ctx, did=did, op=label, code=code, log=err.message, index=index)
            return
        sub.write_into(ctx.kv)
        _emit(ctx, did=did, op=label, code="ok", version=version, index=index)

    def init_genesis(self, kv: CacheKV, state: dict[str, Any]) -> None:
        if state:
            raise ValueError("identity has no genesis state")
