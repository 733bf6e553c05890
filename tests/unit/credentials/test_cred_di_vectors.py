"""W3C vc-di-eddsa v1.0, Appendix "Test Vectors", eddsa-jcs-2022 (the key pair of
"Representation: eddsa-jcs-2022": did:key z6MkrJVn...): every intermediate value, the
final proofValue, verification, and tampering/forgery refusals."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import nacl.signing

from qos_identity.credentials.di import (
    ResolvedMethod,
    add_proof,
    canonical_proof_config,
    hash_data,
    proof_config,
    verify_proof,
)
from qos_identity.credentials.jcs import canonicalize
from qos_identity.credentials.keys import method_resolver
from qos_identity.multikey import b58decode, decode_multikey

PUBLIC_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
METHOD = f"did:key:{PUBLIC_MULTIBASE}#{PUBLIC_MULTIBASE}"
CREATED = "2023-02-24T23:36:38Z"
UNSIGNED: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
    ],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
CANONICAL_DOCUMENT = (
    '{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/'
    'examples/v2"],"credentialSubject":{"alumniOf":"The School of Examples","id":"did:exampl'
    'e:abcdefgh"},"description":"A minimum viable example of an Alumni Credential.","id":"ur'
    'n:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33","issuer":"https://vc.example/issuers/5678"'
    ',"name":"Alumni Credential","type":["VerifiableCredential","AlumniCredential"],"validFr'
    'om":"2023-01-01T00:00:00Z"}'
)
DOCUMENT_HASH = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
CANONICAL_PROOF_CONFIG = (
    '{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/'
    'examples/v2"],"created":"2023-02-24T23:36:38Z","cryptosuite":"eddsa-jcs-2022","proofPur'
    'pose":"assertionMethod","type":"DataIntegrityProof","verificationMethod":"' + METHOD + '"}'
)
PROOF_HASH = "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
SIGNATURE_HEX = (
    "407cd12654b33d718ecbb99179a1506daaa849450bf3fc523cce3e1c96f8b803"
    "51da3f253d725c6f00b07c9e5448d50b3ef78012b9ab54255116d069c6dd2808"
)
PROOF_VALUE = (
    "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
)


def _seed() -> bytes:
    raw = b58decode(SECRET_MULTIBASE[1:])
    assert raw[:2] == b"\x80\x26"  # multicodec ed25519-priv (0x1300)
    return raw[2:]


def _no_state(key: bytes) -> bytes | None:
    return None


RESOLVE = method_resolver(_no_state)  # did:key resolves locally


def _signed() -> dict[str, Any]:
    return add_proof(UNSIGNED, _seed(), verification_method=METHOD, created=CREATED)


def test_key_pair() -> None:
    pk = bytes(nacl.signing.SigningKey(_seed()).verify_key)
    assert pk == decode_multikey(PUBLIC_MULTIBASE).public_key


def test_canonical_document_and_hash() -> None:
    assert canonicalize(UNSIGNED).decode() == CANONICAL_DOCUMENT
    assert hashlib.sha256(canonicalize(UNSIGNED)).hexdigest() == DOCUMENT_HASH


def test_proof_config_canonical_form_and_hash() -> None:
    cfg = proof_config(UNSIGNED, verification_method=METHOD, created=CREATED)
    assert canonical_proof_config(cfg).decode() == CANONICAL_PROOF_CONFIG
    assert hashlib.sha256(canonical_proof_config(cfg)).hexdigest() == PROOF_HASH


def test_combined_hash_signature_and_proof_value() -> None:
    cfg = proof_config(UNSIGNED, verification_method=METHOD, created=CREATED)
    data = hash_data(UNSIGNED, cfg)
    assert data.hex() == PROOF_HASH + DOCUMENT_HASH
    assert nacl.signing.SigningKey(_seed()).sign(data).signature.hex() == SIGNATURE_HEX
    proof = _signed()["proof"]
    assert proof["proofValue"] == PROOF_VALUE
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": CREATED,
        "verificationMethod": METHOD,
        "proofPurpose": "assertionMethod",
        "@context": UNSIGNED["@context"],
        "proofValue": PROOF_VALUE,
    }


def test_published_secured_credential_verifies() -> None:
    secured = {**copy.deepcopy(UNSIGNED), "proof": {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": CREATED,
        "verificationMethod": METHOD, "proofPurpose": "assertionMethod",
        "@context": UNSIGNED["@context"], "proofValue": PROOF_VALUE,
    }}  # fmt: skip
    check = verify_proof(secured, RESOLVE)
    assert check.ok, check.reason


def test_tampered_claim_fails() -> None:
    secured = _signed()
    secured["credentialSubject"]["alumniOf"] = "The School of Forgery"
    check = verify_proof(secured, RESOLVE)
    assert not check.ok
    assert "forged or tampered" in check.reason


def test_tampered_proof_options_fail() -> None:
    secured = _signed()
    secured["proof"]["created"] = "2024-01-01T00:00:00Z"
    assert not verify_proof(secured, RESOLVE).ok


def test_forged_by_other_key_fails() -> None:
    other = b"\x09" * 32
    forged = add_proof(UNSIGNED, other, verification_method=METHOD, created=CREATED)
    assert not verify_proof(forged, RESOLVE).ok


def test_context_must_start_with_proof_context() -> None:
    secured = _signed()
    secured["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    check = verify_proof(secured, RESOLVE)
    assert not check.ok
    assert "@context" in check.reason


def test_malformed_proofs_are_reported() -> None:
    base = _signed()
    cases: list[tuple[Any, str]] = [
        ({**base, "proof": [base["proof"]]}, "proof sets"),
        ({k: v for k, v in base.items() if k != "proof"}, "no proof"),
        ({**base, "proof": {**base["proof"], "proofValue": "u123"}}, "base58btc"),
        ({**base, "proof": {**base["proof"], "proofValue": "z2Hn"}}, "64"),
        ({**base, "proof": {**base["proof"], "cryptosuite": "eddsa-rdfc-2022"}}, "cryptosuite"),
        ({**base, "proof": {**base["proof"], "proofPurpose": "authentication"}}, "proofPurpose"),
        ({**base, "proof": {**base["proof"], "created": "yesterday"}}, "dateTimeStamp"),
    ]
    for doc, reason in cases:
        check = verify_proof(doc, RESOLVE)
        assert not check.ok
        assert reason in check.reason, (reason, check.reason)


def test_method_outside_relationship_fails() -> None:
    pk = decode_multikey(PUBLIC_MULTIBASE).public_key

    def only_auth(method_id: str) -> ResolvedMethod:
        return ResolvedMethod(method_id, "did:key:x", pk, frozenset({"authentication"}))

    check = verify_proof(_signed(), only_auth)
    assert not check.ok
    assert "assertionMethod" in check.reason
    assert verify_proof(_signed(), lambda _m: None).reason.endswith("cannot be resolved")


def test_challenge_and_domain() -> None:
    vp = {"@context": UNSIGNED["@context"], "type": ["VerifiablePresentation"]}
    secured = add_proof(
        vp, _seed(), verification_method=METHOD, created=CREATED,
        proof_purpose="authentication", challenge="c-1", domain="verifier.example",
    )  # fmt: skip
    ok = verify_proof(secured, RESOLVE, expected_purpose="authentication", challenge="c-1",
                      domain="verifier.example")  # fmt: skip
    assert ok.ok, ok.reason
    assert (
        "challenge"
        in verify_proof(secured, RESOLVE, expected_purpose="authentication", challenge="c-2").reason
    )
    assert (
        "domain"
        in verify_proof(
            secured, RESOLVE, expected_purpose="authentication", domain="evil.example"
        ).reason
    )
