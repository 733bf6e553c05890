"""``PinModule``: on-chain pin records and business-chain snapshot anchors.

Plugged into ``qos_app.app.QosApp`` as module ``files`` (type urls ``qos.files.v1.*``, error
codes 300-399). What the chain records is **ownership and intent**: "DID X asks the
network to keep CID Y (size, name, metadata, expiry, replication)", and "DID X anchored
snapshot S of chain C at height H with state root R". Whether a given node actually holds
the blocks (queued -> pinning -> pinned / failed) is that node's local progress, kept in
its own database by ``qos_fs.service.FileService``, never in consensus state.

Order of checks for a message: stateless (``validate``, in CheckTx) -> owner DID known and
active -> ``nonce`` equals the owner's files nonce (``pin_bad_nonce``: replay or out of
order) -> the proof's signer is an ed25519 capabilityInvocation method of the owner and
the signature verifies (``pin_unauthorized``) -> the message's own rules.

Events: ``pin_created`` (owner, cid hex, name, size, replication), ``pin_removed`` (owner,
cid hex), ``snapshot_anchored`` (owner, chain, height, snapshot_cid hex).

The module reads DID documents through an injected :data:`InvocationKeys` callable (the
node wires ``qos_identity``'s state into it): the import contracts keep ``qos_fs`` and
``qos_identity`` independent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qos_app.context import CacheKV, Ctx
from qos_chain import codec
from qos_chain.sign import is_valid
from qos_fs.errors import PinInvalid, PinRefused, fs_codes
from qos_fs.msgs import (
    TYPE_URLS,
    FsMsg,
    MsgAnchorSnapshot,
    MsgPin,
    MsgUnpin,
    op_sign_bytes,
    validate_msg,
)
from qos_fs.state import (
    Getter,
    PinRecord,
    SnapshotRecord,
    byname_key,
    cid_index_key,
    get_nonce,
    load_pin,
    name_key,
    nonce_key,
    rec_key,
    snap_key,
)

InvocationKeys = Callable[[Getter, str], dict[str, bytes] | None]
"""``keys(get, did)``: the DID's ed25519 capabilityInvocation methods (method id -> public
key) from committed state; ``None`` if the DID is unknown or deactivated."""

EVENT_CREATED = "pin_created"
EVENT_REMOVED = "pin_removed"
EVENT_SNAPSHOT = "snapshot_anchored"


def authorize(get: Getter, keys_of: InvocationKeys, chain_id: str, msg: FsMsg) -> None:
    keys = keys_of(get, msg.owner)
    if keys is None:
        raise PinRefused(f"{msg.owner} is not registered or is deactivated",
                         code="pin_owner_not_found")  # fmt: skip
    expected = get_nonce(get, msg.owner)
    if msg.nonce != expected:
        raise PinRefused(
            f"nonce {msg.nonce} is not the owner's next files nonce {expected} "
            "(replayed or out-of-order message)",
            code="pin_bad_nonce",
        )
    key = keys.get(msg.proof.signer)
    if key is None:
        raise PinRefused(f"{msg.proof.signer} is not a capabilityInvocation key of {msg.owner}")
    if not is_valid(key, op_sign_bytes(chain_id, msg), msg.proof.signature):
        raise PinRefused("the message signature does not verify")


def _pin(kv: CacheKV, ctx: Ctx, msg: MsgPin) -> None:
    if load_pin(kv.get, msg.owner, msg.cid) is not None:
        raise PinRefused(f"{msg.owner} already pins this CID", code="pin_exists")
    if msg.expires_height is not None and msg.expires_height <= ctx.height:
        raise PinRefused("expires_height is not in the future", code="pin_expired")
    if msg.expires_ns is not None and msg.expires_ns <= ctx.time_ns:
        raise PinRefused("expires_ns is not in the future", code="pin_expired")
    rec = PinRecord(
        msg.owner, msg.cid, msg.size, msg.name, msg.metadata, msg.expires_height,
        msg.expires_ns, msg.replication, ctx.height, ctx.time_ns, ctx.sender,
    )  # fmt: skip
    kv.set(rec_key(msg.owner, msg.cid), codec.encode(rec))
    kv.set(cid_index_key(msg.cid, msg.owner), b"")
    if msg.name:
        kv.set(name_key(msg.owner, msg.name, msg.cid), b"")
        kv.set(byname_key(msg.name, msg.owner, msg.cid), b"")
    ctx.emit(
        EVENT_CREATED,
        owner=msg.owner,
        cid=msg.cid.hex(),
        name=msg.name,
        size=str(msg.size),
        replication=str(msg.replication),
    )


def _unpin(kv: CacheKV, ctx: Ctx, msg: MsgUnpin) -> None:
    rec = load_pin(kv.get, msg.owner, msg.cid)
    if rec is None:
        raise PinRefused(f"{msg.owner} does not pin this CID", code="pin_not_found")
    kv.delete(rec_key(msg.owner, msg.cid))
    kv.delete(cid_index_key(msg.cid, msg.owner))
    if rec.name:
        kv.delete(name_key(msg.owner, rec.name, msg.cid))
        kv.delete(byname_key(rec.name, msg.owner, msg.cid))
    ctx.emit(EVENT_REMOVED, owner=msg.owner, cid=msg.cid.hex())


def _anchor(kv: CacheKV, ctx: Ctx, msg: MsgAnchorSnapshot) -> None:
    key = snap_key(msg.owner, msg.chain, msg.height)
    if kv.get(key) is not None:
        raise PinRefused(
            f"{msg.owner} already anchored {msg.chain} at height {msg.height}",
            code="snapshot_exists",
        )
    rec = SnapshotRecord(
        msg.owner, msg.chain, msg.height, msg.state_root, msg.snapshot_cid,
        ctx.height, ctx.time_ns, ctx.sender,
    )  # fmt: skip
    kv.set(key, codec.encode(rec))
    ctx.emit(
        EVENT_SNAPSHOT,
        owner=msg.owner,
        chain=msg.chain,
        height=str(msg.height),
        snapshot_cid=msg.snapshot_cid.hex(),
    )


class PinModule:
    """``qos_app.app.Module`` for files (name ``files``)."""

    def __init__(self, invocation_keys: InvocationKeys) -> None:
        self.name = "files"
        self.msg_types: dict[str, type] = dict(TYPE_URLS)
        self.codes: dict[str, int] = fs_codes()
        self._keys = invocation_keys

    def validate(self, msg: object) -> None:
        validate_msg(msg)

    def handle(self, ctx: Ctx, msg: object) -> None:
        if not isinstance(msg, MsgPin | MsgUnpin | MsgAnchorSnapshot):
            raise PinInvalid(f"files cannot handle {type(msg).__name__}")
        kv = ctx.kv
        authorize(kv.get, self._keys, ctx.chain_id, msg)
        if isinstance(msg, MsgPin):
            _pin(kv, ctx, msg)
        elif isinstance(msg, MsgUnpin):
            _unpin(kv, ctx, msg)
        else:
            _anchor(kv, ctx, msg)
        kv.set(nonce_key(msg.owner), (msg.nonce + 1).to_bytes(8, "big"))

    def init_genesis(self, kv: CacheKV, state: dict[str, Any]) -> None:
        if state:
            raise ValueError("files has no genesis state")
