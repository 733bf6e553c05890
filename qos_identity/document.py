"""W3C DID Core 1.0 documents: frozen values, validation, JSON-LD.

A :class:`DidDocument` is the on-chain form (canonical ``qos_chain.codec`` encoding, tags
200-202) of the JSON-LD document that resolution returns (``to_json``). Verification
methods are ``Multikey`` (ed25519 ``z6Mk...`` or x25519 ``z6LS...``); verification
relationships reference methods by id (embedded methods are not supported, so every key
has exactly one definition). Ids of methods and services are absolute DID URLs
``<did>#<fragment>``; ``from_json`` also accepts relative references (``#key-1``).

Limits (``validate_document``; DID Core sections cited where a rule comes from the spec):

=================================  =====  ========================
what                               limit  code when exceeded
=================================  =====  ========================
verification methods               16     ``too_many_keys``
services                           16     ``too_many_services``
controllers                        8      ``too_many_controllers``
alsoKnownAs                        8      ``too_many_aliases``
canonical JSON size (bytes)        8192   ``document_too_large``
endpoints per service              8      ``invalid_service``
URI length (alias, endpoint)       512    ``invalid_document`` / ``invalid_service``
fragment ``[A-Za-z0-9._~-]``       64     ``invalid_document``
=================================  =====  ========================

Other refusals: a method type other than ``Multikey`` (``unknown_method_type``), a key
that is not an ed25519/x25519 Multikey (``invalid_public_key``), two methods with one id
(``duplicate_key_id``, DID Core 5.2), two services with one id (``duplicate_service_id``,
5.4), a relationship that names a missing method, names one twice, puts an x25519 key
anywhere but ``keyAgreement`` or an ed25519 key in ``keyAgreement``
(``invalid_relationship``).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any

from qos_chain import codec
from qos_identity.errors import InvalidDid, InvalidDocument, MultikeyError
from qos_identity.multikey import B58_ALPHABET, KeyType, Multikey, b58decode, decode_multikey

CONTEXT = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")
MULTIKEY = "Multikey"

MAX_KEYS = 16
MAX_SERVICES = 16
MAX_CONTROLLERS = 8
MAX_ALSO_KNOWN_AS = 8
MAX_DOCUMENT_BYTES = 8 * 1024
MAX_ENDPOINTS = 8
MAX_URI = 512
MAX_FRAGMENT = 64
MAX_SERVICE_TYPE = 64

DID_QOS_PREFIX = "did:qos:"
DID_KEY_PREFIX = "did:key:"
METHOD_ID_BYTES = 16

_FRAGMENT = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f\"<>\\^`{|}]+")
_SERVICE_TYPE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_B58 = re.compile(f"[{B58_ALPHABET}]+")


class Relationship(enum.IntEnum):
    """Verification relationships (DID Core 5.3); values are the wire encoding."""

    AUTHENTICATION = 1
    ASSERTION_METHOD = 2
    KEY_AGREEMENT = 3
    CAPABILITY_INVOCATION = 4
    CAPABILITY_DELEGATION = 5

    @property
    def json_name(self) -> str:
        return _REL_NAMES[self]


_REL_NAMES = {
    Relationship.AUTHENTICATION: "authentication",
    Relationship.ASSERTION_METHOD: "assertionMethod",
    Relationship.KEY_AGREEMENT: "keyAgreement",
    Relationship.CAPABILITY_INVOCATION: "capabilityInvocation",
    Relationship.CAPABILITY_DELEGATION: "capabilityDelegation",
}
_REL_BY_NAME = {v: k for k, v in _REL_NAMES.items()}


@codec.register(200)
@dataclass(frozen=True, slots=True)
class VerificationMethod:
    id: str
    type: str
    controller: str
    public_key_multibase: str

    def multikey(self) -> Multikey:
        return decode_multikey(self.public_key_multibase)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "controller": self.controller,
            "publicKeyMultibase": self.public_key_multibase,
        }


@codec.register(201)
@dataclass(frozen=True, slots=True)
class Service:
    """``endpoints`` holds one URI (``as_list`` False: a JSON string) or several (a list)."""

    id: str
    type: str
    endpoints: tuple[str, ...]
    as_list: bool = False

    def to_json(self) -> dict[str, Any]:
        endpoint: Any = list(self.endpoints) if self.as_list else self.endpoints[0]
        return {"id": self.id, "type": self.type, "serviceEndpoint": endpoint}


@codec.register(202)
@dataclass(frozen=True, slots=True)
class DidDocument:
    id: str
    controller: tuple[str, ...] = ()
    also_known_as: tuple[str, ...] = ()
    verification_method: tuple[VerificationMethod, ...] = ()
    authentication: tuple[str, ...] = ()
    assertion_method: tuple[str, ...] = ()
    key_agreement: tuple[str, ...] = ()
    capability_invocation: tuple[str, ...] = ()
    capability_delegation: tuple[str, ...] = ()
    service: tuple[Service, ...] = field(default=())

    def relationship(self, rel: Relationship) -> tuple[str, ...]:
        return {
            Relationship.AUTHENTICATION: self.authentication,
            Relationship.ASSERTION_METHOD: self.assertion_method,
            Relationship.KEY_AGREEMENT: self.key_agreement,
            Relationship.CAPABILITY_INVOCATION: self.capability_invocation,
            Relationship.CAPABILITY_DELEGATION: self.capability_delegation,
        }[rel]

    def method(self, method_id: str) -> VerificationMethod | None:
        for m in self.verification_method:
            if m.id == method_id:
                return m
        return None

    def to_json(self, *, with_context: bool = True) -> dict[str, Any]:
        """The JSON-LD representation (``application/did+ld+json``); empty sets omitted."""
        out: dict[str, Any] = {}
        if with_context:
            out["@context"] = list(CONTEXT)
        out["id"] = self.id
        if self.controller:
            out["controller"] = list(self.controller)
        if self.also_known_as:
            out["alsoKnownAs"] = list(self.also_known_as)
        if self.verification_method:
            out["verificationMethod"] = [m.to_json() for m in self.verification_method]
        for rel in Relationship:
            refs = self.relationship(rel)
            if refs:
                out[rel.json_name] = list(refs)
        if self.service:
            out["service"] = [s.to_json() for s in self.service]
        return out


def with_relationship(doc: DidDocument, rel: Relationship, refs: tuple[str, ...]) -> DidDocument:
    name = {
        Relationship.AUTHENTICATION: "authentication",
        Relationship.ASSERTION_METHOD: "assertion_method",
        Relationship.KEY_AGREEMENT: "key_agreement",
        Relationship.CAPABILITY_INVOCATION: "capability_invocation",
        Relationship.CAPABILITY_DELEGATION: "capability_delegation",
    }[rel]
    values = {f: getattr(doc, f) for f in _FIELDS}
    values[name] = refs
    return DidDocument(**values)


_FIELDS = (
    "id",
    "controller",
    "also_known_as",
    "verification_method",
    "authentication",
    "assertion_method",
    "key_agreement",
    "capability_invocation",
    "capability_delegation",
    "service",
)


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes the size limit is measured on."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def document_size(doc: DidDocument) -> int:
    return len(canonical_json(doc.to_json()))


# --------------------------------------------------------------------------- DID syntax


def check_did_qos(did: str) -> None:
    """``did:qos:`` + base58btc of exactly 16 bytes, canonical (see docs/did-qos.md)."""
    if not isinstance(did, str) or not did.startswith(DID_QOS_PREFIX):
        raise InvalidDid(f"{did!r} is not a did:qos identifier")
    msid = did[len(DID_QOS_PREFIX) :]
    if not msid or len(msid) > 32 or not _B58.fullmatch(msid):
        raise InvalidDid(f"{did!r}: the method-specific id must be base58btc")
    try:
        raw = b58decode(msid)
    except MultikeyError as exc:  # pragma: no cover - the regex already checked it
        raise InvalidDid(exc.message) from exc
    if len(raw) != METHOD_ID_BYTES:
        raise InvalidDid(f"{did!r}: the method-specific id must encode {METHOD_ID_BYTES} bytes")


def check_did_key(did: str) -> Multikey:
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise InvalidDid(f"{did!r} is not a did:key identifier")
    try:
        return decode_multikey(did[len(DID_KEY_PREFIX) :])
    except MultikeyError as exc:
        raise InvalidDid(f"{did!r}: {exc.message}") from exc


def check_controller_did(did: str) -> None:
    """Controllers must be resolvable here: ``did:qos`` or an ed25519 ``did:key``."""
    if isinstance(did, str) and did.startswith(DID_KEY_PREFIX):
        if check_did_key(did).key_type is not KeyType.ED25519:
            raise InvalidDid(f"{did!r}: a controller did:key must be an ed25519 key")
        return
    check_did_qos(did)


def split_did_url(url: str) -> tuple[str, str]:
    """``did#fragment`` -> (did, fragment); refuses anything else."""
    did, sep, frag = url.partition("#")
    if not sep or not _FRAGMENT.fullmatch(frag):
        raise InvalidDocument(f"{url!r} is not a DID URL with a fragment [A-Za-z0-9._~-]{{1,64}}")
    return did, frag


