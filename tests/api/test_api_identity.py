"""GraphQL identity API: resolveDid, identity, identities, submitDidOperation."""

from __future__ import annotations

import base64

import pytest
from api_helpers import RECIPIENT, data, gql
from did_helpers import Dids, did_key, seed

from qos_api import identity as identity_api
from qos_chain.sign import public_key_of
from qos_identity import client as c
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

RESOLVE = """query($did: String!, $v: String, $t: String) {
  resolveDid(did: $did, versionId: $v, versionTime: $t) {
    didDocument
    didResolutionMetadata { contentType error errorMessage }
    didDocumentMetadata { created updated deactivated versionId nextVersionId }
    result
  }
}"""

IDENTITY = """query($did: String!) {
  identity(did: $did) {
    did document deactivated metadata { versionId created updated }
    history { versionId versionTime height operation deactivated sender document }
    controllers { did deactivated controllers { did } history { versionId } }
  }
}"""

IDENTITIES = """query($c: String!, $first: Int, $after: String) {
  identities(controller: $c, first: $first, after: $after) {
    edges { cursor node { did metadata { versionId } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

SUBMIT_DID = """mutation($tx: String!) {
  submitDidOperation(signedTx: $tx) {
    __typename
    ... on TransactionAccepted { hash }
    ... on TransactionRejected { code message }
  }
}"""

A_UPD, A_REC = seed(10), seed(11)
UNKNOWN = "did:qos:8c8KU6Bsw6yDdbfr8E2r79"


def error_codes(out: dict[str, object]) -> list[object]:
    errors = out.get("errors") or []
    assert isinstance(errors, list)
    return [e["extensions"]["code"] for e in errors]


@pytest.fixture
def dids(tnode: TestNode) -> Dids:
    return Dids(tnode)


async def test_resolve_did_current_and_past_versions(client, dids: Dids) -> None:  # type: ignore[no-untyped-def]
    did = dids.create(A_UPD, A_REC, services=[("hub", "LinkedDomains", "https://a.example")])
    r = (await data(client, RESOLVE, {"did": did}))["resolveDid"]
    assert r["didDocument"]["id"] == did
    assert r["didDocument"]["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert r["didResolutionMetadata"] == {
        "contentType": "application/did+ld+json",
        "error": None,
        "errorMessage": None,
    }
    meta = r["didDocumentMetadata"]
    assert meta["versionId"] == "1"
    assert meta["deactivated"] is False
    assert meta["updated"] is None
    assert meta["created"].endswith("Z")
    assert r["result"]["didDocument"] == r["didDocument"]

    dids.commit(c.update_op(dids.chain_id, did, "1", [c.remove_service(f"{did}#hub")], A_UPD))
    now = (await data(client, RESOLVE, {"did": did}))["resolveDid"]
    assert now["didDocumentMetadata"]["versionId"] == "2"
    assert "service" not in now["didDocument"]
    old = (await data(client, RESOLVE, {"did": did, "v": "1"}))["resolveDid"]
    assert old["didDocumentMetadata"]["versionId"] == "1"
    assert old["didDocumentMetadata"]["nextVersionId"] == "2"
    assert old["didDocument"]["service"][0]["id"] == f"{did}#hub"
    at = (await data(client, RESOLVE, {"did": did, "t": meta["created"]}))["resolveDid"]
    assert at["didDocumentMetadata"]["versionId"] == "1"


@pytest.mark.parametrize(
    ("did", "variables", "code"),
    [
        ("nope", {}, "invalidDid"),
        ("did:qos:0OIl", {}, "invalidDid"),
        ("did:web:example.com", {}, "methodNotSupported"),
        ("did:qos:8c8KU6Bsw6yDdbfr8E2r79", {}, "notFound"),
        (
            "did:qos:8c8KU6Bsw6yDdbfr8E2r79",
            {"v": "1", "t": "2026-01-01T00:00:00Z"},
            "invalidOptions",
        ),
    ],
)
async def test_resolve_did_errors_are_data(client, did: str, variables, code: str) -> None:  # type: ignore[no-untyped-def]
    r = (await data(client, RESOLVE, {"did": did, **variables}))["resolveDid"]
    assert r["didDocument"] is None
    assert r["didResolutionMetadata"]["error"] == code
    assert r["didResolutionMetadata"]["contentType"] is None
    assert r["result"]["didResolutionMetadata"]["error"] == code


async def test_resolve_did_key_locally(client) -> None:  # type: ignore[no-untyped-def]
    key = did_key(seed(40))
    r = (await data(client, RESOLVE, {"did": key}))["resolveDid"]
    assert r["didDocument"]["id"] == key
    assert r["didDocument"]["authentication"] == [f"{key}#{key.split(':')[2]}"]
    assert r["didResolutionMetadata"]["error"] is None


async def test_identity_history_and_controllers(client, dids: Dids) -> None:  # type: ignore[no-untyped-def]
    parent = dids.create(A_UPD, A_REC)
    key = did_key(seed(41))
    child = dids.create(seed(12), seed(13), controllers=[parent, key])
    new_pk = public_key_of(seed(14))
    dids.commit(c.rotate_op(dids.chain_id, child, "1", new_pk, seed(12)))

    ident = (await data(client, IDENTITY, {"did": child}))["identity"]
    assert ident["did"] == child
    assert ident["deactivated"] is False
    assert ident["metadata"]["versionId"] == "2"
    assert [v["operation"] for v in ident["history"]] == ["CREATE", "ROTATE"]
    assert [v["versionId"] for v in ident["history"]] == ["1", "2"]
    assert ident["history"][0]["height"] < ident["history"][1]["height"]
    assert ident["history"][0]["sender"].startswith("qos1")
    pk1 = ident["history"][0]["document"]["verificationMethod"][0]["publicKeyMultibase"]
    pk2 = ident["document"]["verificationMethod"][0]["publicKeyMultibase"]
    assert pk1 != pk2
    ctrl = {x["did"]: x for x in ident["controllers"]}
    assert set(ctrl) == {parent, key}
    assert ctrl[parent]["history"] == [{"versionId": "1"}]
    assert ctrl[key]["history"] == []
    assert ctrl[parent]["controllers"] == []


async def test_identity_unknown_is_null_and_bad_input_is_typed(client) -> None:  # type: ignore[no-untyped-def]
    out = await data(client, IDENTITY, {"did": "did:qos:8c8KU6Bsw6yDdbfr8E2r79"})
    assert out["identity"] is None
    for did, code in [("nope", "invalidDid"), ("did:web:x.example", "methodNotSupported")]:
        out = await gql(client, IDENTITY, {"did": did})
        assert out["data"] == {"identity": None}
        assert error_codes(out) == [code]


async def test_identity_traversal_is_budgeted(  # type: ignore[no-untyped-def]
    client, dids: Dids, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = dids.create(A_UPD, A_REC)
    child = dids.create(seed(12), seed(13), controllers=[parent])
    monkeypatch.setattr(identity_api, "MAX_IDENTITY_LOOKUPS", 2)
    q = "query($d: String!) { identity(did: $d) { controllers { did history { versionId } } } }"
    out = await gql(client, q, {"d": child})
    assert error_codes(out) == ["too_complex"]
    deep = '{ identity(did: "x") { ' + "controllers { " * 12 + "did" + " }" * 14
    out = await gql(client, deep)
    assert "exceeds maximum operation depth" in out["errors"][0]["message"]


async def test_identities_by_controller_pages(client, dids: Dids) -> None:  # type: ignore[no-untyped-def]
    parent = dids.create(A_UPD, A_REC)
    children = sorted(
        dids.create(seed(20 + i), seed(30 + i), controllers=[parent]) for i in range(3)
    )
    page1 = (await data(client, IDENTITIES, {"c": parent, "first": 2}))["identities"]
    assert [e["node"]["did"] for e in page1["edges"]] == children[:2]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page1["pageInfo"]["hasPreviousPage"] is False
    after = page1["pageInfo"]["endCursor"]
    page2 = (await data(client, IDENTITIES, {"c": parent, "after": after}))["identities"]
    assert [e["node"]["did"] for e in page2["edges"]] == children[2:]
    assert page2["pageInfo"]["hasNextPage"] is False
    assert page2["pageInfo"]["hasPreviousPage"] is True
    # a wallet finds its DIDs by the did:key of its update key
    mine = (await data(client, IDENTITIES, {"c": did_key(A_UPD)}))["identities"]
    assert [e["node"]["did"] for e in mine["edges"]] == [parent]
    none = (await data(client, IDENTITIES, {"c": did_key(seed(99))}))["identities"]
    assert none["edges"] == []
    assert none["pageInfo"]["endCursor"] is None


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"c": "nope"}, "invalidDid"),
        ({"c": "did:web:x"}, "methodNotSupported"),
        ({"c": "did:qos:8c8KU6Bsw6yDdbfr8E2r79", "after": "bm9wZQ=="}, "invalid_cursor"),
        ({"c": "did:qos:8c8KU6Bsw6yDdbfr8E2r79", "first": 101}, "invalid_argument"),
    ],
)
async def test_identities_bad_input(client, variables, code: str) -> None:  # type: ignore[no-untyped-def]
    out = await gql(client, IDENTITIES, variables)
    assert error_codes(out) == [code]


async def test_submit_did_operation(client, dids: Dids, tnode: TestNode) -> None:  # type: ignore[no-untyped-def]
    did, op = c.create_did(dids.chain_id, A_UPD, A_REC)
    raw = dids.tx(op)
    res = await data(client, SUBMIT_DID, {"tx": base64.b64encode(raw).decode()})
    assert res["submitDidOperation"]["__typename"] == "TransactionAccepted"
    tnode.produce()
    r = (await data(client, RESOLVE, {"did": did}))["resolveDid"]
    assert r["didDocumentMetadata"]["versionId"] == "1"
    # the same signed create again: the nonce is used
    again = await data(client, SUBMIT_DID, {"tx": base64.b64encode(raw).decode()})
    assert again["submitDidOperation"]["code"] == "nonce_too_low"
    # not an identity tx, not base64, not a tx
    cases = [
        (base64.b64encode(tnode.transfer(RECIPIENT, 1)).decode(), "not_identity_operation"),
        ("***", "invalid_encoding"),
        (base64.b64encode(b"\x01\x02garbage").decode(), "malformed_tx"),
    ]
    for tx, code in cases:
        out = (await data(client, SUBMIT_DID, {"tx": tx}))["submitDidOperation"]
        assert out["__typename"] == "TransactionRejected"
        assert out["code"] == code, out
