"""did:qos through a real node: every operation, every refusal, history, batches, hashes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from identity_helpers import CHAIN_ID, IdNode, code_of, make_identity_node, op_events

from qos_chain.node import TxRejected
from qos_chain.sign import public_key_of
from qos_identity import client as c
from qos_identity.didkey import did_key_of
from qos_identity.document import MAX_KEYS, Relationship, VerificationMethod
from qos_identity.method import identifier_commitment, verify_disclosure
from qos_identity.multikey import KeyType
from qos_node.testing import FAUCET_SEED

UPDATE = b"\x01" * 32
RECOVERY = b"\x02" * 32
NEW_KEY = b"\x03" * 32
NEXT_RECOVERY = b"\x04" * 32
OTHER = b"\x05" * 32
F = FAUCET_SEED


def tx(n: IdNode, *ops: object) -> bytes:
    return c.wrap_in_tx(CHAIN_ID, F, n.next_nonce(), list(ops))  # type: ignore[arg-type]


def create(n: IdNode, update: bytes = UPDATE, recovery: bytes = RECOVERY, **kw: object) -> str:
    did, op = c.create_did(CHAIN_ID, update, recovery, **kw)  # type: ignore[arg-type]
    r = n.one(tx(n, op))
    assert code_of(r) == "ok", r.log
    return did


def state_rows(n: IdNode) -> list[tuple[bytes, bytes]]:
    rows = n.t.bundle.db.conn.execute(
        "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key",
        (b"did/", b"did0"),
    )
    return [(bytes(k), bytes(v)) for k, v in rows]


def refused(n: IdNode, op: object, code: str) -> None:
    """Included in a block, failed with ``code``, and no identity state changed."""
    before = state_rows(n)
    r = n.one(tx(n, op))
    assert code_of(r) == code, r.log
    assert state_rows(n) == before


def test_create_and_resolve(idnode: IdNode) -> None:
    did = create(idnode, services=[("hub", "LinkedDomains", "https://example.com")])
    res = idnode.resolver.resolve(did)
    assert res.error is None
    doc = res.to_json()["didDocument"]
    assert doc["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert doc["id"] == did
    assert doc["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    assert doc["capabilityInvocation"] == [f"{did}#key-1"]
    assert doc["service"] == [
        {"id": f"{did}#hub", "type": "LinkedDomains", "serviceEndpoint": "https://example.com"}
    ]
    meta = res.to_json()["didDocumentMetadata"]
    assert meta["versionId"] == "1"
    assert meta["deactivated"] is False
    assert "updated" not in meta
    assert res.to_json()["didResolutionMetadata"] == {"contentType": "application/did+ld+json"}
    page = idnode.resolver.identities_by_controller(did_key_of(public_key_of(UPDATE)))
    assert page.dids == (did,)


def test_resolution_errors(idnode: IdNode) -> None:
    r = idnode.resolver
    assert r.resolve("did:qos:1111111111111111").error == "notFound"
    assert r.resolve("did:qos:0OIl").error == "invalidDid"
    assert r.resolve("not-a-did").error == "invalidDid"
    assert r.resolve("did:web:example.com").error == "methodNotSupported"
    did = create(idnode)
    assert r.resolve(did, accept="text/html").error == "representationNotSupported"
    assert r.resolve(did, version_id="2").error == "notFound"
    assert r.resolve(did, version_id="1", version_time="2026-01-01T00:00:00Z").error == (
        "invalidOptions"
    )
    assert r.resolve(did, version_time="yesterday").error == "invalidOptions"
    assert r.resolve(did).http_status == 200
    assert r.resolve("did:web:x").http_status == 501


def test_update_each_part(idnode: IdNode) -> None:
    did = create(idnode)
    ctrl = create(idnode, OTHER, NEXT_RECOVERY)
    x = c.key_method(did, "ka", b"\x09" * 32, KeyType.X25519)
    k2 = c.key_method(did, "key-2", public_key_of(NEW_KEY))
    steps = [
        [c.add_method(k2, Relationship.AUTHENTICATION, Relationship.ASSERTION_METHOD)],
        [c.add_method(x, Relationship.KEY_AGREEMENT)],
        [c.add_relationships(k2.id, Relationship.CAPABILITY_DELEGATION)],
        [c.remove_relationships(k2.id, Relationship.ASSERTION_METHOD)],
        [c.add_service(c.service(did, "s", "Media", ["https://a.example", "ipfs://x"]))],
        [c.set_controllers(ctrl)],
        [c.set_also_known_as("https://alice.example")],
        [c.remove_service(f"{did}#s"), c.remove_method(x.id)],
    ]
    for i, actions in enumerate(steps, start=1):
        op = c.update_op(CHAIN_ID, did, str(i), actions, UPDATE)
        r = idnode.one(tx(idnode, op))
        assert code_of(r) == "ok", (i, r.log)
        assert op_events(r) == [
            {"did": did, "op": "update", "code": "ok", "version_id": str(i + 1)}
        ]
    doc = idnode.resolver.resolve(did).to_json()["didDocument"]
    assert doc["authentication"] == [f"{did}#key-1", k2.id]
    assert doc["assertionMethod"] == [f"{did}#key-1"]
    assert doc["capabilityDelegation"] == [f"{did}#key-1", k2.id]
    assert "keyAgreement" not in doc
    assert "service" not in doc
    assert doc["controller"] == [ctrl]
    assert doc["alsoKnownAs"] == ["https://alice.example"]
    assert idnode.resolver.identities_by_controller(ctrl).dids == (did,)
    # the service list survived in history
    v6 = idnode.resolver.resolve(did, version_id="6").to_json()["didDocument"]
    assert v6["service"][0]["serviceEndpoint"] == ["https://a.example", "ipfs://x"]


def test_rotate_then_old_key_is_refused(idnode: IdNode) -> None:
    did = create(idnode)
    op = c.rotate_op(CHAIN_ID, did, "1", public_key_of(NEW_KEY), UPDATE)
    assert code_of(idnode.one(tx(idnode, op))) == "ok"
    refused(idnode, c.update_op(CHAIN_ID, did, "2", [c.set_controllers()], UPDATE), "unauthorized")
    ok = c.update_op(CHAIN_ID, did, "2", [c.set_also_known_as("https://x.example")], NEW_KEY)
    assert code_of(idnode.one(tx(idnode, ok))) == "ok"
    r = idnode.resolver
    old = r.resolve(did, version_id="1").document
    new = r.resolve(did).document
    assert old is not None
    assert new is not None
    assert old.verification_method[0].multikey().public_key == public_key_of(UPDATE)
    assert new.verification_method[0].multikey().public_key == public_key_of(NEW_KEY)
    # the did:key index follows the rotation
    assert r.identities_by_controller(did_key_of(public_key_of(UPDATE))).dids == ()
    assert r.identities_by_controller(did_key_of(public_key_of(NEW_KEY))).dids == (did,)


def test_controller_did_updates_another(idnode: IdNode) -> None:
    ctrl = create(idnode, OTHER, NEXT_RECOVERY)
    did = create(idnode, controllers=[ctrl])
    op = c.update_op(
        CHAIN_ID, did, "1", [c.set_also_known_as("https://c.example")], OTHER,
        signer_id=f"{ctrl}#key-1",
    )  # fmt: skip
    assert code_of(idnode.one(tx(idnode, op))) == "ok"
    # a did:key controller works too, and a stranger does not
    dk = did_key_of(public_key_of(NEW_KEY))
    op2 = c.update_op(CHAIN_ID, did, "2", [c.set_controllers(ctrl, dk)], UPDATE)
    assert code_of(idnode.one(tx(idnode, op2))) == "ok"
    mb = dk.removeprefix("did:key:")
    op3 = c.update_op(CHAIN_ID, did, "3", [c.set_also_known_as()], NEW_KEY, signer_id=f"{dk}#{mb}")
    assert code_of(idnode.one(tx(idnode, op3))) == "ok"
    stranger = c.update_op(
        CHAIN_ID, did, "4", [c.set_controllers()], RECOVERY, signer_id=f"{ctrl}#key-1"
    )
    refused(idnode, stranger, "unauthorized")
    forged = c.update_op(
        CHAIN_ID, did, "4", [c.set_controllers()], OTHER, signer_id="did:qos:1111111111111111#k"
    )
    refused(idnode, forged, "unauthorized")


def test_recovery_after_signing_key_is_lost(idnode: IdNode) -> None:
    did = create(idnode)
    wrong = c.recover_op(
        CHAIN_ID, did, "1", OTHER, new_update_seed=NEW_KEY, next_recovery_seed=NEXT_RECOVERY
    )
    refused(idnode, wrong, "invalid_recovery_key")
    op = c.recover_op(
        CHAIN_ID, did, "1", RECOVERY, new_update_seed=NEW_KEY, next_recovery_seed=NEXT_RECOVERY
    )
    r = idnode.one(tx(idnode, op))
    assert code_of(r) == "ok", r.log
    # the lost key no longer controls it; the new one does
    refused(idnode, c.update_op(CHAIN_ID, did, "2", [c.set_controllers()], UPDATE), "unauthorized")
    ok = c.update_op(CHAIN_ID, did, "2", [c.set_also_known_as("https://r.example")], NEW_KEY)
    assert code_of(idnode.one(tx(idnode, ok))) == "ok"
    # the revealed recovery key cannot be used twice; the next one can
    again = c.recover_op(
        CHAIN_ID, did, "3", RECOVERY, new_update_seed=OTHER, next_recovery_seed=UPDATE
    )
    refused(idnode, again, "invalid_recovery_key")
    nxt = c.recover_op(
        CHAIN_ID, did, "3", NEXT_RECOVERY, new_update_seed=OTHER, next_recovery_seed=UPDATE
    )
    assert code_of(idnode.one(tx(idnode, nxt))) == "ok"
    assert [v.op for v in idnode.resolver.history(did)] == [
        "create",
        "recover",
        "update",
        "recover",
    ]


def test_deactivate_is_final(idnode: IdNode) -> None:
    did = create(idnode)
    r = idnode.one(tx(idnode, c.deactivate_op(CHAIN_ID, did, "1", UPDATE)))
    assert code_of(r) == "ok"
    res = idnode.resolver.resolve(did)
    assert res.metadata.deactivated
    assert res.http_status == 410
    assert res.to_json()["didDocument"] == {
        "@context": list(res.to_json()["didDocument"]["@context"]),
        "id": did,
    }
    assert idnode.resolver.resolve(did, version_id="1").document is not None
    # refused: any further operation, recovery included, and re-creating the identifier
    refused(idnode, c.update_op(CHAIN_ID, did, "2", [c.set_controllers()], UPDATE), "deactivated")
    rec = c.recover_op(
        CHAIN_ID, did, "2", RECOVERY, new_update_seed=NEW_KEY, next_recovery_seed=NEXT_RECOVERY
    )
    refused(idnode, rec, "deactivated")
    _, again = c.create_did(CHAIN_ID, UPDATE, RECOVERY)
    refused(idnode, again, "already_exists")
    assert idnode.resolver.identities_by_controller(did_key_of(public_key_of(UPDATE))).dids == ()


def test_deactivate_with_recovery_key(idnode: IdNode) -> None:
    did = create(idnode)
    op = c.deactivate_op(CHAIN_ID, did, "1", RECOVERY, recovery=True)
    assert code_of(idnode.one(tx(idnode, op))) == "ok"
    assert idnode.resolver.resolve(did).metadata.deactivated


def test_bad_inputs_refused_with_specific_codes(idnode: IdNode) -> None:
    did = create(idnode)
    k = public_key_of(NEW_KEY)

    def upd(*actions: object) -> object:
        return c.update_op(CHAIN_ID, did, "1", list(actions), UPDATE)  # type: ignore[arg-type]

    bad_type = VerificationMethod(
        f"{did}#k", "JsonWebKey2020", did, c.key_method(did, "k", k).public_key_multibase
    )
    refused(idnode, upd(c.add_method(bad_type, Relationship.AUTHENTICATION)), "unknown_method_type")
    dup = c.key_method(did, "key-1", k)
    refused(idnode, upd(c.add_method(dup)), "duplicate_key_id")
    many = [c.add_method(c.key_method(did, f"k{i}", k)) for i in range(MAX_KEYS)]
    refused(idnode, upd(*many), "too_many_keys")
    svcs = [c.add_service(c.service(did, f"s{i}", "T", "https://e.example")) for i in range(17)]
    refused(idnode, upd(*svcs), "too_many_services")
    big = [
        c.add_service(c.service(did, f"s{i}", "T", ["https://e.example/" + "a" * 490] * 2))
        for i in range(9)
    ]
    refused(idnode, upd(*big), "document_too_large")
    bad_ref = c.add_relationships(f"{did}#nope", Relationship.AUTHENTICATION)
    refused(idnode, upd(bad_ref), "invalid_operation")
    x = c.key_method(did, "x", k, KeyType.X25519)
    refused(idnode, upd(c.add_method(x, Relationship.AUTHENTICATION)), "invalid_relationship")
    garbage = replace(c.key_method(did, "g", k), public_key_multibase="z6Mkbad0")
    refused(idnode, upd(c.add_method(garbage)), "invalid_public_key")
    # unauthorized: signed by a key the DID does not list
    refused(idnode, c.update_op(CHAIN_ID, did, "1", [c.set_controllers()], OTHER), "unauthorized")
    # replay: the same signed op twice
    op = upd(c.set_also_known_as("https://one.example"))
    assert code_of(idnode.one(tx(idnode, op))) == "ok"
    refused(idnode, op, "stale_version")
    # unknown DID
    other, _ = c.create_did(CHAIN_ID, OTHER, RECOVERY)
    refused(idnode, c.update_op(CHAIN_ID, other, "1", [c.set_controllers()], OTHER), "not_found")


def test_stateless_refusals_never_enter_a_block(idnode: IdNode) -> None:
    did, op = c.create_did(CHAIN_ID, UPDATE, RECOVERY)
    tampered = replace(op, document=replace(op.document, id="did:qos:1111111111111111"))
    with pytest.raises(TxRejected) as err:
        idnode.t.node.submit_tx(tx(idnode, tampered), idnode.t.now())
    assert err.value.code == "invalid_document"
    assert idnode.resolver.resolve(did).error == "notFound"


def test_history_by_version_id_and_time(idnode: IdNode) -> None:
    did = create(idnode)
    t1 = idnode.resolver.resolve(did).to_json()["didDocumentMetadata"]["created"]
    op = c.update_op(CHAIN_ID, did, "1", [c.set_also_known_as("https://v2.example")], UPDATE)
    idnode.one(tx(idnode, op))
    hist = idnode.resolver.history(did)
    assert [h.version_id for h in hist] == ["1", "2"]
    assert hist[0].version_time == t1
    assert hist[1].time_ns > hist[0].time_ns
    at1 = idnode.resolver.resolve(did, version_time=t1)
    assert at1.metadata.version_id == "1"
    assert at1.metadata.next_version_id == "2"
    assert (
        idnode.resolver.resolve(did, version_time=hist[1].version_time).metadata.version_id == "2"
    )
    assert idnode.resolver.resolve(did, version_time="2020-01-01T00:00:00Z").error == "notFound"
    v1 = idnode.resolver.resolve(did, version_id="1").to_json()["didDocument"]
    assert "alsoKnownAs" not in v1
    cur = idnode.resolver.resolve(did).to_json()["didDocumentMetadata"]
    assert cur["versionId"] == "2"
    assert "nextVersionId" not in cur
    assert cur["updated"] >= cur["created"]


def test_batch_of_100_with_invalid_ones(idnode: IdNode) -> None:
    ops: list[object] = []
    dids = []
    for i in range(100):
        seed = i.to_bytes(2, "big") * 16
        did, op = c.create_did(CHAIN_ID, seed, RECOVERY)
        if i in (7, 42):  # bad signature
            op = replace(op, proof=replace(op.proof, signature=b"\x00" * 64))
        if i == 99:  # duplicate of op 0
            op = ops[0]  # type: ignore[assignment]
            did = dids[0]
        ops.append(op)
        dids.append(did)
    batch = c.batch(ops)  # type: ignore[arg-type]
    raw = c.wrap_in_tx(CHAIN_ID, F, idnode.next_nonce(), [batch])
    r = idnode.one(raw)
    assert code_of(r) == "ok"
    events = op_events(r)
    assert [e["index"] for e in events] == [str(i) for i in range(100)]
    failed = {int(e["index"]): e["code"] for e in events if e["code"] != "ok"}
    assert failed == {7: "unauthorized", 42: "unauthorized", 99: "already_exists"}
    for i, did in enumerate(dids):
        err = idnode.resolver.resolve(did).error
        assert (err == "notFound") == (i in (7, 42)), i


def test_linked_identifier_commitments(idnode: IdNode) -> None:
    did = create(idnode)
    salt = b"\x11" * 32
    com = identifier_commitment(salt, "passport", "X1234567")
    r = idnode.one(tx(idnode, c.link_op(CHAIN_ID, did, "1", UPDATE, add=[com])))
    assert code_of(r) == "ok"
    assert idnode.resolver.is_linked(did, com)
    assert verify_disclosure(com, salt, "passport", "X1234567")
    assert not verify_disclosure(com, salt, "passport", "X1234568")
    rows = b"".join(k + v for k, v in state_rows(idnode))
    assert b"X1234567" not in rows
    refused(idnode, c.link_op(CHAIN_ID, did, "2", UPDATE, add=[com]), "invalid_commitment")
    r = idnode.one(tx(idnode, c.link_op(CHAIN_ID, did, "2", UPDATE, remove=[com])))
    assert code_of(r) == "ok"
    assert not idnode.resolver.is_linked(did, com)


def test_app_hash_determinism_across_two_nodes(tmp_path: Path) -> None:
    a = IdNode(make_identity_node(tmp_path / "a"))
    b = IdNode(make_identity_node(tmp_path / "b"))
    try:
        hashes = []
        for n in (a, b):
            did, op = c.create_did(CHAIN_ID, UPDATE, RECOVERY)
            blocks = [n.block(tx(n, op))]
            upd = c.update_op(
                CHAIN_ID, did, "1", [c.set_also_known_as("https://h.example")], UPDATE
            )
            bad = c.update_op(CHAIN_ID, did, "1", [c.set_controllers()], OTHER)
            blocks.append(n.block(tx(n, upd), tx(n, bad)))
            blocks.append(
                n.block(tx(n, c.rotate_op(CHAIN_ID, did, "2", public_key_of(NEW_KEY), UPDATE)))
            )
            hashes.append([(x.result.app_hash, x.result.tx_results) for x in blocks])
        assert hashes[0] == hashes[1]
        assert state_rows(a) == state_rows(b)
    finally:
        a.t.bundle.db.close()
        b.t.bundle.db.close()
