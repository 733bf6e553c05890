"""A peer's TX payload on a QOS node: txs invalid whatever the state (malformed, badly
signed, under the smallest signed tx) count against the peer; txs refused for the state
they meet (a nonce too far ahead) do not."""

from __future__ import annotations

from pathlib import Path

from qos_app.tx import Fee, Tx, TxBody, TxSignature
from qos_chain import codec
from qos_chain.consensus.wire import MIN_SIGNED_TX_BYTES, TxBatch
from qos_chain.node import ReceivedTxs
from qos_chain.replica import Verdict
from qos_node.testing import make_test_node

TO = bytes(range(20))


def test_invalid_txs_are_reported_and_state_refusals_are_not(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    node = t.node
    valid = t.transfer(TO, 5)
    ahead = t.transfer(TO, 5, nonce=10_000)  # nonce_too_high: the state, not the peer
    tampered = valid[:-1] + bytes([valid[-1] ^ 1])  # signature no longer verifies
    garbage = b"\x01" * 300
    payload = codec.encode(TxBatch((valid, garbage, tampered, ahead)))
    assert node.check_tx_message(payload) is Verdict.ACCEPT  # cheap checks pass
    assert node.receive_tx(payload, t.now()) == ReceivedTxs(admitted=1, invalid=2)
    assert len(node.mempool) == 1
    # a duplicate is neither admitted nor invalid
    assert node.receive_tx(valid, t.now()) == ReceivedTxs(0, 0)


def test_the_smallest_signed_tx_bound_holds(tmp_path: Path) -> None:
    t = make_test_node(tmp_path)
    assert len(t.transfer(TO, 1)) > MIN_SIGNED_TX_BYTES
    assert t.node.min_tx_bytes == MIN_SIGNED_TX_BYTES  # the QOS node is wired with it
    assert t.node.check_tx_message(t.transfer(TO, 1)) is Verdict.ACCEPT
    short = codec.encode(TxBatch((t.transfer(TO, 1), b"\x01" * (MIN_SIGNED_TX_BYTES - 1))))
    assert t.node.check_tx_message(short) is Verdict.REJECT


def test_no_valid_tx_is_shorter_than_the_bound() -> None:
    """Every stateless-valid tx has a 20-byte sender and one signature (32-byte key, 64-byte
    signature); with every other field empty it encodes to exactly the bound."""
    body = TxBody("", bytes(20), 0, (), Fee(0, None), "", None)
    smallest = Tx(body, (TxSignature(bytes(32), bytes(64)),))
    assert len(codec.encode(smallest)) == MIN_SIGNED_TX_BYTES


def test_peer_txs_stay_in_memory_and_client_txs_are_persisted(tmp_path: Path) -> None:
    """A client's tx is acknowledged only once durable; a peer's tx was acknowledged to
    nobody here (its node persisted it), so admitting it costs no SQLite write."""
    t = make_test_node(tmp_path)
    node = t.node
    mine = t.transfer(TO, 1)
    from_peer = t.transfer(TO, 2)
    [result] = node.submit_txs([mine], t.now())
    assert not isinstance(result, Exception)
    assert node.receive_tx(codec.encode(TxBatch((from_peer,))), t.now()) == ReceivedTxs(1, 0)
    assert len(node.mempool) == 2  # both proposable
    assert node.store.pending() == [mine]
    block = t.produce()
    assert block.block.txs == (mine, from_peer)
    assert node.store.pending() == []
