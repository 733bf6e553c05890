"""W3C Data Integrity proofs, cryptosuite ``eddsa-jcs-2022`` (vc-di-eddsa v1.0, section 3.3).

* Proof configuration (3.3.5): the proof options without ``proofValue``; ``type`` is
  ``DataIntegrityProof``, ``cryptosuite`` ``eddsa-jcs-2022``; if the document has an
  ``@context`` the proof carries the same ``@context``.
* Hashing (3.3.4): ``sha256(JCS(proofConfig)) || sha256(JCS(document without proof))``
  (64 bytes; JCS is RFC 8785, ``jcs.canonicalize``).
* Signature (3.3.6): ed25519 over the 64 hash bytes; ``proofValue`` is multibase
  base58btc (``z``) of the 64-byte signature.
* Verification (3.3.2): the document's ``@context`` must start with the proof's; the
  ``verificationMethod`` is resolved through a :data:`MethodResolver` callback (a did:qos
  or did:key URL -> :class:`ResolvedMethod`, e.g. at an anchoring height) and must be in
  the relationship named by ``proofPurpose`` (``assertionMethod`` for credentials,
  ``authentication`` for presentations); ``challenge`` and ``domain`` must match when
  the verifier expects them.

Only a single proof object is supported (proof sets/chains are refused with a reason).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from qos_identity.credentials.errors import ProofError
from qos_identity.credentials.jcs import NotJson, canonicalize
from qos_identity.multikey import b58decode, b58encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION = "assertionMethod"
AUTHENTICATION = "authentication"
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_OPTION_KEYS = ("id", "created", "expires", "challenge", "domain", "nonce", "previousProof")


@dataclass(frozen=True, slots=True)
class ResolvedMethod:
    """A verification method as the verifier saw it: its DID, key and relationships."""

    id: str
    controller: str
    public_key: bytes
    relationships: frozenset[str]


MethodResolver = Callable[[str], ResolvedMethod | None]


@dataclass(frozen=True, slots=True)
class ProofCheck:
    ok: bool
    reason: str
    method: ResolvedMethod | None = None


def proof_config(
    document: dict[str, Any],
    *,
    verification_method: str,
    created: str | None,
    proof_purpose: str = ASSERTION,
    challenge: str | None = None,
    domain: str | None = None,
    nonce: str | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    """Proof options (no ``proofValue``) in the key order of the spec's examples."""
    cfg: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE}
    if created is not None:
        cfg["created"] = created
    if expires is not None:
        cfg["expires"] = expires
    cfg["verificationMethod"] = verification_method
    cfg["proofPurpose"] = proof_purpose
    for key, value in (("challenge", challenge), ("domain", domain), ("nonce", nonce)):
        if value is not None:
            cfg[key] = value
    if "@context" in document:
        cfg["@context"] = copy.deepcopy(document["@context"])
    return cfg


def canonical_proof_config(cfg: dict[str, Any]) -> bytes:
    """Checks of vc-di-eddsa 3.3.5 then ``JCS(cfg)``; raises :class:`ProofError`."""
    if cfg.get("type") != PROOF_TYPE or cfg.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"proof must be type {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    for key in ("created", "expires"):
        if key in cfg and (not isinstance(cfg[key], str) or not _DATETIME.fullmatch(cfg[key])):
            raise ProofError(f"proof {key} must be an XML dateTimeStamp")
    if not isinstance(cfg.get("verificationMethod"), str):
        raise ProofError("proof verificationMethod must be a string")
    if not isinstance(cfg.get("proofPurpose"), str):
        raise ProofError("proof proofPurpose must be a string")
    try:
        return canonicalize(cfg)
    except NotJson as exc:
        raise ProofError(f"proof options are not JSON: {exc.message}") from exc


def hash_data(unsecured: dict[str, Any], cfg: dict[str, Any]) -> bytes:
    """``sha256(JCS(proofConfig)) || sha256(JCS(unsecured document))`` (64 bytes)."""
    proof_hash = hashlib.sha256(canonical_proof_config(cfg)).digest()
    try:
        doc_hash = hashlib.sha256(canonicalize(unsecured)).digest()
    except NotJson as exc:
        raise ProofError(f"document is not JSON: {exc.message}") from exc
    return proof_hash + doc_hash


