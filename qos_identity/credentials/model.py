"""W3C Verifiable Credentials Data Model 2.0: the subset QOS anchors, validated.

``parse_credential(raw)`` (bytes, at most ``MAX_CREDENTIAL_BYTES``) and
``validate_credential(obj)`` return a :class:`CredentialInfo` or raise
:class:`InvalidCredential` with a specific code and a reason:

* ``@context`` (VC DM 2.0 4.3): a list whose first entry is
  ``https://www.w3.org/ns/credentials/v2``; every other entry an absolute URL or an inline
  context object; no duplicates, no VC 1.1 context -> ``invalid_context``.
* ``type`` (4.5) includes ``VerifiableCredential``; ``id`` (4.4), when present, a URL.
* ``issuer`` (4.7): a DID, or an object whose ``id`` is a DID.
* ``credentialSubject`` (4.8): one object whose ``id`` is the subject's DID.
* ``validFrom`` / ``validUntil`` (4.9): XML dateTimeStamps (time zone required),
  ``validFrom <= validUntil`` -> ``invalid_datetime``.
* ``credentialSchema`` (4.11): an object or a list of objects ``{id: URL, type: JsonSchema}``.
* ``credentialStatus`` (4.10, Bitstring Status List 2.1): an object or a list of at most
  two ``BitstringStatusListEntry`` objects, ``statusPurpose`` ``revocation`` or
  ``suspension``, ``statusListIndex`` a decimal string, ``statusListCredential`` a URL;
  two entries share one index -> ``invalid_status_entry``.
* size: ``MAX_CREDENTIAL_BYTES`` (64 KiB) of JSON -> ``credential_too_large``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from qos_identity.credentials.errors import InvalidCredential
from qos_identity.credentials.jcs import NotJson, canonicalize, loads

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
VC_TYPE = "VerifiableCredential"
VP_TYPE = "VerifiablePresentation"
STATUS_ENTRY = "BitstringStatusListEntry"
SCHEMA_TYPE = "JsonSchema"
PURPOSES = ("revocation", "suspension")
MAX_CREDENTIAL_BYTES = 64 * 1024
MAX_TYPES = 8
MAX_TYPE_CHARS = 128
MAX_CONTEXTS = 16
MAX_URL = 2048
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f\"<>\\^`{|}]+")
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_INDEX = re.compile(r"0|[1-9][0-9]{0,17}")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class StatusEntry:
    purpose: str
    index: int
    list_credential: str


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    id: str | None
    types: tuple[str, ...]
    issuer: str
    subject: str
    valid_from: int | None  # Unix seconds
    valid_until: int | None
    schemas: tuple[str, ...]
    status: tuple[StatusEntry, ...]

    @property
    def status_index(self) -> int | None:
        return self.status[0].index if self.status else None


def _bad(msg: str, code: str = "invalid_credential") -> InvalidCredential:
    return InvalidCredential(msg, code=code)


def is_url(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_URL and bool(_URL.fullmatch(value))


def is_did(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 256 and bool(_DID.fullmatch(value))


def parse_datetime(value: object, what: str) -> int:
    """An XML dateTimeStamp -> Unix seconds (floor); ``invalid_datetime`` otherwise."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise _bad(f"{what} {value!r} is not an XML dateTimeStamp (e.g. 2026-01-01T00:00:00Z)",
                   "invalid_datetime")  # fmt: skip
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad(f"{what} {value!r}: {exc}", "invalid_datetime") from exc
    return (t - _EPOCH) // dt.timedelta(seconds=1)


def check_contexts(ctx: object, first: str = VC_V2) -> None:
    """JSON-LD ``@context`` checks of VC DM 2.0 4.3 (``invalid_context``)."""
    if not isinstance(ctx, list) or not ctx:
        raise _bad("@context must be a non-empty list starting with " + first, "invalid_context")
    if ctx[0] != first:
        raise _bad(f"the first @context entry must be {first}, got {ctx[0]!r}", "invalid_context")
    if len(ctx) > MAX_CONTEXTS:
        raise _bad(f"more than {MAX_CONTEXTS} @context entries", "invalid_context")
    seen: set[str] = set()
    for i, entry in enumerate(ctx):
        if isinstance(entry, str):
            if not is_url(entry):
                raise _bad(f"@context[{i}] {entry!r} is not an absolute URL", "invalid_context")
            if entry == VC_V1:
                raise _bad("the VC 1.1 context cannot be mixed with VC 2.0", "invalid_context")
            if entry in seen:
                raise _bad(f"@context lists {entry} twice", "invalid_context")
            seen.add(entry)
        elif isinstance(entry, dict):
            for term, definition in entry.items():
                if not term:
                    raise _bad(f"@context[{i}] defines an empty term", "invalid_context")
                if not (definition is None or isinstance(definition, str | dict | bool)):
                    raise _bad(
                        f"@context[{i}] term {term!r} must map to an IRI, an object or null",
                        "invalid_context",
                    )
        else:
            raise _bad(
                f"@context[{i}] must be a URL or an inline context object, got "
                f"{type(entry).__name__}",
                "invalid_context",
            )


