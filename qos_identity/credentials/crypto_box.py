"""Credentials delivered encrypted to the subject DID's ``keyAgreement`` X25519 key.

Envelope (JSON, compact JWE-like; the node stores and serves only this):

    {
      "typ": "application/qos-sealed+json",
      "alg": "X25519-SealedBox",            # libsodium crypto_box_seal: an ephemeral
      "enc": "XSalsa20-Poly1305",           # X25519 key per message + XSalsa20-Poly1305
      "kid": "<subject DID>#<keyAgreement method>",
      "cty": "application/vc",              # the plaintext: a secured credential (JSON)
      "ciphertext": "<base64url, no padding>"
    }

``ciphertext = ephemeral public key (32) || box(plaintext)``, the nonce derived from both
public keys (libsodium's sealed box). Anonymous: only the recipient can open it, and the
sender's authenticity comes from the credential's own Data Integrity proof inside.
``kid`` is a hint for the wallet; it is not authenticated (a wrong ``kid`` just fails to
open). Plaintext is limited to ``MAX_CREDENTIAL_BYTES`` (64 KiB).
"""

from __future__ import annotations

import base64
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public

from qos_identity.credentials.errors import EnvelopeError
from qos_identity.credentials.jcs import NotJson, canonicalize, loads
from qos_identity.credentials.model import MAX_CREDENTIAL_BYTES
from qos_identity.document import DidDocument
from qos_identity.errors import IdentityError
from qos_identity.multikey import KeyType

TYP = "application/qos-sealed+json"
ALG = "X25519-SealedBox"
ENC = "XSalsa20-Poly1305"
CTY = "application/vc"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_agreement_key(doc: DidDocument, kid: str | None = None) -> tuple[str, bytes]:
    """(method id, X25519 public key) of the document's (first or named) keyAgreement."""
    for ref in doc.key_agreement:
        if kid is not None and ref != kid:
            continue
        m = doc.method(ref)
        if m is None:
            continue
        try:
            key = m.multikey()
        except IdentityError:
            continue
        if key.key_type is KeyType.X25519:
            return ref, key.public_key
    raise EnvelopeError(f"{doc.id} has no X25519 keyAgreement key {kid or ''}".rstrip())


def seal(
    credential: dict[str, Any], recipient: DidDocument, kid: str | None = None
) -> dict[str, str]:
    """Encrypt ``credential`` (its RFC 8785 bytes) to the recipient's keyAgreement key."""
    ref, public_key = key_agreement_key(recipient, kid)
    try:
        plaintext = canonicalize(credential)
    except NotJson as exc:
        raise EnvelopeError(f"the credential is not JSON: {exc.message}") from exc
    if len(plaintext) > MAX_CREDENTIAL_BYTES:
        raise EnvelopeError(f"the credential is larger than {MAX_CREDENTIAL_BYTES} bytes")
    box = nacl.public.SealedBox(nacl.public.PublicKey(public_key))
    return {"typ": TYP, "alg": ALG, "enc": ENC, "kid": ref, "cty": CTY,
            "ciphertext": _b64(box.encrypt(plaintext))}  # fmt: skip


def open_envelope(envelope: dict[str, Any], x25519_private_key: bytes) -> dict[str, Any]:
    """Decrypt an envelope with the recipient's X25519 private key (32 bytes)."""
    if not isinstance(envelope, dict) or envelope.get("typ") != TYP:
        raise EnvelopeError(f"not a {TYP} envelope")
    if envelope.get("alg") != ALG or envelope.get("enc") != ENC:
        raise EnvelopeError(f"unsupported algorithms (expected {ALG} / {ENC})")
    ct = envelope.get("ciphertext")
    if not isinstance(ct, str) or len(ct) > 2 * MAX_CREDENTIAL_BYTES:
        raise EnvelopeError("ciphertext missing or too large")
    try:
        box = nacl.public.SealedBox(nacl.public.PrivateKey(x25519_private_key))
        plaintext = box.decrypt(_unb64(ct))
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise EnvelopeError(
            "the envelope does not open with this key (wrong key or tampered)"
        ) from exc
    try:
        obj = loads(plaintext)
    except NotJson as exc:
        raise EnvelopeError(f"the plaintext is not JSON: {exc.message}") from exc
    if not isinstance(obj, dict):
        raise EnvelopeError("the plaintext is not a credential object")
    return obj


def x25519_private_from_seed(seed: bytes) -> bytes:
    """An X25519 private key derived from a 32-byte seed (``nacl.public.PrivateKey``)."""
    return bytes(nacl.public.PrivateKey.from_seed(seed))


def x25519_public_from_private(private_key: bytes) -> bytes:
    return bytes(nacl.public.PrivateKey(private_key).public_key)


def x25519_private_from_ed25519_seed(seed: bytes) -> bytes:
    """The X25519 key matching an ed25519 seed (for ``did:key`` subjects)."""
    sk = nacl.bindings.crypto_sign_seed_keypair(seed)[1]
    return bytes(nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(sk))
