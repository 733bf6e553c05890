"""Transactions per second through mempool admission + block execution on one node.

Pre-signed transfers from ``senders`` accounts (funded in genesis) are submitted to a real
node (SQLite on disk, durable mempool, QosApp, signer) on a manual clock; blocks are produced
until every tx is committed. The denominator measured in the same run is the raw ed25519
verification rate (pynacl), since each tx is verified at admission and at execution.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from nacl.signing import SigningKey

from qos_chain.address import Address, address_from_public_key
from qos_chain.sign import public_key_of
from qos_node.config import ConsensusConfig, Home, NodeConfig
from qos_node.init import init_home
from qos_node.testing import make_transfer
from qos_node.wiring import build_node

GENESIS_NS = 1_767_225_600 * 10**9


def ed25519_verify_rate(n: int = 4000) -> float:
    key = SigningKey(bytes(32))
    vk = key.verify_key
    msgs = [i.to_bytes(8, "big") * 20 for i in range(n)]
    sigs = [key.sign(m).signature for m in msgs]
    t0 = time.perf_counter()
    for m, s in zip(msgs, sigs, strict=True):
        vk.verify(m, s)
    return n / (time.perf_counter() - t0)


def run(n_txs: int, n_senders: int) -> None:
    seeds = [bytes([i % 256, i // 256]) + bytes(30) for i in range(n_senders)]
    funded: dict[Address, int] = {address_from_public_key(public_key_of(s)): 10**12 for s in seeds}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        cfg = NodeConfig(consensus=ConsensusConfig(block_interval=3.0, min_block_interval=0.0))
        init_home(
            root, chain_id="qos-bench", config=cfg, balances=funded, genesis_time_ns=GENESIS_NS
        )
        clock = GENESIS_NS + 10**9
        bundle = build_node(Home(root), clock, cfg)
        node = bundle.node
        per = n_txs // n_senders
        to = bytes([9]) * 20
        txs = [
            make_transfer("qos-bench", seeds[s], to, 1, nonce)
            for nonce in range(per)
            for s in range(n_senders)
        ]
        committed = 0
        blocks = 0

        def count(applied: object) -> None:
            nonlocal committed, blocks
            committed += len(applied.block.txs)  # type: ignore[attr-defined]
            blocks += 1

        node.add_listener(count)
        verify_rate = ed25519_verify_rate()
        t0 = time.perf_counter()
        for raw in txs:
            node.submit_tx(raw, clock)
        t_admit = time.perf_counter() - t0
        t1 = time.perf_counter()
        while committed < len(txs):
            clock += 10**8
            node.step(clock)
        t_exec = time.perf_counter() - t1
        total = time.perf_counter() - t0
        bundle.db.close()
    n = len(txs)
    rate = n / total
    print(f"tx throughput (1 node, {n} transfers from {n_senders} senders, {blocks} blocks)")
    print(f"  admission (check_tx + mempool + durable ack): {n / t_admit:10.0f} tx/s")
    print(f"  block execution (finalize + commit):          {n / t_exec:10.0f} tx/s")
    print(f"  end to end:                                   {rate:10.0f} tx/s")
    print(f"  raw ed25519 verify (pynacl, same run):        {verify_rate:10.0f} verify/s")
    print(f"  ratio end-to-end / raw verify:                {rate / verify_rate:10.3f}")
    print("  (each tx is verified twice: admission and execution; ideal ratio ~0.5)")
