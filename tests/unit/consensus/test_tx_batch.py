"""TX gossip payloads: a raw tx or a TxBatch; packing respects the size limit; nodes admit
every tx of a batch and reject malformed batches before relaying."""

from __future__ import annotations

from pathlib import Path

from qos_chain import codec
from qos_chain.consensus.wire import TxBatch, batch_txs, split_tx_payload
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
    assert node.receive_tx(batch, c.clock) == 3
    assert len(node.mempool) == 3
    assert node.check_tx_message(batch) is Verdict.IGNORE  # all already known
    assert node.check_tx_message(batch[:-2]) is Verdict.REJECT  # truncated batch
    assert node.receive_tx(batch[:-2], c.clock) == 0
