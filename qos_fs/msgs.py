"""On-chain messages of the files module (``qos.files.v1.*``) and their stateless checks.

Every message is signed by its **owner DID** (an ed25519 ``capabilityInvocation`` method
of the DID, as DID operations are) over ``sign_bytes("qos/files-op/v1", chain_id, msg)``
with an empty signature; the signature is independent of the tx signer, so any account
may submit (and pay for) it. Replay protection: ``nonce`` must equal the owner DID's next
files nonce in state (``pin/nonce/<owner>``), which every applied message increments.

=============================  ========================================================
message                        meaning
=============================  ========================================================
``MsgPin``                     the owner asks the network to keep ``cid`` (size, name,
                               metadata, optional expiry, replication factor)
``MsgUnpin``                   the owner withdraws its pin of ``cid``
``MsgAnchorSnapshot``          the owner anchors a business chain's snapshot: chain name,
                               height, state root and the CID of the snapshot
=============================  ========================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from qos_app.tx import TypedMsg
from qos_chain import codec
from qos_chain.sign import sign, sign_bytes
from qos_fs.errors import PinInvalid
from qos_ipfs.cid import CID
from qos_ipfs.errors import InvalidCid

DOMAIN_FILES_OP = "qos/files-op/v1"
MSG_PIN = "qos.files.v1.MsgPin"
MSG_UNPIN = "qos.files.v1.MsgUnpin"
MSG_ANCHOR = "qos.files.v1.MsgAnchorSnapshot"

MAX_DID_CHARS = 256
MAX_NAME_BYTES = 255
MAX_METADATA_BYTES = 2048
MAX_METADATA_KEYS = 32
MAX_REPLICATION = 16
MAX_SIZE = (1 << 63) - 1
MAX_STATE_ROOT = 64
_CHAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@codec.register(300)
@dataclass(frozen=True, slots=True)
class FsProof:
    signer: str  # DID URL of the signing method, e.g. did:qos:...#key-1
    signature: bytes = b""


@codec.register(301)
@dataclass(frozen=True, slots=True)
class MsgPin:
    owner: str
    nonce: int
    cid: bytes  # binary CID
    size: int  # bytes, as claimed by the owner (the chain cannot check it)
    name: str
    metadata: str  # "" or a canonical JSON object (sorted keys, no spaces)
    expires_height: int | None
    expires_ns: int | None
    replication: int
    proof: FsProof


@codec.register(302)
@dataclass(frozen=True, slots=True)
class MsgUnpin:
    owner: str
    nonce: int
    cid: bytes
    proof: FsProof


@codec.register(303)
@dataclass(frozen=True, slots=True)
class MsgAnchorSnapshot:
    owner: str
    nonce: int
    chain: str
    height: int
    state_root: bytes
    snapshot_cid: bytes
    proof: FsProof


FsMsg = MsgPin | MsgUnpin | MsgAnchorSnapshot
MsgT = TypeVar("MsgT", MsgPin, MsgUnpin, MsgAnchorSnapshot)
TYPE_URLS: dict[str, type] = {MSG_PIN: MsgPin, MSG_UNPIN: MsgUnpin, MSG_ANCHOR: MsgAnchorSnapshot}
_URL_OF: dict[type, str] = {v: k for k, v in TYPE_URLS.items()}


def op_sign_bytes(chain_id: str, msg: FsMsg) -> bytes:
    unsigned = replace(msg, proof=FsProof(msg.proof.signer, b""))
    return sign_bytes(DOMAIN_FILES_OP, chain_id, unsigned)


def sign_msg(msg: MsgT, chain_id: str, seed: bytes, signer: str) -> MsgT:
    msg = replace(msg, proof=FsProof(signer, b""))
    return replace(msg, proof=FsProof(signer, sign(seed, op_sign_bytes(chain_id, msg))))


def to_typed(msg: FsMsg) -> TypedMsg:
    return TypedMsg(_URL_OF[type(msg)], codec.encode(msg))


def canonical_metadata(obj: Mapping[str, object] | None) -> str:
    """The on-chain form of a metadata object ("" for none)."""
    if not obj:
        return ""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- checks


def parse_cid_bytes(raw: bytes) -> CID:
    try:
        return CID.from_bytes(raw)
    except InvalidCid as exc:
        raise PinInvalid(f"cid: {exc.message}", code="pin_invalid_cid") from exc


def check_owner(owner: str) -> None:
    if not (owner.startswith(("did:qos:", "did:key:")) and len(owner) <= MAX_DID_CHARS):
        raise PinInvalid(f"owner must be a did:qos or did:key DID, got {owner[:64]!r}")
    if "#" in owner or "/" in owner or _CONTROL.search(owner):
        raise PinInvalid("owner must be a bare DID (no fragment, path or control characters)")


def check_name(name: str) -> None:
    if len(name.encode()) > MAX_NAME_BYTES:
        raise PinInvalid(f"name exceeds {MAX_NAME_BYTES} bytes")
    if _CONTROL.search(name):
        raise PinInvalid("name must not contain control characters")


def check_metadata(text: str) -> None:
    if not text:
        return
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise PinInvalid(
            f"metadata exceeds {MAX_METADATA_BYTES} bytes", code="pin_metadata_too_large"
        )
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise PinInvalid(f"metadata is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or not obj:
        raise PinInvalid('metadata must be a non-empty JSON object (or "" for none)')
    if len(obj) > MAX_METADATA_KEYS:
        raise PinInvalid(
            f"metadata has more than {MAX_METADATA_KEYS} keys", code="pin_metadata_too_large"
        )
    if canonical_metadata(obj) != text:
        raise PinInvalid("metadata must be canonical JSON (sorted keys, no whitespace)")


def _check_proof(msg: FsMsg) -> None:
    signer = msg.proof.signer
    if not signer.startswith(msg.owner + "#") or len(signer) > MAX_DID_CHARS + 64:
        raise PinInvalid("proof.signer must be a method of the owner DID (<owner>#<fragment>)")
    if len(msg.proof.signature) != 64:
        raise PinInvalid("proof.signature must be a 64-byte ed25519 signature")


def validate_msg(msg: object) -> None:
    """Everything that can be checked without state (runs in CheckTx)."""
    if not isinstance(msg, MsgPin | MsgUnpin | MsgAnchorSnapshot):
        raise PinInvalid(f"files cannot handle {type(msg).__name__}")
    check_owner(msg.owner)
    _check_proof(msg)
    if isinstance(msg, MsgPin | MsgUnpin):
        parse_cid_bytes(msg.cid)
    if isinstance(msg, MsgPin):
        if msg.size > MAX_SIZE:
            raise PinInvalid("size is out of range")
        check_name(msg.name)
        check_metadata(msg.metadata)
        if not 1 <= msg.replication <= MAX_REPLICATION:
            raise PinInvalid(f"replication must be 1..{MAX_REPLICATION}")
        if msg.expires_height == 0 or msg.expires_ns == 0:
            raise PinInvalid("an expiry, when given, must be positive")
    if isinstance(msg, MsgAnchorSnapshot):
        if not _CHAIN_NAME.match(msg.chain):
            raise PinInvalid("chain must match [a-z0-9][a-z0-9._-]{0,63}")
        if msg.height < 1:
            raise PinInvalid("height must be at least 1")
        if not 1 <= len(msg.state_root) <= MAX_STATE_ROOT:
            raise PinInvalid(f"state_root must be 1..{MAX_STATE_ROOT} bytes")
        parse_cid_bytes(msg.snapshot_cid)
