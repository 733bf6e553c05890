"""``did:key`` resolved locally (W3C CCG did:key method v0.9, sections 3.1.2 and 3.1.4).

``did:key:<multikey>``: an ed25519 key yields one ``Multikey`` verification method used for
authentication, assertionMethod, capabilityInvocation and capabilityDelegation, plus the
x25519 key derived from it (``crypto_sign_ed25519_pk_to_curve25519``) for keyAgreement; an
x25519 key yields a keyAgreement method only. Method ids are ``<did>#<multikey>``.
No chain, no network: off-chain keys resolve with the same resolver as ``did:qos``.
"""

from __future__ import annotations

from qos_identity.document import DID_KEY_PREFIX, MULTIKEY, DidDocument, VerificationMethod
from qos_identity.errors import InvalidDid, MultikeyError
from qos_identity.multikey import KeyType, decode_multikey, ed25519_to_x25519, encode_multikey


def did_key_of(public_key: bytes, key_type: KeyType = KeyType.ED25519) -> str:
    return DID_KEY_PREFIX + encode_multikey(key_type, public_key)


def did_key_document(did: str) -> DidDocument:
    """The DID document of a ``did:key``; ``InvalidDid`` / ``MultikeyError`` if malformed."""
    if not did.startswith(DID_KEY_PREFIX):
        raise InvalidDid(f"{did!r} is not a did:key identifier")
    text = did[len(DID_KEY_PREFIX) :]
    key = decode_multikey(text)
    if key.key_type is KeyType.X25519:
        vm = VerificationMethod(f"{did}#{text}", MULTIKEY, did, text)
        return DidDocument(id=did, verification_method=(vm,), key_agreement=(vm.id,))
    x = encode_multikey(KeyType.X25519, ed25519_to_x25519(key.public_key))
    ed = VerificationMethod(f"{did}#{text}", MULTIKEY, did, text)
    xm = VerificationMethod(f"{did}#{x}", MULTIKEY, did, x)
    return DidDocument(
        id=did,
        verification_method=(ed, xm),
        authentication=(ed.id,),
        assertion_method=(ed.id,),
        key_agreement=(xm.id,),
        capability_invocation=(ed.id,),
        capability_delegation=(ed.id,),
    )


def did_key_public_key(did: str) -> bytes:
    """The ed25519 key of an ed25519 ``did:key`` (a controller's signing key)."""
    try:
        key = decode_multikey(did[len(DID_KEY_PREFIX) :])
    except MultikeyError as exc:
        raise InvalidDid(f"{did!r}: {exc.message}") from exc
    if not did.startswith(DID_KEY_PREFIX) or key.key_type is not KeyType.ED25519:
        raise InvalidDid(f"{did!r} is not an ed25519 did:key")
    return key.public_key
