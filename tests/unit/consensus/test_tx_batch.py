"""TX gossip payloads: a raw tx or a TxBatch; packing respects the size limit; nodes admit
every tx of a batch and reject malformed batches before relaying."""

from __future__ import annotations

from pathlib import Path

import pytest

from qos_chain import codec
from qos_chain.consensus.wire import MAX_TX_BATCH_TXS, TxBatch, batch_txs, split_tx_payload
from qos_chain.errors import DecodeError
from qos_chain.node import ReceivedTxs
from qos_chain.replica import Verdict
from qos_chain.testing.cluster import Cluster


def test_single_tx_stays_raw_and_batches_round_trip() -> None:
    assert batch_txs([b"a=1"], 1000) == [b"a=1"]
    txs = [f"k{i}=v".encode() for i in range(50)]
    payloads = batch_txs(txs, 1000)
    assert len(payloads) == 1
    assert split_tx_payload(payloads[0]) == tuple(txs)


def test_batches_respect_the_size_limit() -> None:
    txs = [bytes([65 + i % 26]) * 100 + b"=x" for i in range(100)]
    payloads = batch_txs(txs, 1024)
    assert len(payloads) > 1
    assert all(len(p) <= 1024 + 16 for p in payloads)
    assert [tx for p in payloads for tx in split_tx_payload(p)] == txs


def test_node_admits_a_batch_and_rejects_a_malformed_one(tmp_path: Path) -> None:
    c = Cluster(tmp_path, 4)
    node = c.members[1].node
    assert node is not None
    batch = codec.encode(TxBatch((b"x=1", b"y=2", b"z=3")))
    assert node.check_tx_message(batch) is Verdict.ACCEPT
    assert node.receive_tx(batch, c.clock) == ReceivedTxs(3, 0)
    assert len(node.mempool) == 3
    assert node.check_tx_message(batch) is Verdict.IGNORE  # all already known
    assert node.check_tx_message(batch[:-2]) is Verdict.REJECT  # truncated batch
    assert node.receive_tx(batch[:-2], c.clock) == ReceivedTxs(0, 1)


def test_batches_respect_the_tx_count_bound() -> None:
    txs = [f"k{i}=v".encode() for i in range(MAX_TX_BATCH_TXS + 10)]
    payloads = batch_txs(txs, 10 * 1024 * 1024)
    assert [len(split_tx_payload(p)) for p in payloads] == [MAX_TX_BATCH_TXS, 10]
    assert len(batch_txs(txs[:30], 10**6, max_txs=7)) == 5


def test_a_batch_over_the_count_bound_is_refused_before_it_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's stall: ~1 MB of one-byte txs. Refused on its count prefix: no tx is
    decoded, checked or admitted, and receive_tx reports it as invalid."""
    c = Cluster(tmp_path, 4)
    node = c.members[1].node
    assert node is not None
    flood = codec.encode(TxBatch(tuple(bytes([i % 251]) for i in range(491_518))))
    decoded: list[object] = []
    real_decode = codec.decode
    monkeypatch.setattr(codec, "decode", lambda *a: decoded.append(a) or real_decode(*a))
    with pytest.raises(DecodeError, match="exceeds"):
        split_tx_payload(flood)
    assert node.check_tx_message(flood) is Verdict.REJECT
    checked: list[bytes] = []
    monkeypatch.setattr(node.app, "check_tx", lambda tx, kind: checked.append(tx))
    assert node.receive_tx(flood, c.clock) == ReceivedTxs(0, 1)
    assert decoded == []
    assert checked == []
    assert len(node.mempool) == 0
    at_bound = codec.encode(TxBatch(tuple(f"k{i}=v".encode() for i in range(MAX_TX_BATCH_TXS))))
    monkeypatch.undo()
    assert node.check_tx_message(at_bound) is Verdict.ACCEPT


def test_a_tx_under_the_minimum_size_rejects_the_message(tmp_path: Path) -> None:
    c = Cluster(tmp_path, 4)
    node = c.members[1].node
    assert node is not None
    node.min_tx_bytes = 5
    assert node.check_tx_message(codec.encode(TxBatch((b"key=1", b"k=12")))) is Verdict.REJECT
    assert node.check_tx_message(b"k=12") is Verdict.REJECT
    assert node.check_tx_message(codec.encode(TxBatch((b"key=1", b"ke=12")))) is Verdict.ACCEPT