def _check_uri(value: str, what: str, exc: type[InvalidDocument] = InvalidDocument) -> None:
    if not isinstance(value, str) or len(value) > MAX_URI or not _URI.fullmatch(value):
        raise exc(f"{what} {value!r} is not an absolute URI of at most {MAX_URI} characters")


def _local_id(doc_id: str, url: str, what: str) -> None:
    did, _ = split_did_url(url)
    if did != doc_id:
        raise InvalidDocument(f"{what} id {url!r} must start with {doc_id}#")


# --------------------------------------------------------------------------- validation


def validate_document(doc: DidDocument) -> None:
    """Every rule of the module docstring; raises ``InvalidDocument`` with a specific code."""
    try:
        check_did_qos(doc.id)
    except InvalidDid as exc:
        raise InvalidDocument(f"document id: {exc.message}") from exc
    if len(doc.verification_method) > MAX_KEYS:
        raise InvalidDocument(
            f"{len(doc.verification_method)} verification methods exceed {MAX_KEYS}",
            code="too_many_keys",
        )
    if len(doc.service) > MAX_SERVICES:
        raise InvalidDocument(
            f"{len(doc.service)} services exceed {MAX_SERVICES}", code="too_many_services"
        )
    if len(doc.controller) > MAX_CONTROLLERS:
        raise InvalidDocument(
            f"{len(doc.controller)} controllers exceed {MAX_CONTROLLERS}",
            code="too_many_controllers",
        )
    if len(doc.also_known_as) > MAX_ALSO_KNOWN_AS:
        raise InvalidDocument(
            f"{len(doc.also_known_as)} alsoKnownAs entries exceed {MAX_ALSO_KNOWN_AS}",
            code="too_many_aliases",
        )
    if len(set(doc.controller)) != len(doc.controller):
        raise InvalidDocument("controller lists a DID twice")
    for c in doc.controller:
        try:
            check_controller_did(c)
        except InvalidDid as exc:
            raise InvalidDocument(f"controller: {exc.message}") from exc
    if len(set(doc.also_known_as)) != len(doc.also_known_as):
        raise InvalidDocument("alsoKnownAs lists a URI twice")
    for a in doc.also_known_as:
        _check_uri(a, "alsoKnownAs")

    key_types: dict[str, KeyType] = {}
    for m in doc.verification_method:
        _local_id(doc.id, m.id, "verification method")
        if m.id in key_types:
            raise InvalidDocument(
                f"verification method id {m.id} is used twice", code="duplicate_key_id"
            )
        if m.type != MULTIKEY:
            raise InvalidDocument(
                f"verification method type {m.type!r} is not supported (only {MULTIKEY})",
                code="unknown_method_type",
            )
        try:
            check_controller_did(m.controller)
        except InvalidDid as exc:
            raise InvalidDocument(f"{m.id} controller: {exc.message}") from exc
        try:
            key_types[m.id] = m.multikey().key_type
        except MultikeyError as exc:
            raise InvalidDocument(f"{m.id}: {exc.message}", code="invalid_public_key") from exc

    for rel in Relationship:
        refs = doc.relationship(rel)
        if len(set(refs)) != len(refs):
            raise InvalidDocument(
                f"{rel.json_name} references a method twice", code="invalid_relationship"
            )
        for ref in refs:
            kt = key_types.get(ref)
            if kt is None:
                raise InvalidDocument(
                    f"{rel.json_name} references {ref!r}, which is not a verification method",
                    code="invalid_relationship",
                )
            if (kt is KeyType.X25519) != (rel is Relationship.KEY_AGREEMENT):
                raise InvalidDocument(
                    f"{rel.json_name} cannot use the {kt.value} key {ref}: x25519 keys are "
                    "for keyAgreement only, and keyAgreement takes x25519 keys only",
                    code="invalid_relationship",
                )

    seen = set(key_types)
    for s in doc.service:
        _local_id(doc.id, s.id, "service")
        if s.id in seen:
            raise InvalidDocument(f"service id {s.id} is used twice", code="duplicate_service_id")
        seen.add(s.id)
        if not isinstance(s.type, str) or not _SERVICE_TYPE.fullmatch(s.type):
            raise InvalidDocument(
                f"service type {s.type!r} must match [A-Za-z0-9._:/-]{{1,64}}",
                code="invalid_service",
            )
        if not 1 <= len(s.endpoints) <= MAX_ENDPOINTS or (not s.as_list and len(s.endpoints) > 1):
            raise InvalidDocument(
                f"service {s.id} needs one endpoint, or a list of 1..{MAX_ENDPOINTS}",
                code="invalid_service",
            )
        for e in s.endpoints:
            _check_uri(e, f"service {s.id} endpoint", _ServiceError)

    size = document_size(doc)
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(
            f"document is {size} bytes of canonical JSON, the limit is {MAX_DOCUMENT_BYTES}",
            code="document_too_large",
        )


