"""Pure helpers that BUILD and SIGN files messages from private seeds (CLI, tests, SDKs).

The node never sees a private key: the owner DID's key signs the message, an account
signs the tx (``wrap_in_tx``); both may be the same person or not.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

from qos_app.tx import Fee, TxBody, sign_tx
from qos_chain import codec
from qos_chain.address import address_from_public_key
from qos_chain.sign import public_key_of, sign
from qos_fs.msgs import (
    FsMsg,
    FsProof,
    MsgAnchorSnapshot,
    MsgPin,
    MsgUnpin,
    canonical_metadata,
    sign_msg,
    to_typed,
)
from qos_ipfs.cid import CID

DEFAULT_KEY = "key-1"
_NO_PROOF = FsProof("", b"")


def _signer(owner: str, signer_id: str | None) -> str:
    return signer_id if signer_id is not None else f"{owner}#{DEFAULT_KEY}"


def pin_msg(
    chain_id: str,
    owner: str,
    nonce: int,
    cid: CID,
    seed: bytes,
    *,
    size: int = 0,
    name: str = "",
    metadata: Mapping[str, object] | None = None,
    expires_height: int | None = None,
    expires_ns: int | None = None,
    replication: int = 1,
    signer_id: str | None = None,
) -> MsgPin:
    msg = MsgPin(
        owner, nonce, cid.to_bytes(), size, name, canonical_metadata(metadata),
        expires_height, expires_ns, replication, _NO_PROOF,
    )  # fmt: skip
    return sign_msg(msg, chain_id, seed, _signer(owner, signer_id))


def unpin_msg(
    chain_id: str, owner: str, nonce: int, cid: CID, seed: bytes, *, signer_id: str | None = None
) -> MsgUnpin:
    msg = MsgUnpin(owner, nonce, cid.to_bytes(), _NO_PROOF)
    return sign_msg(msg, chain_id, seed, _signer(owner, signer_id))


def anchor_msg(
    chain_id: str,
    owner: str,
    nonce: int,
    seed: bytes,
    *,
    chain: str,
    height: int,
    state_root: bytes,
    snapshot: CID,
    signer_id: str | None = None,
) -> MsgAnchorSnapshot:
    msg = MsgAnchorSnapshot(owner, nonce, chain, height, state_root, snapshot.to_bytes(), _NO_PROOF)
    return sign_msg(msg, chain_id, seed, _signer(owner, signer_id))


def wrap_in_tx(
    chain_id: str, sender_seed: bytes, nonce: int, msgs: Sequence[FsMsg], *, fee: int = 0
) -> bytes:
    """A signed, encoded tx carrying ``msgs`` (the sender pays the fee)."""
    pk = public_key_of(sender_seed)
    body = TxBody(
        chain_id=chain_id,
        sender=address_from_public_key(pk),
        nonce=nonce,
        msgs=tuple(to_typed(m) for m in msgs),
        fee=Fee(fee, None),
        memo="",
        timeout_height=None,
    )
    return codec.encode(sign_tx(body, (pk, sender_seed)))


TOKEN_DOMAIN = "qos-pinning-token/v1"  # noqa: S105 - a signing domain, not a secret


def token_request_bytes(chain_id: str, did: str, signer: str, label: str, issued: str) -> bytes:
    """What a DID signs to obtain a Pinning Service API bearer token (``POST /auth/tokens``)."""
    body = {"chainId": chain_id, "did": did, "issued": issued, "label": label, "signer": signer}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{TOKEN_DOMAIN}\n{text}".encode()


def token_request(
    chain_id: str, did: str, seed: bytes, *, label: str, issued: str, signer_id: str | None = None
) -> dict[str, str]:
    """The JSON body of ``POST /auth/tokens``, signed with the DID's key ``seed``."""
    signer = _signer(did, signer_id)
    sig = sign(seed, token_request_bytes(chain_id, did, signer, label, issued))
    return {
        "did": did,
        "signer": signer,
        "label": label,
        "issued": issued,
        "signature": base64.b64encode(sig).decode(),
    }
