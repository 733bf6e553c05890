"""verifyCredential / verifyPresentation reports for good and bad credentials, and the
Bitstring Status List served by URL (decoded, the revoked bit checked)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from api_helpers import data, gql
from vc_api_helpers import BASE, CREATED, Party, Vc

from qos_chain.sign import public_key_of
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.ops import StatusAction
from qos_identity.credentials.status_list import decode_list, status_from_list_credential
from qos_identity.document import Relationship
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

VERIFY = """query($c: JSON!) { verifyCredential(credential: $c) {
  verified credentialId checks { check outcome reason } report } }"""
VERIFY_VP = """query($p: JSON!, $ch: String!, $d: String!) {
  verifyPresentation(presentation: $p, challenge: $ch, domain: $d) {
    verified checks { check outcome reason } credentials { verified checks { check outcome } }
  } }"""
ALL = ["format", "proof", "issuer_key", "anchored", "status", "validity", "schema"]


async def verify(client: httpx.AsyncClient, cred: Any) -> dict[str, Any]:
    r: dict[str, Any] = (await data(client, VERIFY, {"c": cred}))["verifyCredential"]
    return r


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["outcome"] for c in report["checks"]}


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["reason"] for c in report["checks"] if c["outcome"] == "FAILED"}


@pytest.fixture
def setup(tnode: TestNode) -> tuple[Vc, Party, Party, str]:
    v = Vc(tnode)
    issuer, subject = v.party(1), v.party(2)
    return v, issuer, subject, v.schema(issuer)


async def test_valid_credential_passes_every_check(
    client: httpx.AsyncClient, setup: tuple[Vc, Party, Party, str]
) -> None:
    v, issuer, subject, sid = setup
    cred = v.credential(issuer, subject, sid)
    cid = v.anchor(issuer, cred)
    r = await verify(client, cred)
    assert r["verified"] is True, r
    assert r["credentialId"] == cid
    assert [c["check"] for c in r["checks"]] == ALL
    assert set(outcomes(r).values()) == {"PASSED"}
    assert r["report"]["verified"] is True
    assert r["report"]["checks"][0] == {
        "check": "format",
        "outcome": "passed",
        "reason": "a W3C VC Data Model 2.0 credential",
    }


async def test_bad_credentials_fail_with_reasons(
    client: httpx.AsyncClient, setup: tuple[Vc, Party, Party, str]
) -> None:
    v, issuer, subject, sid = setup
    cred = v.credential(issuer, subject, sid)
    v.anchor(issuer, cred)

    # tampered: a claim changed after signing
    tampered = copy.deepcopy(cred)
    tampered["credentialSubject"]["role"] = "manager"
    r = await verify(client, tampered)
    assert not r["verified"]
    assert set(failed(r)) == {"proof", "anchored", "status"}

    # forged: signed with a key that is not in the issuer's document
    forged = v.credential(issuer, subject, sid, seed=b"\x77" * 32)
    r = await verify(client, forged)
    assert "proof" in failed(r)
    assert outcomes(r)["issuer_key"] == "PASSED"  # the named method is the issuer's
    assert outcomes(r)["anchored"] == "FAILED"

    # wrong key: a key of the issuer outside assertionMethod (authentication only)
    auth_seed = b"\x33" * 32
    v.id_commit(
        idc.update_op(
            v.chain_id,
            issuer.did,
            "1",
            [
                idc.add_method(
                    idc.key_method(issuer.did, "auth-1", public_key_of(auth_seed)),
                    Relationship.AUTHENTICATION,
                )
            ],
            issuer.seed,
        )
    )
    wrong = v.credential(issuer, subject, sid, seed=auth_seed, signer=f"{issuer.did}#auth-1")
    v.anchor(issuer, wrong)
    r = await verify(client, wrong)
    assert outcomes(r)["proof"] == "PASSED"
    assert "assertionMethod" in failed(r)["issuer_key"]

    # another DID's key named as the verification method
    other = v.party(5)
    stranger = v.credential(issuer, subject, sid, seed=other.seed, signer=other.key)
    r = await verify(client, stranger)
    assert "not the issuer" in failed(r)["issuer_key"]

    # expired
    expired = v.credential(issuer, subject, sid, valid_until="2026-01-01T00:00:01Z")
    v.anchor(issuer, expired)
    r = await verify(client, expired)
    assert failed(r) == {"validity": "expired at 2026-01-01T00:00:01Z"}

    # schema violation: role outside the enum
    bad_role = v.credential(issuer, subject, sid, role="ceo")
    v.anchor(issuer, bad_role)
    r = await verify(client, bad_role)
    assert list(failed(r)) == ["schema"]
    assert sid in failed(r)["schema"]

    # not anchored
    loose = v.credential(issuer, subject, sid)
    r = await verify(client, loose)
    assert set(failed(r)) == {"anchored", "status"}

    # malformed: format fails, the rest is skipped
    for junk in ({"hello": "world"}, [1, 2], "text", {**cred, "@context": ["https://x.ex"]}):
        r = await verify(client, junk)
        assert outcomes(r) == {"format": "FAILED"} | {c: "SKIPPED" for c in ALL[1:]}, junk
        assert r["credentialId"] is None
    r = await verify(client, {**cred, "@context": ["https://www.w3.org/2018/credentials/v1"]})
    assert failed(r)["format"].startswith("invalid_context")
    r = await verify(client, {**cred, "padding": "x" * 70_000})
    assert failed(r)["format"].startswith("credential_too_large")


async def test_status_changes_show_in_verification(
    client: httpx.AsyncClient, setup: tuple[Vc, Party, Party, str]
) -> None:
    v, issuer, subject, sid = setup
    cred = v.credential(issuer, subject, sid)
    v.anchor(issuer, cred)
    v.status(issuer, StatusAction.SUSPEND, [0])
    assert failed(await verify(client, cred)) == {"status": "suspended (status index 0)"}
    v.status(issuer, StatusAction.UNSUSPEND, [0])
    assert (await verify(client, cred))["verified"]
    v.status(issuer, StatusAction.REVOKE, [0])
    assert failed(await verify(client, cred)) == {"status": "revoked (status index 0)"}


async def test_verify_presentation(
    client: httpx.AsyncClient, setup: tuple[Vc, Party, Party, str]
) -> None:
    v, issuer, subject, sid = setup
    cred = v.credential(issuer, subject, sid)
    v.anchor(issuer, cred)
    vp = vc.present(
        subject.did,
        [cred],
        subject.seed,
        subject.key,
        challenge="n-1",
        domain="verifier.example",
        created=CREATED,
    )
    args = {"p": vp, "ch": "n-1", "d": "verifier.example"}
    r = (await data(client, VERIFY_VP, args))["verifyPresentation"]
    assert r["verified"], r
    assert [c["check"] for c in r["checks"]] == ["format", "proof", "credentials", "holder"]
    assert r["credentials"][0]["verified"]
    # replayed to another verifier / with another challenge
    for ch, d in (("n-2", "verifier.example"), ("n-1", "evil.example")):
        r = (await data(client, VERIFY_VP, {**args, "ch": ch, "d": d}))["verifyPresentation"]
        assert not r["verified"]
        assert {c["check"]: c["outcome"] for c in r["checks"]}["proof"] == "FAILED"
    # presented by someone who is not the subject
    other = v.party(6)
    vp2 = vc.present(
        other.did,
        [cred],
        other.seed,
        other.key,
        challenge="n-1",
        domain="verifier.example",
        created=CREATED,
    )
    r = (await data(client, VERIFY_VP, {**args, "p": vp2}))["verifyPresentation"]
    assert {c["check"]: c["outcome"] for c in r["checks"]}["holder"] == "FAILED"
    out = await gql(client, VERIFY_VP, {**args, "ch": ""})
    assert out["errors"][0]["extensions"]["code"] == "invalid_argument"


async def test_status_list_by_url(
    client: httpx.AsyncClient, setup: tuple[Vc, Party, Party, str]
) -> None:
    v, issuer, subject, sid = setup
    creds = [v.credential(issuer, subject, sid, index=i) for i in range(3)]
    for c in creds:
        v.anchor(issuer, c)
    v.status(issuer, StatusAction.REVOKE, [1])
    v.status(issuer, StatusAction.SUSPEND, [2])
    entries = {e["statusPurpose"]: e for e in creds[1]["credentialStatus"]}
    url = entries["revocation"]["statusListCredential"]
    assert url.startswith(BASE + "/credentials/status/")
    r = await client.get(url.removeprefix(BASE))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vc"
    doc = r.json()
    assert doc["id"] == url
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["issuer"] == issuer.did
    assert doc["credentialSubject"]["statusPurpose"] == "revocation"
    bits = decode_list(doc["credentialSubject"]["encodedList"])
    assert len(bits) == 16 * 1024
    assert bits[0] == 0b0100_0000  # index 1 set, most significant bit first
    assert not any(bits[1:])
    assert [status_from_list_credential(doc, i) for i in range(3)] == [False, True, False]
    # the suspension list shows index 2
    s = await client.get(entries["suspension"]["statusListCredential"].removeprefix(BASE))
    assert [status_from_list_credential(s.json(), i) for i in range(3)] == [False, False, True]
    # GraphQL statusList returns the same document
    q = """query($i: String!) { statusList(issuer: $i, id: 0) }"""
    assert (await data(client, q, {"i": issuer.did}))["statusList"] == doc
    q2 = """query($i: String!) { statusList(issuer: $i, id: 3, purpose: SUSPENSION) }"""
    assert (await data(client, q2, {"i": issuer.did}))["statusList"] is None
    # errors
    base = f"/credentials/status/{issuer.did}"
    for path, status, code in [
        (f"{base}/revocation/1", 404, "not_found"),
        (f"/credentials/status/{subject.did}/revocation/0", 404, "not_found"),
        (f"{base}/expiry/0", 400, "invalid_purpose"),
        (f"{base}/revocation/x1", 400, "invalid_list"),
        (f"{base}/revocation/{'9' * 12}", 400, "invalid_list"),
        ("/credentials/status/nope/revocation/0", 400, "invalidDid"),
    ]:
        r = await client.get(path)
        assert r.status_code == status, path
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == code