class _ServiceError(InvalidDocument):
    code = "invalid_service"


# --------------------------------------------------------------------------- JSON input


def _str_list(obj: dict[str, Any], key: str, *, single_ok: bool = False) -> tuple[str, ...]:
    v = obj.get(key, [])
    if single_ok and isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidDocument(f"{key} must be a list of strings")
    return tuple(v)


def _absolute(doc_id: str, ref: str) -> str:
    return doc_id + ref if ref.startswith("#") else ref


def document_from_json(obj: Any) -> DidDocument:
    """Parse a JSON DID document (as ``to_json`` writes it) and validate it."""
    if not isinstance(obj, dict):
        raise InvalidDocument("a DID document must be a JSON object")
    known = {"@context", "id", "controller", "alsoKnownAs", "verificationMethod", "service"}
    known |= set(_REL_BY_NAME)
    unknown = sorted(set(obj) - known)
    if unknown:
        raise InvalidDocument(f"unsupported document properties: {unknown}")
    ctx = obj.get("@context", list(CONTEXT))
    if ctx != list(CONTEXT) and ctx != CONTEXT[0] and ctx != [CONTEXT[0]]:
        raise InvalidDocument(f"@context must be {list(CONTEXT)}")
    doc_id = obj.get("id")
    if not isinstance(doc_id, str):
        raise InvalidDocument("id must be a string")
    methods: list[VerificationMethod] = []
    raw_methods = obj.get("verificationMethod", [])
    if not isinstance(raw_methods, list):
        raise InvalidDocument("verificationMethod must be a list")
    for m in raw_methods:
        if not isinstance(m, dict) or set(m) != {"id", "type", "controller", "publicKeyMultibase"}:
            raise InvalidDocument(
                "a verification method has exactly id, type, controller, publicKeyMultibase"
            )
        if not all(isinstance(v, str) for v in m.values()):
            raise InvalidDocument("verification method properties must be strings")
        methods.append(
            VerificationMethod(
                _absolute(doc_id, m["id"]), m["type"], m["controller"], m["publicKeyMultibase"]
            )
        )
    rels: dict[Relationship, tuple[str, ...]] = {}
    for rel in Relationship:
        raw = obj.get(rel.json_name, [])
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise InvalidDocument(
                f"{rel.json_name} must list method ids (embedded methods are not supported)",
                code="invalid_relationship",
            )
        rels[rel] = tuple(_absolute(doc_id, r) for r in raw)
    services: list[Service] = []
    raw_services = obj.get("service", [])
    if not isinstance(raw_services, list):
        raise InvalidDocument("service must be a list")
    for s in raw_services:
        if not isinstance(s, dict) or set(s) != {"id", "type", "serviceEndpoint"}:
            raise InvalidDocument(
                "a service has exactly id, type, serviceEndpoint", code="invalid_service"
            )
        ep = s["serviceEndpoint"]
        as_list = isinstance(ep, list)
        eps = tuple(ep) if as_list else (ep,)
        if not isinstance(s["id"], str) or not all(isinstance(e, str) for e in eps):
            raise InvalidDocument(
                "service id and endpoints must be strings (endpoint maps are not supported)",
                code="invalid_service",
            )
        if not isinstance(s["type"], str):
            raise InvalidDocument("service type must be a string", code="invalid_service")
        services.append(Service(_absolute(doc_id, s["id"]), s["type"], eps, as_list))
    doc = DidDocument(
        id=doc_id,
        controller=_str_list(obj, "controller", single_ok=True),
        also_known_as=_str_list(obj, "alsoKnownAs"),
        verification_method=tuple(methods),
        authentication=rels[Relationship.AUTHENTICATION],
        assertion_method=rels[Relationship.ASSERTION_METHOD],
        key_agreement=rels[Relationship.KEY_AGREEMENT],
        capability_invocation=rels[Relationship.CAPABILITY_INVOCATION],
        capability_delegation=rels[Relationship.CAPABILITY_DELEGATION],
        service=tuple(services),
    )
    validate_document(doc)
    return doc


def relationship_by_name(name: str) -> Relationship:
    try:
        return _REL_BY_NAME[name]
    except KeyError:
        raise InvalidDocument(
            f"unknown verification relationship {name!r}", code="invalid_relationship"
        ) from None
