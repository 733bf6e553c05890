"""Sign bytes and ed25519 signatures (pynacl).

``sign_bytes(domain, chain_id, obj) = b"QOS\\x00" || uvarint(len(domain)) || domain ||
uvarint(len(chain_id)) || chain_id || encode(obj)``. The domain tag separates what a key
may sign (a vote can never be replayed as a tx); the chain id keeps signatures from one
chain from being valid on another. Domains are listed in ``docs/protocol.md``.
"""

from __future__ import annotations

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from qos_chain import codec
from qos_chain.errors import EncodeError, InvalidSignature

MAGIC = b"QOS\x00"

DOMAIN_VOTE = "qos/vote/v1"
DOMAIN_PROPOSAL = "qos/proposal/v1"
DOMAIN_TX = "qos/tx/v1"
DOMAIN_PEER_ID = "qos/peer-id/v1"  # a validator binds a libp2p peer id to its key (qos_p2p)


def domain_prefix(domain: str) -> bytes:
    """``MAGIC || uvarint(len(domain)) || domain``: how every sign bytes of ``domain`` start."""
    out = bytearray(MAGIC)
    d = domain.encode()
    codec.write_uvarint(out, len(d))
    out += d
    return bytes(out)


def sign_bytes(domain: str, chain_id: str, obj: object) -> bytes:
    out = bytearray(MAGIC)
    try:
        d = domain.encode()
        c = chain_id.encode()
    except UnicodeEncodeError as exc:
        raise EncodeError("domain and chain id must be valid UTF-8 text") from exc
    codec.write_uvarint(out, len(d))
    out += d
    codec.write_uvarint(out, len(c))
    out += c
    out += codec.encode(obj)
    return bytes(out)


def sign(private_seed: bytes, message: bytes) -> bytes:
    return SigningKey(private_seed).sign(message).signature


def public_key_of(private_seed: bytes) -> bytes:
    return bytes(SigningKey(private_seed).verify_key)


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` is valid for ``message``."""
    if len(public_key) != 32 or len(signature) != 64:
        raise InvalidSignature("malformed public key or signature length")
    try:
        VerifyKey(public_key).verify(message, signature)
    except BadSignatureError as exc:
        raise InvalidSignature("signature does not verify") from exc
    except (ValueError, TypeError) as exc:  # e.g. a small-order or non-canonical point
        raise InvalidSignature(f"invalid public key: {exc}") from exc


def is_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        verify(public_key, message, signature)
    except InvalidSignature:
        return False
    return True