def _types(value: object, required: str) -> tuple[str, ...]:
    types = [value] if isinstance(value, str) else value
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        raise _bad("type must be a string or a list of strings")
    if required not in types:
        raise _bad(f"type must include {required}")
    if len(set(types)) != len(types) or len(types) > MAX_TYPES:
        raise _bad(f"type lists distinct values, at most {MAX_TYPES}")
    if any(len(t) > MAX_TYPE_CHARS or "\x00" in t for t in types):
        raise _bad(f"a type is at most {MAX_TYPE_CHARS} characters, without NUL")
    return tuple(types)


def _objects(value: object, what: str) -> list[dict[str, Any]]:
    items: list[Any] = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(x, dict) for x in items):
        raise _bad(f"{what} must be an object or a non-empty list of objects")
    return items


def _status(value: object) -> tuple[StatusEntry, ...]:
    items: list[Any] = value if isinstance(value, list) else [value]
    if not items or len(items) > 2 or not all(isinstance(x, dict) for x in items):
        raise _bad("credentialStatus is one object or a list of at most two",
                   "invalid_status_entry")  # fmt: skip
    out = []
    for e in items:
        if e.get("type") != STATUS_ENTRY:
            raise _bad(f"credentialStatus type must be {STATUS_ENTRY}", "invalid_status_entry")
        if e.get("statusPurpose") not in PURPOSES:
            raise _bad(f"statusPurpose must be one of {list(PURPOSES)}", "invalid_status_entry")
        idx = e.get("statusListIndex")
        if not isinstance(idx, str) or not _INDEX.fullmatch(idx):
            raise _bad("statusListIndex must be a decimal string such as \"94567\"",
                       "invalid_status_entry")  # fmt: skip
        if not is_url(e.get("statusListCredential")):
            raise _bad("statusListCredential must be a URL", "invalid_status_entry")
        if "id" in e and not is_url(e["id"]):
            raise _bad("credentialStatus id must be a URL", "invalid_status_entry")
        out.append(StatusEntry(e["statusPurpose"], int(idx), e["statusListCredential"]))
    if len(out) == 2 and (out[0].purpose == out[1].purpose or out[0].index != out[1].index):
        raise _bad("two credentialStatus entries need different purposes and one index",
                   "invalid_status_entry")  # fmt: skip
    return tuple(out)


def validate_credential(obj: object) -> CredentialInfo:
    if not isinstance(obj, dict):
        raise _bad("a credential must be a JSON object")
    try:
        size = len(canonicalize(obj))
    except NotJson as exc:
        raise _bad(f"the credential is not JSON: {exc.message}") from exc
    if size > MAX_CREDENTIAL_BYTES:
        raise _bad(f"the credential is {size} bytes, the limit is {MAX_CREDENTIAL_BYTES}",
                   "credential_too_large")  # fmt: skip
    check_contexts(obj.get("@context"))
    types = _types(obj.get("type"), VC_TYPE)
    cid = obj.get("id")
    if cid is not None and not is_url(cid):
        raise _bad("id must be a URL")
    issuer = obj.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    if not is_did(issuer):
        raise _bad("issuer must be a DID or an object whose id is a DID")
    subject = obj.get("credentialSubject")
    if not isinstance(subject, dict):
        raise _bad("credentialSubject must be one object")
    if not is_did(subject.get("id")):
        raise _bad("credentialSubject.id must be the subject's DID")
    vf = parse_datetime(obj["validFrom"], "validFrom") if "validFrom" in obj else None
    vu = parse_datetime(obj["validUntil"], "validUntil") if "validUntil" in obj else None
    if vf is not None and vu is not None and vu < vf:
        raise _bad("validUntil is before validFrom", "invalid_datetime")
    schemas: list[str] = []
    if "credentialSchema" in obj:
        for s in _objects(obj["credentialSchema"], "credentialSchema"):
            if s.get("type") != SCHEMA_TYPE or not is_url(s.get("id")):
                raise _bad(f"credentialSchema entries are {{id: URL, type: {SCHEMA_TYPE}}}")
            schemas.append(s["id"])
    status = _status(obj["credentialStatus"]) if "credentialStatus" in obj else ()
    if "proof" in obj and not isinstance(obj["proof"], dict | list):
        raise _bad("proof must be an object")
    return CredentialInfo(
        cid if isinstance(cid, str) else None, types, str(issuer), str(subject["id"]),
        vf, vu, tuple(schemas), status,
    )  # fmt: skip


def parse_credential(raw: bytes | str) -> tuple[dict[str, Any], CredentialInfo]:
    """Strict JSON (size checked before parsing) -> (object, info)."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_CREDENTIAL_BYTES:
        raise _bad(f"the credential is {size} bytes, the limit is {MAX_CREDENTIAL_BYTES}",
                   "credential_too_large")  # fmt: skip
    obj = loads(raw)
    return obj, validate_credential(obj)
