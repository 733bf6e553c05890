"""Multikey, did:key, documents and method rules without a node."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qos_app.errors import CODES, NAMES
from qos_chain import codec
from qos_chain.sign import public_key_of
from qos_identity import client as c
from qos_identity.didkey import did_key_document
from qos_identity.document import (
    MAX_DOCUMENT_BYTES,
    DidDocument,
    Service,
    document_from_json,
    validate_document,
)
from qos_identity.errors import IdentityError, MultikeyError, identity_codes
from qos_identity.method import (
    MsgCreateDid,
    derive_did,
    identifier_commitment,
    recovery_commitment_of,
    validate_op,
    verify_disclosure,
)
from qos_identity.multikey import KeyType, b58decode, b58encode, decode_multikey, encode_multikey
from qos_identity.resolver import Resolver
from qos_node.testing import make_test_node

VECTOR_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
VECTOR_X25519 = "z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p"  # from the did:key spec
SEED = b"\x01" * 32


@given(st.binary(max_size=64))
def test_base58_roundtrip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


def test_multikey_prefixes_and_errors() -> None:
    assert encode_multikey(KeyType.ED25519, b"\x00" * 32).startswith("z6Mk")
    assert encode_multikey(KeyType.X25519, b"\x00" * 32).startswith("z6LS")
    bad = {
        "": "empty",
        "f6Mk": "prefix 'f'",
        "z6Mk0": "not base58btc",
        "z" + b58encode(b"\xe7\x01" + b"\x02" * 33): "multicodec prefix e701",
        "z" + b58encode(b"\xed\x01" + b"\x02" * 31): "31 bytes",
    }
    for text, why in bad.items():
        with pytest.raises(MultikeyError, match=why):
            decode_multikey(text)


def test_did_key_spec_vector() -> None:
    doc = did_key_document(VECTOR_DID).to_json()
    mb = VECTOR_DID.removeprefix("did:key:")
    assert doc["verificationMethod"][0] == {
        "id": f"{VECTOR_DID}#{mb}",
        "type": "Multikey",
        "controller": VECTOR_DID,
        "publicKeyMultibase": mb,
    }
    assert doc["keyAgreement"] == [f"{VECTOR_DID}#{VECTOR_X25519}"]
    for rel in ("authentication", "assertionMethod", "capabilityInvocation"):
        assert doc[rel] == [f"{VECTOR_DID}#{mb}"]
    res = Resolver(lambda _k: None).resolve(VECTOR_DID)
    assert res.error is None
    assert res.to_json()["didDocument"] == doc
    bad = Resolver(lambda _k: None).resolve("did:key:z" + b58encode(b"\xe7\x01" + b"\x02" * 33))
    assert bad.error == "invalidPublicKeyType"


def test_did_is_self_certifying() -> None:
    did, op = c.create_did("qos-test", SEED, b"\x02" * 32)
    assert did == derive_did(
        public_key_of(SEED), recovery_commitment_of(public_key_of(b"\x02" * 32))
    )
    validate_op(op)
    forged = replace(op, update_key=public_key_of(b"\x03" * 32))
    with pytest.raises(IdentityError) as err:
        validate_op(forged)
    assert err.value.code == "invalid_operation"
    assert codec.decode(MsgCreateDid, codec.encode(op)) == op


def _doc() -> DidDocument:
    return c.create_did("qos-test", SEED, b"\x02" * 32)[1].document


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: replace(d, id="did:qos:short"), "invalid_document"),
        (lambda d: replace(d, controller=("did:web:x",)), "invalid_document"),
        (lambda d: replace(d, also_known_as=("not a uri",)), "invalid_document"),
        (lambda d: replace(d, controller=("did:qos:1111111111111111",) * 2), "invalid_document"),
        (lambda d: replace(d, authentication=(d.id + "#nope",)), "invalid_relationship"),
        (lambda d: replace(d, authentication=d.authentication * 2), "invalid_relationship"),
        (
            lambda d: replace(d, verification_method=d.verification_method * 2),
            "duplicate_key_id",
        ),
        (
            lambda d: replace(
                d, verification_method=(replace(d.verification_method[0], type="X"),)
            ),
            "unknown_method_type",
        ),
        (lambda d: replace(d, key_agreement=d.authentication), "invalid_relationship"),
        (
            lambda d: replace(d, service=(Service(d.id + "#s", "T", ("a", "b"), False),)),
            "invalid_service",
        ),
        (
            lambda d: replace(d, service=(Service(d.id + "#key-1", "T", ("https://x",)),)),
            "duplicate_service_id",
        ),
        (
            lambda d: replace(d, controller=("did:qos:1111111111111111",) * 9),
            "too_many_controllers",
        ),
        (
            lambda d: replace(d, also_known_as=tuple(f"https://{i}" for i in range(9))),
            "too_many_aliases",
        ),
    ],
)
def test_document_rules(mutate: object, code: str) -> None:
    with pytest.raises(IdentityError) as err:
        validate_document(mutate(_doc()))  # type: ignore[operator]
    assert err.value.code == code


def test_document_size_limit_and_json_roundtrip() -> None:
    doc = _doc()
    validate_document(doc)
    assert document_from_json(json.loads(json.dumps(doc.to_json()))) == doc
    svcs = tuple(Service(f"{doc.id}#s{i}", "T", ("https://x/" + "a" * 500,)) for i in range(16))
    with pytest.raises(IdentityError) as err:
        validate_document(replace(doc, service=svcs))
    assert err.value.code == "document_too_large"
    assert MAX_DOCUMENT_BYTES == 8192
    with pytest.raises(IdentityError):
        document_from_json({"id": doc.id, "authentication": [{"embedded": 1}]})
    with pytest.raises(IdentityError):
        document_from_json({"id": doc.id, "publicKey": []})


def test_disclosure() -> None:
    salt = b"\x07" * 32
    com = identifier_commitment(salt, "platform.example", "user-42")
    assert verify_disclosure(com, salt, "platform.example", "user-42")
    assert not verify_disclosure(com, salt, "platform.exampl", "euser-42")
    assert not verify_disclosure(com, b"short", "platform.example", "user-42")
    assert not verify_disclosure(com, salt, "Bad\x00Scheme", "user-42")


def test_codes_are_unique_and_in_range() -> None:
    codes = identity_codes()
    assert len(set(codes.values())) == len(codes)
    assert all(100 <= v <= 199 for v in codes.values())


def test_identity_codes_are_registered_by_the_app(tmp_path: Path) -> None:
    make_test_node(tmp_path).bundle.db.close()  # wiring builds QosApp with IdentityModule
    for name, number in identity_codes().items():
        assert CODES[name] == number
        assert NAMES[number] == name
