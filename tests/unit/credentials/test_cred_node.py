"""Credentials through a real node: the end-to-end flow, every refusal, revoking
thousands in one tx, issuer key rotation, queries."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest
from cred_helpers import CHAIN_ID, SCHEMA, Party, VcNode, code_of, events, public

from qos_chain.node import TxRejected
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.crypto_box import (
    open_envelope,
    seal,
    x25519_private_from_seed,
    x25519_public_from_private,
)
from qos_identity.credentials.ops import MsgAnchorCredential, StatusAction, sign_vc_op
from qos_identity.credentials.status_list import (
    build_status_list_credential,
    status_from_list_credential,
)
from qos_identity.credentials.verify import verify_credential, verify_presentation
from qos_identity.document import Relationship
from qos_identity.resolver import Resolver

BASE = "https://node.example"
CREATED = "2026-01-01T00:00:05Z"
KA_SEED = b"\x42" * 32


def setup(n: VcNode) -> tuple[Party, Party, str]:
    issuer = n.create_party(1)
    subject = n.create_party(
        2, key_agreement=x25519_public_from_private(x25519_private_from_seed(KA_SEED))
    )
    sid, op = vc.register_schema_op(
        CHAIN_ID, issuer.did, "employment", 1, SCHEMA, seed=issuer.seed, signer=issuer.key
    )
    r = n.run(op)
    assert code_of(r) == "ok", r.log
    return issuer, subject, sid


def make(
    n: VcNode, issuer: Party, subject: Party, sid: str | None, *, role: str = "engineer",
    index: int | None = None, valid_until: str | None = None, seed: bytes | None = None,
) -> dict[str, Any]:  # fmt: skip
    idx = n.reader.next_status_index(issuer.did) if index is None else index
    cred = vc.build_credential(
        issuer.did, subject.did, {"role": role, "name": "Alice Example"},
        types=["EmploymentCredential"],
        valid_from="2026-01-01T00:00:00Z", valid_until=valid_until, schema_id=sid,
        status_index=idx, status_base_url=BASE,
    )  # fmt: skip
    return vc.issue(cred, seed or issuer.seed, issuer.key, CREATED)


def anchor(n: VcNode, issuer: Party, cred: dict[str, Any], code: str = "ok") -> None:
    r = n.run(vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key))
    assert code_of(r) == code, r.log


def verify(n: VcNode, cred: Any) -> Any:
    return verify_credential(cred, n.documents, n.reader, n.now_s)


def test_end_to_end(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    assert n.reader.schema(sid) is not None
    cred = make(n, issuer, subject, sid)
    # deliver: encrypted to the subject's keyAgreement key; only ciphertext leaves
    sub_doc = n.documents(subject.did, None)
    assert sub_doc is not None
    envelope = seal(cred, sub_doc.document)
    assert "Alice" not in str(envelope)
    anchor_msg = vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key, delivery="bafy-envelope")
    r = n.run(anchor_msg)
    assert code_of(r) == "ok", r.log
    (ev,) = events(r, "credential_anchored")
    assert ev["subject"] == subject.did
    assert ev["status_index"] == "0"
    # no personal data on chain
    assert all(b"Alice" not in v for _, v in n.state_rows())
    received = open_envelope(envelope, x25519_private_from_seed(KA_SEED))
    assert received == cred
    # query
    page = n.reader.credentials(subject=subject.did)
    assert [v.id for v in page.items] == [ev["id"]]
    assert page.items[0].anchor.delivery == "bafy-envelope"
    view = n.reader.get_credential(ev["id"])
    assert view is not None
    assert view.status == "active"
    # verify: every check passes
    report = verify(n, received)
    assert report.verified, report.to_json()
    assert [c.name for c in report.checks] == [
        "format", "proof", "issuer_key", "anchored", "status", "validity", "schema",
    ]  # fmt: skip
    # presentation with challenge and domain
    vp = vc.present(
        subject.did, [received], subject.seed, subject.key, challenge="n-1",
        domain="verifier.example", created=CREATED,
    )  # fmt: skip
    pr = verify_presentation(
        vp, "n-1", "verifier.example", documents=n.documents, reader=n.reader, now=n.now_s
    )
    assert pr.verified, pr.to_json()
    replayed = verify_presentation(
        vp, "n-2", "verifier.example", documents=n.documents, reader=n.reader, now=n.now_s
    )
    assert replayed.check("proof").outcome == "failed"
    # revoke -> verify fails; status list credential shows the bit
    seq = n.reader.status_sequence(issuer.did)
    r = n.run(vc.change_status_op(CHAIN_ID, issuer.did, seq, StatusAction.REVOKE, [0],
                                  seed=issuer.seed, signer=issuer.key))  # fmt: skip
    assert code_of(r) == "ok", r.log
    report = verify(n, received)
    assert not report.verified
    assert report.check("status").reason.startswith("revoked")
    listed = build_status_list_credential(n.reader, BASE, issuer.did, "revocation", 0)
    assert listed["id"] == cred["credentialStatus"][0]["statusListCredential"]
    assert status_from_list_credential(listed, 0) is True
    assert status_from_list_credential(listed, 1) is False
    assert n.reader.credentials(issuer=issuer.did, status="revoked").items[0].id == ev["id"]
    assert n.reader.credentials(issuer=issuer.did, status="active").items == ()


def test_suspend_and_unsuspend(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    cred = make(n, issuer, subject, sid)
    anchor(n, issuer, cred)

    def change(action: StatusAction) -> str:
        seq = n.reader.status_sequence(issuer.did)
        op = vc.change_status_op(CHAIN_ID, issuer.did, seq, action, [0], seed=issuer.seed,
                                 signer=issuer.key)  # fmt: skip
        return code_of(n.run(op))

    assert change(StatusAction.SUSPEND) == "ok"
    assert verify(n, cred).check("status").reason.startswith("suspended")
    assert change(StatusAction.UNSUSPEND) == "ok"
    assert verify(n, cred).verified
    assert change(StatusAction.REVOKE) == "ok"
    assert change(StatusAction.UNSUSPEND) == "credential_already_revoked"


def test_status_change_refusals(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    other = n.create_party(3)
    anchor(n, issuer, make(n, issuer, subject, sid))
    before = n.state_rows()
    # by a non-issuer: signed by another DID's key
    op = vc.change_status_op(CHAIN_ID, issuer.did, 0, StatusAction.REVOKE, [0],
                             seed=other.seed, signer=other.key)  # fmt: skip
    assert code_of(n.run(op)) == "not_issuer"
    # the issuer's DID URL but a key that is not the issuer's
    op = vc.change_status_op(CHAIN_ID, issuer.did, 0, StatusAction.REVOKE, [0],
                             seed=other.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "unauthorized_signer"
    # unassigned index
    op = vc.change_status_op(CHAIN_ID, issuer.did, 0, StatusAction.REVOKE, [5],
                             seed=issuer.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "status_index_unassigned"
    assert n.state_rows() == before
    # replay of an applied change
    op = vc.change_status_op(CHAIN_ID, issuer.did, 0, StatusAction.SUSPEND, [0],
                             seed=issuer.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "ok"
    assert code_of(n.run(op)) == "stale_status_sequence"


def test_revoke_thousands_in_one_tx(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, _ = setup(n)
    count = 3000
    # anchor `count` credentials, 150 per tx (digest-only anchors: the chain never sees
    # the documents; indexes assigned by the chain)
    for start in range(0, count, 150):
        ops = [
            vc.anchor_op(CHAIN_ID, make(n, issuer, subject, None, index=i, role=f"r{i}"),
                         issuer.seed, issuer.key)
            for i in range(start, start + 150)
        ]  # fmt: skip
        r = n.run(*ops)
        assert code_of(r) == "ok", r.log
    assert n.reader.anchored_count(issuer.did) == count
    assert n.reader.next_status_index(issuer.did) == count
    to_revoke = list(range(0, count, 1))[:2500]
    op = vc.change_status_op(CHAIN_ID, issuer.did, 0, StatusAction.REVOKE, to_revoke,
                             seed=issuer.seed, signer=issuer.key)  # fmt: skip
    r = n.run(op)
    assert code_of(r) == "ok", r.log
    assert events(r, "credential_status")[0]["count"] == "2500"
    assert n.reader.is_set(issuer.did, "revocation", 2499)
    assert not n.reader.is_set(issuer.did, "revocation", 2500)
    # status lives in fixed-size chunks, not one value per issuer
    chunks = [v for k, v in n.state_rows() if k.startswith(b"vc/sl/")]
    assert {len(v) for v in chunks} == {2048}
    page = n.reader.credentials(issuer=issuer.did, status="active", first=10)
    assert len(page.items) == 10
    assert all(v.anchor.status_index >= 2500 for v in page.items)


def test_anchor_refusals(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    outsider = n.create_party(4)
    cred = make(n, issuer, subject, sid)
    before = n.state_rows()
    # signed by a key that is not the issuer's
    op = vc.anchor_op(CHAIN_ID, cred, outsider.seed, issuer.key)
    assert code_of(n.run(op)) == "unauthorized_signer"
    op = vc.anchor_op(CHAIN_ID, cred, outsider.seed, outsider.key)
    assert code_of(n.run(op)) == "not_issuer"
    # unknown schema
    good = vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key)
    bad = replace(good, schema_id="urn:qos:schema:" + "00" * 32)
    signed = sign_vc_op(bad, CHAIN_ID, issuer.seed, issuer.key)
    assert code_of(n.run(signed)) == "schema_not_found"
    assert n.state_rows() == before
    anchor(n, issuer, cred)
    anchor(n, issuer, cred, "already_anchored")
    # the same explicit status index twice
    again = make(n, issuer, subject, sid, index=0, role="manager")
    anchor(n, issuer, again, "status_index_taken")


def test_key_outside_assertion_method(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    auth_seed = b"\x33" * 32
    upd = idc.update_op(
        CHAIN_ID, issuer.did, "1",
        [idc.add_method(idc.key_method(issuer.did, "auth-1", public(auth_seed)),
                        Relationship.AUTHENTICATION)],
        issuer.seed,
    )  # fmt: skip
    assert code_of(n.one(n.id_tx(upd))) == "ok"
    signer = f"{issuer.did}#auth-1"
    cred = make(n, issuer, subject, sid)
    cred = vc.issue({k: v for k, v in cred.items() if k != "proof"}, auth_seed, signer, CREATED)
    # the chain refuses an anchor signed by a non-assertionMethod key
    assert code_of(n.run(vc.anchor_op(CHAIN_ID, cred, auth_seed, signer))) == "unauthorized_signer"
    # anchored by the right key, the credential's own proof still fails issuer_key
    anchor(n, issuer, cred)
    report = verify(n, cred)
    assert report.check("proof").ok
    assert report.check("issuer_key").outcome == "failed"
    assert "assertionMethod" in report.check("issuer_key").reason


def test_deactivated_issuer_cannot_anchor(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    cred = make(n, issuer, subject, sid)
    res = idc.deactivate_op(CHAIN_ID, issuer.did, _version(n, issuer), issuer.seed)
    assert code_of(n.one(n.id_tx(res))) == "ok"
    r = n.run(vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key))
    assert code_of(r) == "issuer_deactivated", r.log


def _version(n: VcNode, p: Party) -> str:
    res = Resolver(n.reader.get).resolve(p.did)
    assert res.metadata.version_id is not None
    return res.metadata.version_id


def test_rotation_keeps_old_credentials_valid(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    old = make(n, issuer, subject, sid)
    anchor(n, issuer, old)
    new_seed = b"\x44" * 32
    rot = idc.rotate_op(CHAIN_ID, issuer.did, _version(n, issuer), public(new_seed), issuer.seed)
    assert code_of(n.one(n.id_tx(rot))) == "ok"
    report = verify(n, old)
    assert report.verified, report.to_json()
    assert "anchoring" in report.check("issuer_key").reason
    # after rotation the old key can neither anchor nor issue verifiable credentials
    late = make(n, issuer, subject, sid)  # signed with the old key
    assert code_of(n.run(vc.anchor_op(CHAIN_ID, late, issuer.seed, issuer.key))) == (
        "unauthorized_signer"
    )
    r = n.run(vc.anchor_op(CHAIN_ID, late, new_seed, issuer.key))
    assert code_of(r) == "ok", r.log
    assert verify(n, late).check("proof").outcome == "failed"
    fresh = make(n, issuer, subject, sid, seed=new_seed)
    r = n.run(vc.anchor_op(CHAIN_ID, fresh, new_seed, issuer.key))
    assert code_of(r) == "ok"
    assert verify(n, fresh).verified


def test_verify_reports_failures(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    cred = make(n, issuer, subject, sid, role="astronaut", valid_until="2026-01-01T00:00:02Z")
    anchor(n, issuer, cred)
    report = verify(n, cred)
    assert report.check("schema").outcome == "failed"
    assert "role" in report.check("schema").reason
    assert report.check("validity").reason.startswith("expired")
    # tampered after anchoring: proof fails and the digest is not anchored
    tampered = {**cred, "credentialSubject": {**cred["credentialSubject"], "role": "manager"}}
    report = verify(n, tampered)
    assert report.check("proof").outcome == "failed"
    assert report.check("anchored").outcome == "failed"
    # malformed: one failed format check, the rest skipped
    report = verify(n, {"@context": ["https://example.com/v1"], "type": "VerifiableCredential"})
    assert report.check("format").outcome == "failed"
    assert "invalid_context" in report.check("format").reason
    assert {c.outcome for c in report.checks[1:]} == {"skipped"}
    assert verify(n, b"{not json").check("format").outcome == "failed"


def test_schema_registration(vcnode: VcNode) -> None:
    n = vcnode
    issuer, _, sid = setup(n)
    _, op = vc.register_schema_op(CHAIN_ID, issuer.did, "employment", 1, SCHEMA,
                                  seed=issuer.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "schema_exists"
    v2 = {**SCHEMA, "title": "v2"}
    _, op = vc.register_schema_op(CHAIN_ID, issuer.did, "employment", 3, v2,
                                  seed=issuer.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "schema_version_conflict"
    sid2, op = vc.register_schema_op(CHAIN_ID, issuer.did, "employment", 2, v2,
                                     seed=issuer.seed, signer=issuer.key)  # fmt: skip
    assert code_of(n.run(op)) == "ok"
    rec = n.reader.schema_version(issuer.did, "employment", 2)
    assert rec is not None
    assert rec.id == sid2
    assert sid2 != sid


def test_stateless_refusals_at_check_tx(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    _, op = vc.register_schema_op(CHAIN_ID, issuer.did, "bad", 1, SCHEMA, seed=issuer.seed,
                                  signer=issuer.key)  # fmt: skip
    doc = b'{"oneOf":[],"type":"object"}'
    bad_schema = replace(op, document=doc, schema_hash=hashlib.sha256(doc).digest())
    with pytest.raises(TxRejected) as info:
        n.t.node.submit_tx(n.tx(sign_vc_op(bad_schema, CHAIN_ID, issuer.seed, issuer.key)),
                           n.t.now())  # fmt: skip
    assert info.value.code == "invalid_schema"
    assert "oneOf" in info.value.message
    cred = make(n, issuer, subject, sid)
    good = vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key)
    for bad in (
        replace(good, digest=b"short"),
        replace(good, subject="not-a-did"),
        replace(good, types=("EmploymentCredential",)),
    ):
        signed = sign_vc_op(bad, CHAIN_ID, issuer.seed, issuer.key)
        assert isinstance(signed, MsgAnchorCredential)
        with pytest.raises(TxRejected):
            n.t.node.submit_tx(n.tx(signed), n.t.now())
        n.nonce -= 1


def test_queries_and_pagination(vcnode: VcNode) -> None:
    n = vcnode
    issuer, subject, sid = setup(n)
    other_subject = n.create_party(5)
    ids = []
    for i in range(5):
        who = subject if i % 2 == 0 else other_subject
        cred = make(n, issuer, who, sid if i < 3 else None, index=i)
        r = n.run(vc.anchor_op(CHAIN_ID, cred, issuer.seed, issuer.key))
        ids.append(events(r, "credential_anchored")[0]["id"])
    rd = n.reader
    assert [v.id for v in rd.credentials(subject=subject.did).items] == [ids[0], ids[2], ids[4]]
    assert [v.id for v in rd.credentials(schema=sid).items] == ids[:3]
    assert [v.id for v in rd.credentials(type="EmploymentCredential", first=10).items] == ids
    p1 = rd.credentials(issuer=issuer.did, first=2)
    assert p1.has_next_page
    p2 = rd.credentials(issuer=issuer.did, first=2, after=p1.end_cursor)
    p3 = rd.credentials(issuer=issuer.did, first=2, after=p2.end_cursor)
    assert [v.id for v in p1.items + p2.items + p3.items] == ids
    assert not p3.has_next_page
    desc = rd.credentials(issuer=issuer.did, order_by="HEIGHT_DESC", first=3)
    assert [v.id for v in desc.items] == ids[::-1][:3]
    rest = rd.credentials(issuer=issuer.did, order_by="HEIGHT_DESC", after=desc.end_cursor)
    assert [v.id for v in rest.items] == ids[::-1][3:]
    assert rd.credentials(subject=subject.did, schema=sid).items[-1].id == ids[2]
    assert rd.credentials(valid_at=0).items == ()
    assert rd.get_credential("nope") is None
    with pytest.raises(ValueError, match="cursor"):
        rd.credentials(after="zz")
