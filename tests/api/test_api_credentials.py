"""Credential GraphQL queries against a real node: filters, Relay pagination, nested
traversal with its budgets, schemas, issuers, the submit mutation."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from api_helpers import RECIPIENT, data, gql
from vc_api_helpers import Party, Vc

from qos_identity.credentials import client as vc
from qos_identity.credentials.ops import StatusAction
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

LIST_Q = """query($subject: String, $issuer: String, $schema: String, $type: String,
  $status: CredentialStatus, $validAt: String, $first: Int, $after: String,
  $orderBy: CredentialOrder) {
  credentials(subject: $subject, issuer: $issuer, schema: $schema, type: $type,
    status: $status, validAt: $validAt, first: $first, after: $after, orderBy: $orderBy) {
    edges { cursor node { id issuer subject schemaId types status statusIndex height } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }"""


async def ids(client: httpx.AsyncClient, **variables: Any) -> list[str]:
    d = await data(client, LIST_Q, variables)
    return [e["node"]["id"] for e in d["credentials"]["edges"]]


@pytest.fixture
def world(tnode: TestNode) -> dict[str, Any]:
    """Two issuers, two subjects, one schema, six credentials (one revoked, one
    suspended, one expired)."""
    v = Vc(tnode)
    acme, bank = v.party(1), v.party(2)
    alice, bob = v.party(3, key_agreement=True), v.party(4)
    sid = v.schema(acme)
    creds = {
        "a1": v.anchor(acme, v.credential(acme, alice, sid)),
        "a2": v.anchor(acme, v.credential(acme, alice, sid, role="manager")),
        "b1": v.anchor(acme, v.credential(acme, bob, sid)),
        "a3": v.anchor(
            bank, v.credential(bank, alice, None, types=("CreditCredential",)), "bafy-env"
        ),
        "b2": v.anchor(
            bank,
            v.credential(
                bank, bob, None, types=("CreditCredential",), valid_until="2026-01-01T00:00:01Z"
            ),
        ),
        "a4": v.anchor(bank, v.credential(bank, alice, None, types=("CreditCredential",))),
    }
    v.status(acme, StatusAction.REVOKE, [1])  # a2
    v.status(bank, StatusAction.SUSPEND, [2])  # a4
    return {"v": v, "acme": acme, "bank": bank, "alice": alice, "bob": bob, "sid": sid, **creds}


async def test_filters(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    w = world
    alice, bob, acme, bank = (w[k].did for k in ("alice", "bob", "acme", "bank"))
    assert await ids(client, subject=alice) == [w["a1"], w["a2"], w["a3"], w["a4"]]
    assert await ids(client, issuer=bank) == [w["a3"], w["b2"], w["a4"]]
    assert await ids(client, schema=w["sid"]) == [w["a1"], w["a2"], w["b1"]]
    assert await ids(client, type="CreditCredential") == [w["a3"], w["b2"], w["a4"]]
    assert await ids(client, type="VerifiableCredential") == [
        w[k] for k in ("a1", "a2", "b1", "a3", "b2", "a4")
    ]
    assert await ids(client, status="REVOKED") == [w["a2"]]
    assert await ids(client, status="SUSPENDED") == [w["a4"]]
    assert await ids(client, subject=alice, status="ACTIVE") == [w["a1"], w["a3"]]
    assert await ids(client, issuer=acme, subject=bob) == [w["b1"]]
    # validAt: b2 expired one second after its validFrom
    assert w["b2"] not in await ids(client, validAt="2026-06-01T00:00:00Z")
    assert w["b2"] in await ids(client, validAt="2026-01-01T00:00:01Z")
    assert await ids(client, subject=alice, orderBy="HEIGHT_DESC") == [
        w["a4"],
        w["a3"],
        w["a2"],
        w["a1"],
    ]
    assert await ids(client, subject="did:qos:nobodyhere") == []
    d = await data(client, LIST_Q, {"subject": alice, "first": 1})
    node = d["credentials"]["edges"][0]["node"]
    assert node["issuer"] == acme
    assert node["schemaId"] == w["sid"]
    assert node["types"] == ["VerifiableCredential", "EmploymentCredential"]
    assert node["status"] == "ACTIVE"
    assert node["statusIndex"] == "0"


async def test_relay_pagination(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    w = world
    everything = [w[k] for k in ("a1", "a2", "b1", "a3", "b2", "a4")]
    for order, expected in (("HEIGHT_ASC", everything), ("HEIGHT_DESC", everything[::-1])):
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            d = await data(client, LIST_Q, {"first": 4, "after": after, "orderBy": order})
            conn = d["credentials"]
            seen += [e["node"]["id"] for e in conn["edges"]]
            assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
            pages += 1
            if not conn["pageInfo"]["hasNextPage"]:
                break
            assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
            after = conn["pageInfo"]["endCursor"]
        assert seen == expected
        assert pages == 2
    # a filtered page continues from an edge cursor
    d = await data(client, LIST_Q, {"subject": w["alice"].did, "first": 2})
    cursor = d["credentials"]["edges"][1]["cursor"]
    rest = await ids(client, subject=w["alice"].did, after=cursor)
    assert rest == [w["a3"], w["a4"]]
    assert await ids(client, first=0) == []


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"subject": "alice"}, "invalidDid"),
        ({"issuer": "did:"}, "invalidDid"),
        ({"after": "bm9wZQ=="}, "invalid_cursor"),
        ({"after": "!!"}, "invalid_cursor"),
        ({"first": 101}, "invalid_argument"),
        ({"first": -1}, "invalid_argument"),
        ({"validAt": "yesterday"}, "invalid_argument"),
        ({"validAt": "2026-01-01T00:00:00"}, "invalid_argument"),
        ({"type": ""}, "invalid_argument"),
        ({"schema": "x" * 300}, "invalid_argument"),
    ],
)
async def test_bad_arguments(
    client: httpx.AsyncClient, variables: dict[str, Any], code: str
) -> None:
    out = await gql(client, LIST_Q, variables)
    assert out["errors"][0]["extensions"]["code"] == code, out


async def test_credential_schema_and_issuer(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    w = world
    q = """query($id: String!, $s: String!, $did: String!) {
      credential(id: $id) { id subject delivery status revoked suspended validFrom validUntil
        anchoredAt height signer statusList schema { id name version author document cid } }
      credentialSchema(id: $s) { id author name version schemaHash height registeredAt }
      credentialIssuer(did: $did) { did nextStatusIndex statusSequence anchored statusLists }
    }"""
    d = await data(client, q, {"id": w["a3"], "s": w["sid"], "did": w["bank"].did})
    c = d["credential"]
    assert c["id"] == w["a3"]
    assert c["delivery"] == "bafy-env"
    assert c["schema"] is None
    assert c["validFrom"] == "2026-01-01T00:00:00Z"
    assert c["validUntil"] is None
    assert c["signer"] == w["bank"].key
    assert c["statusList"] == 0
    s = d["credentialSchema"]
    assert s["author"] == w["acme"].did
    assert (s["name"], s["version"]) == ("employment", 1)
    assert s["id"] == "urn:qos:schema:" + s["schemaHash"]
    assert d["credentialIssuer"] == {
        "did": w["bank"].did,
        "nextStatusIndex": "3",
        "statusSequence": 1,
        "anchored": 3,
        "statusLists": 1,
    }
    d = await data(client, q, {"id": w["a1"], "s": w["sid"], "did": w["acme"].did})
    assert d["credential"]["schema"]["document"]["properties"]["credentialSubject"]["required"] == [
        "id",
        "role",
    ]
    assert d["credential"]["schema"]["cid"] is None
    # unknown: null; malformed: error
    unknown = await data(
        client, q, {"id": "00" * 32, "s": "urn:qos:schema:" + "00" * 32, "did": "did:qos:none"}
    )
    assert unknown["credential"] is None
    assert unknown["credentialSchema"] is None
    assert unknown["credentialIssuer"]["anchored"] == 0
    out = await gql(client, '{ credential(id: "xyz") { id } }')
    assert out["errors"][0]["extensions"]["code"] == "invalid_argument"


NESTED = """query($did: String!) { identity(did: $did) { did
  credentials(first: 10) { edges { node { id status
    issuerIdentity { did issuedCredentials(first: 10) { edges { node { id
      subjectIdentity { did } } } } }
  } } }
  issuedCredentials { edges { node { id } } }
} }"""


async def test_nested_traversal(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    w = world
    d = await data(client, NESTED, {"did": w["alice"].did})
    ident = d["identity"]
    assert ident["issuedCredentials"]["edges"] == []
    edges = ident["credentials"]["edges"]
    assert [e["node"]["id"] for e in edges] == [w["a1"], w["a2"], w["a3"], w["a4"]]
    first = edges[0]["node"]["issuerIdentity"]
    assert first["did"] == w["acme"].did
    assert [e["node"]["subjectIdentity"]["did"] for e in first["issuedCredentials"]["edges"]] == [
        w["alice"].did,
        w["alice"].did,
        w["bob"].did,
    ]
    # status filter on the nested field
    q = """query($did: String!) { identity(did: $did) {
      credentials(status: REVOKED) { edges { node { id } } } } }"""
    d = await data(client, q, {"did": w["alice"].did})
    assert [e["node"]["id"] for e in d["identity"]["credentials"]["edges"]] == [w["a2"]]


async def test_query_cost_limits(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    # pages are charged at their requested size: 100 + 6 x 100 credentials > 500
    q = """{ credentials(first: 100) { edges { node {
      issuerIdentity { issuedCredentials(first: 100) { edges { node { id } } } } } } } }"""
    out = await gql(client, q)
    assert out["errors"][0]["extensions"]["code"] == "too_complex", out
    # depth: identity -> credentials -> issuer -> credentials -> ... stops at the limit
    deep = '{ identity(did: "' + world["alice"].did + '") { '
    body = "did"
    for _ in range(4):
        body = "credentials { edges { node { issuerIdentity { " + body + " } } } }"
    out = await gql(client, deep + body + " } }")
    assert "exceeds maximum operation depth" in out["errors"][0]["message"]


SUBMIT = """mutation($tx: String!) { submitCredentialOperation(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""


async def test_submit_credential_operation(client: httpx.AsyncClient, tnode: TestNode) -> None:
    v = Vc(tnode)
    issuer, subject = v.party(1), v.party(2)
    cred = v.credential(issuer, subject, None)
    raw = v.tx(vc.anchor_op(v.chain_id, cred, issuer.seed, issuer.key))
    d = await data(client, SUBMIT, {"tx": base64.b64encode(raw).decode()})
    assert d["submitCredentialOperation"]["__typename"] == "TransactionAccepted"
    (result,) = tnode.produce().result.tx_results
    assert result.ok, result.log
    assert len(await ids(client, subject=subject.did)) == 1
    # an anchor signed by a key that is not the issuer's: accepted into a block, then
    # the tx fails with the module's code
    other = Party(v.party(3).did, bytes([3]) * 32)
    forged = v.tx(
        vc.anchor_op(v.chain_id, v.credential(issuer, subject, None), other.seed, issuer.key)
    )
    d = await data(client, SUBMIT, {"tx": base64.b64encode(forged).decode()})
    h = d["submitCredentialOperation"]["hash"]
    tnode.produce()
    q = "query($h: String!) { transaction(hash: $h) { success codeName } }"
    t = (await data(client, q, {"h": h}))["transaction"]
    assert t == {"success": False, "codeName": "unauthorized_signer"}
    # not a credential operation; not base64
    transfer = tnode.transfer(RECIPIENT, 1, nonce=v.nonce)
    d = await data(client, SUBMIT, {"tx": base64.b64encode(transfer).decode()})
    assert d["submitCredentialOperation"]["code"] == "not_credential_operation"
    d = await data(client, SUBMIT, {"tx": "%%%"})
    assert d["submitCredentialOperation"]["code"] == "invalid_encoding"
    d = await data(client, SUBMIT, {"tx": base64.b64encode(b"junk").decode()})
    assert d["submitCredentialOperation"]["code"] == "malformed_tx"
