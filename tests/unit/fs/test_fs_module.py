"""PinModule on a real node: pin, unpin, authorization, replay, bounds, snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from fs_helpers import Chain, seed

from qos_app.errors import CODES
from qos_chain.sign import public_key_of
from qos_fs import client as fc
from qos_fs.errors import PinInvalid
from qos_fs.msgs import MAX_METADATA_BYTES, MsgPin, validate_msg
from qos_fs.state import get_nonce, load_pin, load_snapshot, pins_page
from qos_identity.didkey import did_key_of
from qos_identity.resolver import sqlite_reader
from qos_ipfs.cid import CID, DAG_PB
from qos_node.testing import make_test_node

CID_A = CID.hash(b"a", version=1)
CID_B = CID.hash(b"b", version=0, codec=DAG_PB)
OWNER_SEED = seed(1)


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return Chain(make_test_node(tmp_path))


def events(chain: Chain) -> list[tuple[str, dict[str, str]]]:
    out = []
    for r in chain.applied[-1].result.tx_results:
        out += [(e.type, {a.key: a.value for a in e.attributes}) for e in r.events]
    return out


def reader(chain: Chain):  # type: ignore[no-untyped-def]
    return sqlite_reader(chain.tnode.bundle.db.conn)


def test_pin_and_unpin_round_trip(chain: Chain) -> None:
    did = chain.create_did(OWNER_SEED, seed(2))
    msg = fc.pin_msg(
        chain.chain_id, did, 0, CID_A, OWNER_SEED, size=1, name="a.txt",
        metadata={"app": "x"}, replication=3, expires_height=1000,
    )  # fmt: skip
    r = chain.commit(msg)
    assert r.ok, r.log
    assert events(chain) == [
        (
            "pin_created",
            {"cid": CID_A.to_bytes().hex(), "name": "a.txt", "owner": did,
             "replication": "3", "size": "1"},
        )
    ]  # fmt: skip
    get, scan = reader(chain)
    rec = load_pin(get, did, CID_A.to_bytes())
    assert rec is not None
    assert (rec.name, rec.metadata, rec.replication, rec.expires_height) == (
        "a.txt", '{"app":"x"}', 3, 1000,
    )  # fmt: skip
    assert [k for k, _ in pins_page(get, scan, owner=None, cid=CID_A.to_bytes(),
                                    after=None, limit=10)]  # fmt: skip
    assert len(pins_page(get, scan, owner=did, cid=None, after=None, limit=10)) == 1
    assert get_nonce(get, did) == 1
    r = chain.commit(fc.unpin_msg(chain.chain_id, did, 1, CID_A, OWNER_SEED))
    assert r.ok, r.log
    assert events(chain) == [("pin_removed", {"cid": CID_A.to_bytes().hex(), "owner": did})]
    get, scan = reader(chain)
    assert load_pin(get, did, CID_A.to_bytes()) is None
    assert pins_page(get, scan, owner=None, cid=CID_A.to_bytes(), after=None, limit=10) == []


def test_pin_by_a_did_key_owner(chain: Chain) -> None:
    owner = did_key_of(public_key_of(OWNER_SEED))
    key_id = f"{owner}#{owner.removeprefix('did:key:')}"
    r = chain.commit(fc.pin_msg(chain.chain_id, owner, 0, CID_A, OWNER_SEED, signer_id=key_id))
    assert r.ok, r.log


def test_unauthorized_signers_are_refused(chain: Chain) -> None:
    did = chain.create_did(OWNER_SEED, seed(2))
    other = chain.create_did(seed(3), seed(4))
    wrong_key = fc.pin_msg(chain.chain_id, did, 0, CID_A, seed(3))  # did#key-1, other's key
    r = chain.commit(wrong_key)
    assert r.code == CODES["pin_unauthorized"]
    foreign = fc.pin_msg(chain.chain_id, did, 0, CID_A, seed(3), signer_id=f"{other}#key-1")
    with pytest.raises(PinInvalid):
        validate_msg(foreign)
    assert chain.commit(fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED)).ok
    # someone else cannot unpin it
    r = chain.commit(fc.unpin_msg(chain.chain_id, did, 1, CID_A, seed(3)))
    assert r.code == CODES["pin_unauthorized"]
    get, _ = reader(chain)
    assert load_pin(get, did, CID_A.to_bytes()) is not None
    unknown = "did:qos:1111111111111111111111"
    r = chain.commit(fc.pin_msg(chain.chain_id, unknown, 0, CID_A, OWNER_SEED))
    assert r.code in (CODES["pin_owner_not_found"], CODES["malformed_tx"], CODES["pin_invalid"])


def test_replay_and_duplicates_are_refused(chain: Chain) -> None:
    did = chain.create_did(OWNER_SEED, seed(2))
    pin = fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED)
    assert chain.commit(pin).ok
    assert chain.commit(fc.unpin_msg(chain.chain_id, did, 1, CID_A, OWNER_SEED)).ok
    assert chain.commit(pin).code == CODES["pin_bad_nonce"]  # the old signed pin, replayed
    dup = fc.pin_msg(chain.chain_id, did, 2, CID_A, OWNER_SEED)
    assert chain.commit(dup).ok
    again = fc.pin_msg(chain.chain_id, did, 3, CID_A, OWNER_SEED)
    assert chain.commit(again).code == CODES["pin_exists"]
    missing = fc.unpin_msg(chain.chain_id, did, 3, CID_B, OWNER_SEED)
    assert chain.commit(missing).code == CODES["pin_not_found"]
    other_chain = fc.pin_msg("other-chain", did, 3, CID_B, OWNER_SEED)
    assert chain.commit(other_chain).code == CODES["pin_unauthorized"]


def test_bounds_are_checked_before_state(chain: Chain) -> None:
    did = chain.create_did(OWNER_SEED, seed(2))
    big = {"k": "x" * MAX_METADATA_BYTES}
    r = chain.commit(fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED, metadata=big))
    assert r.code == CODES["pin_metadata_too_large"]
    too_many = {f"k{i}": i for i in range(40)}
    r = chain.commit(fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED, metadata=too_many))
    assert r.code == CODES["pin_metadata_too_large"]
    for kw in ({"replication": 0}, {"replication": 17}, {"name": "x" * 256}, {"name": "a\nb"}):
        msg = fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED, **kw)
        assert chain.commit(msg).code == CODES["pin_invalid"], kw
    good = fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED)
    bad_cid = MsgPin(**{**{f: getattr(good, f) for f in MsgPin.__slots__}, "cid": b"\x01\x02"})
    with pytest.raises(PinInvalid) as exc:
        validate_msg(bad_cid)
    assert exc.value.code == "pin_invalid_cid"
    non_canonical = MsgPin(
        **{**{f: getattr(good, f) for f in MsgPin.__slots__}, "metadata": '{"b":1, "a":2}'}
    )
    with pytest.raises(PinInvalid):
        validate_msg(non_canonical)
    past = fc.pin_msg(chain.chain_id, did, 0, CID_A, OWNER_SEED, expires_height=1)
    assert chain.commit(past).code == CODES["pin_expired"]


def test_snapshot_anchor(chain: Chain) -> None:
    did = chain.create_did(OWNER_SEED, seed(2))
    root = bytes(range(32))
    msg = fc.anchor_msg(
        chain.chain_id, did, 0, OWNER_SEED, chain="acme-ledger", height=42,
        state_root=root, snapshot=CID_A,
    )  # fmt: skip
    r = chain.commit(msg)
    assert r.ok, r.log
    assert events(chain)[0][0] == "snapshot_anchored"
    get, _ = reader(chain)
    snap = load_snapshot(get, did, "acme-ledger", 42)
    assert snap is not None
    assert (snap.state_root, snap.snapshot_cid) == (root, CID_A.to_bytes())
    again = fc.anchor_msg(
        chain.chain_id, did, 1, OWNER_SEED, chain="acme-ledger", height=42,
        state_root=root, snapshot=CID_A,
    )  # fmt: skip
    assert chain.commit(again).code == CODES["snapshot_exists"]
    bad = fc.anchor_msg(
        chain.chain_id, did, 1, OWNER_SEED, chain="Bad Name", height=1, state_root=root,
        snapshot=CID_A,
    )  # fmt: skip
    assert chain.commit(bad).code == CODES["pin_invalid"]
