"""Decode + verify once per node: QosApp caches the stateless validation of a tx by the
hash of its exact bytes and reuses it at the proposal check, rechecks and execution."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qos_app import tx as tx_module
from qos_app.errors import CODES
from qos_chain import codec
from qos_chain.abci import CheckTxKind, ProcessProposal
from qos_node.testing import TestNode, make_test_node

BOB = b"\xb0" * 20


@pytest.fixture
def t(tmp_path: Path) -> Iterator[TestNode]:
    node = make_test_node(tmp_path)
    yield node
    node.bundle.db.close()


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every signature check the app makes (the message verified)."""
    calls: list[bytes] = []
    real = tx_module.is_valid

    def counting(pk: bytes, msg: bytes, sig: bytes) -> bool:
        calls.append(msg)
        return real(pk, msg, sig)

    monkeypatch.setattr(tx_module, "is_valid", counting)
    return calls


def test_a_tx_is_verified_once_from_admission_to_execution(
    t: TestNode, verifies: list[bytes]
) -> None:
    first, second = t.transfer(BOB, 1), t.transfer(BOB, 2)
    t.node.submit_tx(first, t.now())
    t.node.submit_tx(second, t.now())
    assert len(verifies) == 2
    block = t.node.build_block(t.now())
    assert t.app.process_proposal(ProcessProposal(block.header, block.txs))
    applied = t.produce()  # execution, then a recheck of what stays pending
    assert [r.code for r in applied.result.tx_results] == [0, 0]
    assert len(verifies) == 2  # no check after admission verified again
    assert t.app.account(t.faucet_address).nonce == 2


def test_committed_txs_leave_the_cache(t: TestNode) -> None:
    raw = t.transfer(BOB, 1)
    t.node.submit_tx(raw, t.now())
    assert len(t.app._valid) == 1
    t.produce()
    assert not t.app._valid


def test_a_tampered_copy_is_verified_and_refused(t: TestNode, verifies: list[bytes]) -> None:
    raw = t.transfer(BOB, 1)
    assert t.app.check_tx(raw, CheckTxKind.NEW).ok
    tx = codec.decode(tx_module.Tx, raw)
    sig = tx.signatures[0]
    bad_sig = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    forged = codec.encode(tx_module.Tx(tx.body, (tx_module.TxSignature(sig.public_key, bad_sig),)))
    for _ in range(2):  # failures are not cached: verified (and refused) each time
        res = t.app.check_tx(forged, CheckTxKind.NEW)
        assert res.code == CODES["invalid_signature"]
    assert len(verifies) == 3


def test_state_checks_still_run_on_a_cache_hit(t: TestNode) -> None:
    stale = t.transfer(BOB, 1, nonce=0)
    assert t.app.check_tx(stale, CheckTxKind.NEW).ok  # cached, not admitted
    t.node.submit_tx(t.transfer(BOB, 2, nonce=0), t.now())  # another tx takes nonce 0
    t.produce()
    assert len(t.app._valid) == 1  # the stale tx is still a cache hit
    res = t.app.check_tx(stale, CheckTxKind.NEW)
    assert res.code == CODES["nonce_too_low"]


def test_the_cache_is_bounded(t: TestNode) -> None:
    t.app.valid_cache_size = 3
    txs = [t.transfer(BOB, 1) for _ in range(5)]
    for raw in txs:
        assert t.app.check_tx(raw, CheckTxKind.NEW).ok
    assert len(t.app._valid) == 3


def test_txs_refused_by_state_checks_are_not_remembered(t: TestNode) -> None:
    """A correctly signed tx refused for its nonce never reaches a block, so nothing would
    ever forget it: it must not occupy the cache (memory for free otherwise)."""
    far = t.transfer(BOB, 1, nonce=10_000)
    res = t.app.check_tx(far, CheckTxKind.NEW)
    assert res.code == CODES["nonce_too_high"]
    assert not t.app._valid
    assert t.app._valid_bytes == 0


def test_the_cache_is_bounded_in_bytes(t: TestNode) -> None:
    txs = [t.transfer(BOB, 1) for _ in range(5)]
    t.app.valid_cache_bytes = 3 * len(txs[0])
    for raw in txs:
        assert t.app.check_tx(raw, CheckTxKind.NEW).ok
    assert len(t.app._valid) == 3
    assert t.app._valid_bytes == sum(len(raw) for raw in txs[2:])
    t.app.forget_txs(txs)
    assert t.app._valid_bytes == 0
