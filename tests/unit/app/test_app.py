"""Tests for qos_app.app.QosApp through a real node: refusal codes, fees, nonces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qos_app.app import MAX_NONCE_AHEAD
from qos_app.bank import FEE_COLLECTOR, MSG_SEND, MsgSend
from qos_app.errors import CODES, NAMES
from qos_app.tx import MAX_MEMO, MAX_MSGS, MAX_TX_BYTES, Fee, Tx, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.abci import CheckTxKind
from qos_chain.address import Address, address_from_public_key, address_to_text
from qos_chain.errors import MempoolError, QosError
from qos_chain.node import TxRejected
from qos_chain.sign import public_key_of
from qos_chain.types import tx_hash
from qos_node.testing import FAUCET_FUNDS, TestNode, make_test_node, make_transfer

BOB = Address(b"\xb0" * 20)
ALICE_SEED = b"\xa1" * 32
ALICE = address_from_public_key(public_key_of(ALICE_SEED))
MALLORY_SEED = b"\x66" * 32


@pytest.fixture
def t(tmp_path: Path) -> Iterator[TestNode]:
    node = make_test_node(tmp_path)
    yield node
    node.bundle.db.close()


def faucet_body(t: TestNode, **changes: Any) -> TxBody:
    body = TxBody(
        chain_id=t.chain_id,
        sender=t.faucet_address,
        nonce=0,
        msgs=(TypedMsg(MSG_SEND, codec.encode(MsgSend(BOB, 1))),),
        fee=Fee(0, None),
        memo="",
        timeout_height=None,
    )
    return replace(body, **changes)


def signed(t: TestNode, body: TxBody, *extra_seeds: bytes) -> bytes:
    signers = [(t.faucet_pk, t.faucet_seed)]
    signers += [(public_key_of(s), s) for s in extra_seeds]
    return codec.encode(sign_tx(body, *signers))


def flip_signature(raw: bytes) -> bytes:
    tx = codec.decode(Tx, raw)
    s = tx.signatures[0]
    bad = replace(s, signature=bytes([s.signature[0] ^ 0x01]) + s.signature[1:])
    return codec.encode(replace(tx, signatures=(bad,)))


def pending_rows(t: TestNode) -> int:
    return int(t.bundle.db.conn.execute("SELECT COUNT(*) FROM mempool").fetchone()[0])


# --------------------------------------------------------------------------- refusals

BAD_TXS: dict[str, Callable[[TestNode], bytes]] = {
    "malformed_tx": lambda t: b"\x68garbage",
    "wrong_chain_id": lambda t: make_transfer("other-chain", t.faucet_seed, BOB, 1, 0),
    "invalid_signature": lambda t: flip_signature(t.transfer(BOB, 1, nonce=0)),
    "missing_signature": lambda t: signed(t, faucet_body(t, fee=Fee(1, ALICE))),
    "signer_mismatch": lambda t: codec.encode(
        sign_tx(faucet_body(t), (public_key_of(MALLORY_SEED), MALLORY_SEED))
    ),
    "unexpected_signature": lambda t: signed(t, faucet_body(t), ALICE_SEED),
    "no_messages": lambda t: signed(t, faucet_body(t, msgs=())),
    "too_many_messages": lambda t: signed(
        t, faucet_body(t, msgs=(TypedMsg(MSG_SEND, codec.encode(MsgSend(BOB, 1))),) * 1025)
    ),
    "unknown_message_type": lambda t: signed(
        t, faucet_body(t, msgs=(TypedMsg("qos.nope.v1.MsgNope", b""),))
    ),
    "invalid_message": lambda t: signed(
        t, faucet_body(t, msgs=(TypedMsg(MSG_SEND, codec.encode(MsgSend(b"\x01" * 19, 1))),))
    ),
    "invalid_message_encoding": lambda t: signed(
        t, faucet_body(t, msgs=(TypedMsg(MSG_SEND, b"\xff\xff"),))
    ),
    "invalid_sender": lambda t: codec.encode(Tx(faucet_body(t, sender=b"\x01" * 19), ())),
    "invalid_amount": lambda t: make_transfer(t.chain_id, t.faucet_seed, BOB, 0, 0),
    "memo_too_long": lambda t: make_transfer(
        t.chain_id, t.faucet_seed, BOB, 1, 0, memo="m" * (MAX_MEMO + 1)
    ),
    "nonce_too_high": lambda t: t.transfer(BOB, 1, nonce=MAX_NONCE_AHEAD + 1),
    "insufficient_fee_funds": lambda t: make_transfer(t.chain_id, ALICE_SEED, BOB, 1, 0, fee=1),
}
EXPECTED_CODE = {
    "invalid_message_encoding": "invalid_message",
    "invalid_sender": "invalid_message",
}


@pytest.mark.parametrize("case", sorted(BAD_TXS))
def test_refusal_codes(t: TestNode, case: str) -> None:
    raw = BAD_TXS[case](t)
    before = t.app.info()
    with pytest.raises(TxRejected) as exc:
        t.node.submit_tx(raw, t.now())
    code = EXPECTED_CODE.get(case, case)
    assert exc.value.code == code
    assert code in CODES
    assert t.app.check_tx(raw, CheckTxKind.NEW).code == CODES[code]
    assert len(t.node.mempool) == 0
    assert pending_rows(t) == 0
    assert t.app.info() == before


def test_memo_at_the_limit_is_accepted(t: TestNode) -> None:
    raw = make_transfer(t.chain_id, t.faucet_seed, BOB, 1, 0, memo="é" * (MAX_MEMO // 2))
    t.node.submit_tx(raw, t.now())
    assert t.produce().result.tx_results[0].ok


def test_max_msgs_is_accepted(t: TestNode) -> None:
    msgs = (TypedMsg(MSG_SEND, codec.encode(MsgSend(BOB, 1))),) * MAX_MSGS
    raw = signed(t, faucet_body(t, msgs=msgs))
    t.node.submit_tx(raw, t.now())
    res = t.produce().result.tx_results[0]
    assert res.ok
    assert t.app.account(BOB).balance == MAX_MSGS


def test_tx_too_large(t: TestNode) -> None:
    big = signed(t, faucet_body(t, msgs=(TypedMsg("qos.big", b"\x00" * MAX_TX_BYTES),)))
    assert len(big) > MAX_TX_BYTES
    # the app refuses it on its own ...
    assert NAMES[t.app.check_tx(big, CheckTxKind.NEW).code] == "tx_too_large"
    # ... and through the node the mempool's byte limit may refuse it first
    with pytest.raises(QosError) as exc:
        t.node.submit_tx(big, t.now())
    assert isinstance(exc.value, TxRejected | MempoolError)
    assert exc.value.code == "tx_too_large"
    assert len(t.node.mempool) == 0
    assert pending_rows(t) == 0


def test_replay_of_a_committed_tx_is_refused(t: TestNode) -> None:
    raw = t.transfer(BOB, 5)
    t.node.submit_tx(raw, t.now())
    assert t.produce().result.tx_results[0].ok
    with pytest.raises(TxRejected) as exc:
        t.node.submit_tx(raw, t.now())
    assert exc.value.code == "nonce_too_low"
    assert t.app.account(BOB).balance == 5


def test_refused_txs_change_no_state(t: TestNode) -> None:
    t.produce()
    faucet_before = t.app.account(t.faucet_address)
    hash_before = t.app.info().last_app_hash
    for case, make in BAD_TXS.items():
        with pytest.raises(TxRejected):
            t.node.submit_tx(make(t), t.now())
        assert len(t.node.mempool) == 0, case
    applied = t.produce()
    assert applied.block.txs == ()
    assert t.app.account(t.faucet_address) == faucet_before
    assert t.app.account(BOB).balance == 0
    assert t.app.info().last_app_hash == hash_before
    assert applied.state.app_hash == hash_before


def test_expired_tx_is_refused_at_check_tx(t: TestNode) -> None:
    t.produce()
    t.produce()  # height 2: a tx with timeout_height 1 can never execute
    raw = signed(t, faucet_body(t, timeout_height=1))
    with pytest.raises(TxRejected) as err:
        t.node.submit_tx(raw, t.now())
    assert err.value.code == "tx_timed_out"
    assert len(t.node.mempool) == 0


# --------------------------------------------------------------------------- fees


def test_fee_payer_pays_for_an_unfunded_sender(t: TestNode) -> None:
    fee = 7
    raw = make_transfer(t.chain_id, ALICE_SEED, BOB, 1, 0, fee=fee, fee_payer_seed=t.faucet_seed)
    t.node.submit_tx(raw, t.now())
    applied = t.produce()
    assert applied.block.txs == (raw,)
    res = applied.result.tx_results[0]
    # the send itself fails (alice has nothing), but nonce and fee are consumed
    assert NAMES[res.code] == "insufficient_funds"
    assert t.app.account(ALICE).nonce == 1
    assert t.app.account(ALICE).balance == 0
    assert t.app.account(t.faucet_address).balance == FAUCET_FUNDS - fee
    assert t.app.account(t.faucet_address).nonce == 0
    assert t.app.account(Address(FEE_COLLECTOR)).balance == fee
    assert t.app.account(BOB).balance == 0


def test_fee_payer_pays_while_sender_pays_the_amount(t: TestNode) -> None:
    t.node.submit_tx(t.transfer(ALICE, 100), t.now())
    t.produce()
    raw = make_transfer(t.chain_id, ALICE_SEED, BOB, 100, 0, fee=3, fee_payer_seed=t.faucet_seed)
    t.node.submit_tx(raw, t.now())
    res = t.produce().result.tx_results[0]
    assert res.ok, res.log
    assert t.app.account(ALICE).balance == 0
    assert t.app.account(ALICE).nonce == 1
    assert t.app.account(BOB).balance == 100
    assert t.app.account(t.faucet_address).balance == FAUCET_FUNDS - 100 - 3
    assert t.app.account(Address(FEE_COLLECTOR)).balance == 3
    assert [e.type for e in res.events] == ["transfer"]


def test_transfer_exceeding_balance_consumes_nonce_and_fee(t: TestNode) -> None:
    fee = 11
    raw = t.transfer(BOB, FAUCET_FUNDS, fee=fee)  # the fee makes the total exceed the balance
    t.node.submit_tx(raw, t.now())
    applied = t.produce()
    assert applied.block.txs == (raw,)
    res = applied.result.tx_results[0]
    assert NAMES[res.code] == "insufficient_funds"
    assert res.codespace == "qos"
    assert res.events == ()
    faucet = t.app.account(t.faucet_address)
    assert (faucet.balance, faucet.nonce) == (FAUCET_FUNDS - fee, 1)
    assert t.app.account(BOB).balance == 0
    assert t.app.account(Address(FEE_COLLECTOR)).balance == fee
    # the failed tx is recorded with its result
    rec = t.bundle.store.tx(tx_hash(raw))
    assert rec is not None
    assert rec.result == res


# --------------------------------------------------------------------------- nonces


def test_sequential_nonces_commit_in_one_block_in_order(t: TestNode) -> None:
    raws = [t.transfer(BOB, n + 1) for n in range(10)]
    for raw in raws:
        t.node.submit_tx(raw, t.now())
    applied = t.produce()
    assert applied.block.txs == tuple(raws)
    assert all(r.ok for r in applied.result.tx_results)
    assert t.app.account(t.faucet_address).nonce == 10
    assert t.app.account(BOB).balance == sum(range(1, 11))
    assert len(t.node.mempool) == 0
    assert pending_rows(t) == 0


def test_nonce_gap_is_refused(t: TestNode) -> None:
    t.node.submit_tx(t.transfer(BOB, 1, nonce=0), t.now())
    with pytest.raises(MempoolError) as exc:
        t.node.submit_tx(t.transfer(BOB, 1, nonce=2), t.now())
    assert exc.value.code == "nonce_gap"
    assert len(t.node.mempool) == 1
    assert pending_rows(t) == 1


def test_nonce_already_pending_is_refused(t: TestNode) -> None:
    t.node.submit_tx(t.transfer(BOB, 1, nonce=0), t.now())
    with pytest.raises(MempoolError) as exc:
        t.node.submit_tx(t.transfer(BOB, 2, nonce=0), t.now())
    assert exc.value.code == "nonce_already_pending"


def test_first_nonce_must_be_the_committed_one(t: TestNode) -> None:
    with pytest.raises(MempoolError) as exc:
        t.node.submit_tx(t.transfer(BOB, 1, nonce=1), t.now())
    assert exc.value.code == "nonce_gap"
    assert len(t.node.mempool) == 0


def test_stale_mempool_tx_is_dropped_after_a_competing_commit(t: TestNode) -> None:
    t.node.submit_tx(t.transfer(BOB, 1, nonce=0), t.now())
    t.produce()
    # a different tx with the same (now used) nonce can no longer enter
    with pytest.raises(TxRejected) as exc:
        t.node.submit_tx(t.transfer(BOB, 9, nonce=0), t.now())
    assert exc.value.code == "nonce_too_low"


# --------------------------------------------------------------------------- query


def test_account_query(t: TestNode) -> None:
    t.node.submit_tx(t.transfer(BOB, 42), t.now())
    t.produce()
    res = t.app.query("account", address_to_text(BOB).encode())
    assert res.code == 0
    assert res.value == b'{"balance": 42, "nonce": 0}'
    assert res.height == 1
    assert t.app.query("account", b"not-an-address").code == CODES["invalid_message"]
    assert t.app.query("nope", b"").code == 1
