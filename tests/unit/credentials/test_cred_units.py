"""Model, contexts, size limit, JSON Schema subset, encryption and status list encoding."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from qos_chain.sign import public_key_of
from qos_identity import client as idc
from qos_identity.credentials.crypto_box import (
    open_envelope,
    seal,
    x25519_private_from_ed25519_seed,
    x25519_private_from_seed,
    x25519_public_from_private,
)
from qos_identity.credentials.errors import EnvelopeError, InvalidCredential, InvalidSchema
from qos_identity.credentials.model import (
    MAX_CREDENTIAL_BYTES,
    parse_credential,
    validate_credential,
)
from qos_identity.credentials.schema import check_schema, validate
from qos_identity.credentials.state import LIST_BITS
from qos_identity.credentials.status_list import (
    bit_at,
    decode_list,
    encode_list,
    parse_status_list_url,
    status_entries,
    status_list_url,
)
from qos_identity.didkey import did_key_document, did_key_of

ISSUER = "did:qos:8c8KU6Bsw6yDdbfr8E2r79"
SUBJECT = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
GOOD: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/ctx/v1"],
    "id": "urn:uuid:1",
    "type": ["VerifiableCredential", "EmploymentCredential"],
    "issuer": {"id": ISSUER, "name": "ACME"},
    "validFrom": "2026-01-01T00:00:00Z",
    "validUntil": "2027-01-01T00:00:00+01:00",
    "credentialSubject": {"id": SUBJECT, "role": "engineer"},
    "credentialSchema": {"id": "urn:qos:schema:" + "ab" * 32, "type": "JsonSchema"},
    "credentialStatus": status_entries("https://n.example", ISSUER, 7),
}


def test_valid_credential() -> None:
    info = validate_credential(GOOD)
    assert info.issuer == ISSUER
    assert info.subject == SUBJECT
    assert info.valid_from == 1_767_225_600
    assert info.valid_until == 1_767_225_600 + 365 * 86400 - 3600
    assert info.status_index == 7
    assert [e.purpose for e in info.status] == ["revocation", "suspension"]


def _with(**changes: Any) -> dict[str, Any]:
    c = copy.deepcopy(GOOD)
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


BAD: list[tuple[dict[str, Any], str, str]] = [
    (_with(**{"@context": "https://www.w3.org/ns/credentials/v2"}), "invalid_context", "list"),
    (_with(**{"@context": ["https://example.org/v1"]}), "invalid_context", "first"),
    (_with(**{"@context": ["https://www.w3.org/ns/credentials/v2", 42]}), "invalid_context",
     "inline"),
    (_with(**{"@context": ["https://www.w3.org/ns/credentials/v2", "not a url"]}),
     "invalid_context", "URL"),
    (_with(**{"@context": ["https://www.w3.org/ns/credentials/v2",
                           "https://www.w3.org/2018/credentials/v1"]}), "invalid_context", "1.1"),
    (_with(**{"@context": ["https://www.w3.org/ns/credentials/v2", {"x": 5}]}),
     "invalid_context", "term"),
    (_with(**{"@context": ["https://www.w3.org/ns/credentials/v2"] * 2}), "invalid_context",
     "twice"),
    (_with(type=["EmploymentCredential"]), "invalid_credential", "VerifiableCredential"),
    (_with(issuer="https://acme.example"), "invalid_credential", "issuer"),
    (_with(issuer=None), "invalid_credential", "issuer"),
    (_with(credentialSubject={"role": "x"}), "invalid_credential", "credentialSubject.id"),
    (_with(validFrom="2026-01-01"), "invalid_datetime", "dateTimeStamp"),
    (_with(validFrom="2026-01-01T00:00:00"), "invalid_datetime", "dateTimeStamp"),
    (_with(validUntil="2025-01-01T00:00:00Z"), "invalid_datetime", "before"),
    (_with(credentialSchema={"id": "urn:x", "type": "ShaclSchema"}), "invalid_credential",
     "JsonSchema"),
    (_with(credentialStatus={"type": "StatusList2021Entry"}), "invalid_status_entry", "type"),
    (_with(credentialStatus={**GOOD["credentialStatus"][0], "statusListIndex": 7}),
     "invalid_status_entry", "decimal string"),
    (_with(credentialStatus={**GOOD["credentialStatus"][0], "statusPurpose": "refresh"}),
     "invalid_status_entry", "statusPurpose"),
    (_with(id="not a url"), "invalid_credential", "URL"),
]  # fmt: skip


@pytest.mark.parametrize(("cred", "code", "reason"), BAD)
def test_malformed_credentials(cred: dict[str, Any], code: str, reason: str) -> None:
    with pytest.raises(InvalidCredential) as info:
        validate_credential(cred)
    assert info.value.code == code
    assert reason in info.value.message


def test_oversize_refused() -> None:
    big = _with(credentialSubject={"id": SUBJECT, "blob": "x" * MAX_CREDENTIAL_BYTES})
    with pytest.raises(InvalidCredential) as info:
        validate_credential(big)
    assert info.value.code == "credential_too_large"
    with pytest.raises(InvalidCredential) as info:
        parse_credential(b" " * (MAX_CREDENTIAL_BYTES + 1))
    assert info.value.code == "credential_too_large"
    with pytest.raises(InvalidCredential):
        parse_credential(b'{"a": 1, "a": 2}')


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "age"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[A-Z]"},
        "age": {"type": "integer", "minimum": 18, "exclusiveMaximum": 130},
        "kind": {"enum": ["a", "b"]},
        "v": {"const": 1},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "opt": {"type": ["string", "null"]},
    },
}


def test_schema_subset() -> None:
    check_schema(SCHEMA)
    assert validate({"name": "Ann", "age": 30, "tags": ["x"], "opt": None, "v": 1}, SCHEMA) == []
    errs = validate(
        {"name": "ann", "age": 17.5, "kind": "c", "v": True, "tags": ["x", 1, "z"], "x": 1},
        SCHEMA,
    )
    text = "\n".join(errs)
    for expected in ("/name: does not match", "/age: expected integer", "/kind: must be one",
                     "/v: must equal", "/tags: more than 2", "/tags/1: expected string",
                     "property 'x' is not allowed"):  # fmt: skip
        assert expected in text, (expected, text)
    assert validate({}, SCHEMA) == [
        "/: missing required property 'name'",
        "/: missing required property 'age'",
    ]
    assert validate({"name": "Abcdef", "age": 130}, SCHEMA) == [
        "/name: longer than 5 characters",
        "/age: not less than 130",
    ]


@pytest.mark.parametrize(
    "schema",
    [{"oneOf": []}, {"type": "float"}, {"pattern": "("}, {"minLength": -1}, {"required": "x"},
     {"properties": {"a": 5}}, [], {"maximum": "9"}],
)  # fmt: skip
def test_unsupported_schemas_refused(schema: Any) -> None:
    with pytest.raises(InvalidSchema):
        check_schema(schema)


def test_encryption_round_trip_to_did_qos_key_agreement() -> None:
    sk = x25519_private_from_seed(b"\x05" * 32)
    did, _ = idc.create_did("c", b"\x01" * 32, b"\x02" * 32,
                            key_agreement=x25519_public_from_private(sk))  # fmt: skip
    doc = idc.initial_document(did, public_key_of(b"\x01" * 32),
                               key_agreement=x25519_public_from_private(sk))  # fmt: skip
    env = seal(GOOD, doc)
    assert env["kid"] == f"{did}#key-agreement-1"
    assert "engineer" not in str(env)
    assert open_envelope(env, sk) == GOOD
    with pytest.raises(EnvelopeError, match="does not open"):
        open_envelope(env, x25519_private_from_seed(b"\x06" * 32))
    tampered = {**env, "ciphertext": env["ciphertext"][:-4] + "AAAA"}
    with pytest.raises(EnvelopeError):
        open_envelope(tampered, sk)
    with pytest.raises(EnvelopeError, match="no X25519"):
        seal(GOOD, idc.initial_document(did, public_key_of(b"\x01" * 32)))


def test_encryption_to_did_key() -> None:
    seed = b"\x07" * 32
    doc = did_key_document(did_key_of(public_key_of(seed)))
    env = seal(GOOD, doc)
    assert open_envelope(env, x25519_private_from_ed25519_seed(seed)) == GOOD


def test_status_list_encoding() -> None:
    bits = bytearray(LIST_BITS // 8)
    bits[0] = 0x80  # index 0 is the most significant bit of byte 0
    bits[-1] = 0x01
    enc = encode_list(bytes(bits))
    assert enc.startswith("u")
    assert "=" not in enc
    assert len(enc) < 200  # GZIP of a sparse 16 KiB list
    dec = decode_list(enc)
    assert dec == bytes(bits)
    assert bit_at(dec, 0)
    assert not bit_at(dec, 1)
    assert bit_at(dec, LIST_BITS - 1)
    with pytest.raises(InvalidCredential):
        decode_list("zabc")
    url = status_list_url("https://n.example/", ISSUER, "suspension", 3)
    assert url == f"https://n.example/credentials/status/{ISSUER}/suspension/3"
    assert parse_status_list_url(url) == (ISSUER, "suspension", 3)
    assert parse_status_list_url("https://n.example/other") is None