def encode_proof_value(signature: bytes) -> str:
    return "z" + b58encode(signature)


def decode_proof_value(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 100:
        raise ProofError("proofValue must be a multibase base58btc ('z') string")
    try:
        raw = b58decode(value[1:])
    except Exception as exc:
        raise ProofError("proofValue is not base58btc") from exc
    if len(raw) != 64:
        raise ProofError(f"proofValue decodes to {len(raw)} bytes, an ed25519 signature is 64")
    return raw


def create_proof(
    document: dict[str, Any],
    seed: bytes,
    *,
    verification_method: str,
    created: str | None,
    proof_purpose: str = ASSERTION,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """The proof object (options + ``proofValue``) for ``document`` signed by ``seed``."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    cfg = proof_config(
        unsecured,
        verification_method=verification_method,
        created=created,
        proof_purpose=proof_purpose,
        challenge=challenge,
        domain=domain,
    )
    signature = nacl.signing.SigningKey(seed).sign(hash_data(unsecured, cfg)).signature
    return {**cfg, "proofValue": encode_proof_value(signature)}


def add_proof(document: dict[str, Any], seed: bytes, **options: Any) -> dict[str, Any]:
    """A copy of ``document`` secured with an ``eddsa-jcs-2022`` proof (see create_proof)."""
    if "proof" in document:
        raise ProofError("the document already has a proof (proof sets are not supported)")
    return {**document, "proof": create_proof(document, seed, **options)}


def verify_proof(
    secured: dict[str, Any],
    resolve: MethodResolver,
    *,
    expected_purpose: str = ASSERTION,
    challenge: str | None = None,
    domain: str | None = None,
    check_relationship: bool = True,
) -> ProofCheck:
    """Verify the single ``eddsa-jcs-2022`` proof of ``secured``; never raises.

    ``check_relationship=False`` leaves the "method is in ``expected_purpose``" check to
    the caller (``verify.verify_credential`` reports it as its own check)."""
    try:
        return _verify(
            secured, resolve, expected_purpose=expected_purpose, challenge=challenge,
            domain=domain, check_relationship=check_relationship,
        )  # fmt: skip
    except ProofError as exc:
        return ProofCheck(False, exc.message)


def _verify(
    secured: dict[str, Any],
    resolve: MethodResolver,
    *,
    expected_purpose: str,
    challenge: str | None,
    domain: str | None,
    check_relationship: bool,
) -> ProofCheck:
    if not isinstance(secured, dict):
        raise ProofError("the secured document must be a JSON object")
    proof = secured.get("proof")
    if isinstance(proof, list):
        raise ProofError("proof sets and chains are not supported: give one proof object")
    if not isinstance(proof, dict):
        raise ProofError("the document has no proof")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    signature = decode_proof_value(proof.get("proofValue"))
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in options:
        pctx, dctx = options["@context"], secured.get("@context")
        plist = pctx if isinstance(pctx, list) else [pctx]
        dlist = dctx if isinstance(dctx, list) else [dctx]
        if dlist[: len(plist)] != plist:
            raise ProofError("the document's @context does not start with the proof's @context")
        unsecured["@context"] = pctx
    if options.get("proofPurpose") != expected_purpose:
        raise ProofError(
            f"proofPurpose is {options.get('proofPurpose')!r}, expected {expected_purpose!r}"
        )
    if challenge is not None and options.get("challenge") != challenge:
        raise ProofError("the proof's challenge does not match the verifier's")
    if domain is not None and options.get("domain") != domain:
        raise ProofError("the proof's domain does not match the verifier's")
    data = hash_data(unsecured, options)
    vm_id = options["verificationMethod"]
    method = resolve(vm_id)
    if method is None:
        raise ProofError(f"verification method {vm_id} cannot be resolved")
    if check_relationship and expected_purpose not in method.relationships:
        raise ProofError(f"{vm_id} is not in the {expected_purpose} of {method.controller}")
    try:
        nacl.signing.VerifyKey(method.public_key).verify(data, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return ProofCheck(False, "the signature does not verify (forged or tampered)", method)
    return ProofCheck(True, f"signed by {vm_id}", method)
