"""Credential and presentation verification: every check with its outcome and reason.

``verify_credential(credential, documents, reader, now)`` runs, in order:

==============  ==========================================================================
check           passes when
==============  ==========================================================================
format          VC DM 2.0 rules of ``model.validate_credential`` (contexts, size, ...)
proof           the ``eddsa-jcs-2022`` proof verifies with the key its
                ``verificationMethod`` names, taken from the issuer's DID document at the
                anchoring height (current document when not anchored)
issuer_key      that method belongs to the issuer and was in its ``assertionMethod`` at
                the anchoring height (so rotation later does not invalidate old
                credentials; a key outside assertionMethod fails here)
anchored        ``sha256(JCS(credential))`` is anchored for the same issuer, subject,
                schema and status index
status          neither the revocation nor the suspension bit is set (chain state)
validity        ``validFrom <= now <= validUntil`` (Unix seconds)
schema          the credential (without ``proof``) conforms to each ``credentialSchema``
                (``schema.validate``; documents from chain state or ``load_schema``)
==============  ==========================================================================

``documents`` is a :data:`keys.DocumentAt` (``(did, height | None) -> DidView | None``):
``identity_documents(get)`` over the identity state. Nothing raises on bad input: a
malformed credential fails ``format`` and the other checks are ``skipped``.
``verify_presentation`` checks a holder's presentation (``authentication`` proof with the
verifier's ``challenge`` and ``domain``), each credential, and that the holder is each
credential's subject.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qos_identity.credentials.di import ASSERTION, AUTHENTICATION, ResolvedMethod, verify_proof
from qos_identity.credentials.errors import InvalidCredential
from qos_identity.credentials.jcs import NotJson, canonicalize, loads
from qos_identity.credentials.keys import DocumentAt, document_at, resolve_method
from qos_identity.credentials.model import VC_V2, VP_TYPE, check_contexts, is_did
from qos_identity.credentials.model import validate_credential as validate_model
from qos_identity.credentials.reader import CredentialReader
from qos_identity.credentials.schema import validate as validate_schema
from qos_identity.credentials.state import LIST_BITS
from qos_identity.credentials.status_list import parse_status_list_url
from qos_identity.resolver import xml_datetime
from qos_identity.state import Getter

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
CHECKS = ("format", "proof", "issuer_key", "anchored", "status", "validity", "schema")
MAX_PRESENTED = 16
SchemaLoader = Callable[[str], "bytes | None"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    outcome: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.outcome == PASSED

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class VerificationReport:
    checks: tuple[Check, ...]
    credential_id: str | None = None

    @property
    def verified(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "credentialId": self.credential_id,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class PresentationReport:
    checks: tuple[Check, ...]
    credentials: tuple[VerificationReport, ...]

    @property
    def verified(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": [c.to_json() for c in self.checks],
            "credentials": [r.to_json() for r in self.credentials],
        }


def identity_documents(get: Getter) -> DocumentAt:
    """``(did, height) -> DidView`` over the identity state read by ``get``."""
    return functools.partial(document_at, get)


def credential_digest(credential: dict[str, Any]) -> bytes:
    """``sha256(JCS(credential))`` of the secured credential (proof included)."""
    return hashlib.sha256(canonicalize(credential)).digest()


def _skip_rest(done: list[Check], why: str) -> tuple[Check, ...]:
    names = {c.name for c in done}
    return tuple(done) + tuple(Check(n, SKIPPED, why) for n in CHECKS if n not in names)


def verify_credential(
    credential: Any,
    documents: DocumentAt,
    reader: CredentialReader,
    now: int,
    *,
    load_schema: SchemaLoader | None = None,
) -> VerificationReport:
    checks: list[Check] = []
    if isinstance(credential, bytes | str):
        try:
            credential = loads(credential)
        except NotJson as exc:
            checks.append(Check("format", FAILED, exc.message))
            return VerificationReport(_skip_rest(checks, "the credential is malformed"))
    try:
        info = validate_model(credential)
        digest = credential_digest(credential)
    except InvalidCredential as exc:
        checks.append(Check("format", FAILED, f"{exc.code}: {exc.message}"))
        return VerificationReport(_skip_rest(checks, "the credential is malformed"))
    checks.append(Check("format", PASSED, "a W3C VC Data Model 2.0 credential"))
    cid = digest.hex()
    anchor = reader.anchor(digest)
    height = None if anchor is None else anchor.height
    when = "the current document" if height is None else f"height {height} (anchoring)"

    # proof + issuer_key
    resolved: list[ResolvedMethod] = []

    def resolve(method_id: str) -> ResolvedMethod | None:
        m = resolve_method(documents(method_id.partition("#")[0], height), method_id)
        if m is not None:
            resolved.append(m)
        return m

    pc = verify_proof(credential, resolve, expected_purpose=ASSERTION, check_relationship=False)
    checks.append(Check("proof", PASSED if pc.ok else FAILED, pc.reason))
    if not resolved:
        checks.append(Check("issuer_key", FAILED, f"the verification method is not a key "
                                                  f"of a DID document at {when}"))  # fmt: skip
    else:
        m = resolved[0]
        if m.controller != info.issuer:
            why = f"{m.id} belongs to {m.controller}, not the issuer {info.issuer}"
            checks.append(Check("issuer_key", FAILED, why))
        elif ASSERTION not in m.relationships:
            why = f"{m.id} was not in the issuer's assertionMethod at {when}"
            checks.append(Check("issuer_key", FAILED, why))
        else:
            checks.append(Check("issuer_key", PASSED, f"{m.id} in assertionMethod at {when}"))

    # anchored
    if anchor is None:
        checks.append(Check("anchored", FAILED, f"credential {cid} is not anchored on chain"))
    else:
        problems = []
        if anchor.issuer != info.issuer:
            problems.append(f"anchored for issuer {anchor.issuer}")
        if anchor.subject != info.subject:
            problems.append(f"anchored for subject {anchor.subject}")
        if anchor.schema_id and anchor.schema_id not in info.schemas:
            problems.append(f"anchored with schema {anchor.schema_id}")
        for e in info.status:
            loc = parse_status_list_url(e.list_credential)
            if e.index != anchor.status_index:
                problems.append(f"statusListIndex {e.index} != anchored {anchor.status_index}")
            elif loc != (info.issuer, e.purpose, e.index // LIST_BITS):
                problems.append(f"statusListCredential {e.list_credential} is not the issuer's")
        if problems:
            checks.append(Check("anchored", FAILED, "; ".join(problems)))
        else:
            why = f"anchored at height {anchor.height} ({xml_datetime(anchor.time_ns)})"
            checks.append(Check("anchored", PASSED, why))

    # status
    if anchor is None:
        checks.append(Check("status", FAILED, "not anchored: no status on chain"))
    else:
        view = reader.get_credential(cid)
        assert view is not None
        if view.revoked:
            checks.append(Check("status", FAILED, f"revoked (status index {anchor.status_index})"))
        elif view.suspended:
            checks.append(
                Check("status", FAILED, f"suspended (status index {anchor.status_index})")
            )
        else:
            checks.append(Check("status", PASSED, "neither revoked nor suspended"))

    # validity
    if info.valid_from is not None and now < info.valid_from:
        checks.append(
            Check("validity", FAILED, f"not valid before {xml_datetime(info.valid_from * 10**9)}")
        )
    elif info.valid_until is not None and now > info.valid_until:
        checks.append(
            Check("validity", FAILED, f"expired at {xml_datetime(info.valid_until * 10**9)}")
        )
    else:
        checks.append(Check("validity", PASSED, f"valid at {xml_datetime(now * 10**9)}"))

    checks.append(_schema_check(credential, info.schemas, reader, load_schema))
    return VerificationReport(tuple(checks), cid)


def _schema_check(
    credential: dict[str, Any],
    schemas: tuple[str, ...],
    reader: CredentialReader,
    load_schema: SchemaLoader | None,
) -> Check:
    if not schemas:
        return Check("schema", PASSED, "no credentialSchema declared")
    claims = {k: v for k, v in credential.items() if k != "proof"}
    for sid in schemas:
        rec = reader.schema(sid)
        document = rec.document if rec is not None and rec.document else None
        if document is None and load_schema is not None:
            document = load_schema(rec.cid if rec is not None and rec.cid else sid)
        if document is None:
            return Check("schema", FAILED, f"schema {sid} is not registered or not available")
        try:
            schema = loads(document)
        except NotJson as exc:
            return Check("schema", FAILED, f"schema {sid}: {exc.message}")
        errors = validate_schema(claims, schema)
        if errors:
            more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
            return Check("schema", FAILED, f"violates {sid}: " + "; ".join(errors[:5]) + more)
    return Check("schema", PASSED, "conforms to " + ", ".join(schemas))


def verify_presentation(
    presentation: Any,
    challenge: str,
    domain: str,
    *,
    documents: DocumentAt,
    reader: CredentialReader,
    now: int,
    load_schema: SchemaLoader | None = None,
) -> PresentationReport:
    """Holder binding, challenge, domain, and every credential (see module docstring)."""
    names = ("format", "proof", "credentials", "holder")

    def done(
        checks: list[Check], reports: tuple[VerificationReport, ...] = ()
    ) -> PresentationReport:
        have = {c.name for c in checks}
        rest = tuple(
            Check(n, SKIPPED, "the presentation is malformed") for n in names if n not in have
        )
        return PresentationReport(tuple(checks) + rest, reports)

    checks: list[Check] = []
    try:
        if not isinstance(presentation, dict):
            raise InvalidCredential("a presentation must be a JSON object")
        check_contexts(presentation.get("@context"), VC_V2)
        types = presentation.get("type")
        types = [types] if isinstance(types, str) else types
        if not isinstance(types, list) or VP_TYPE not in types:
            raise InvalidCredential(f"type must include {VP_TYPE}")
        holder = presentation.get("holder")
        if not is_did(holder):
            raise InvalidCredential("holder must be a DID")
        vcs = presentation.get("verifiableCredential", [])
        vcs = [vcs] if isinstance(vcs, dict) else vcs
        if not isinstance(vcs, list) or not 1 <= len(vcs) <= MAX_PRESENTED:
            raise InvalidCredential(f"verifiableCredential holds 1..{MAX_PRESENTED} credentials")
        canonicalize(presentation)
    except InvalidCredential as exc:
        checks.append(Check("format", FAILED, f"{exc.code}: {exc.message}"))
        return done(checks)
    checks.append(Check("format", PASSED, "a W3C verifiable presentation"))

    def resolve(method_id: str) -> ResolvedMethod | None:
        return resolve_method(documents(method_id.partition("#")[0], None), method_id)

    pc = verify_proof(
        presentation, resolve, expected_purpose=AUTHENTICATION, challenge=challenge, domain=domain
    )
    if pc.ok and pc.method is not None and pc.method.controller != holder:
        checks.append(Check("proof", FAILED, f"signed by {pc.method.controller}, not the holder"))
    else:
        checks.append(Check("proof", PASSED if pc.ok else FAILED, pc.reason))
    reports = tuple(
        verify_credential(vc, documents, reader, now, load_schema=load_schema) for vc in vcs
    )
    bad = [i for i, r in enumerate(reports) if not r.verified]
    checks.append(
        Check("credentials", FAILED, f"credentials {bad} fail verification")
        if bad
        else Check("credentials", PASSED, f"{len(reports)} credential(s) verified")
    )
    foreign = [
        i for i, vc in enumerate(vcs)
        if not isinstance(vc, dict) or not isinstance(vc.get("credentialSubject"), dict)
        or vc["credentialSubject"].get("id") != holder
    ]  # fmt: skip
    checks.append(
        Check("holder", FAILED, f"the holder is not the subject of credentials {foreign}")
        if foreign
        else Check("holder", PASSED, f"{holder} is the subject of every credential")
    )
    return PresentationReport(tuple(checks), reports)
