"""A real single-validator node whose app routes bank + identity, on a manual clock.

``qos_node.testing.make_test_node`` builds a bank-only ``QosApp``; this mirrors it (and
``qos_node.wiring.build_node``) with ``IdentityModule`` added.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qos_app.app import QosApp
from qos_app.bank import BankModule
from qos_app.errors import NAMES
from qos_chain.address import address_from_public_key
from qos_chain.db import open_database
from qos_chain.execution import AppliedBlock, BlockExecutor
from qos_chain.genesis import load_genesis
from qos_chain.mempool.pool import Mempool, MempoolConfig
from qos_chain.node import ChainNode
from qos_chain.privval import FilePrivValidator
from qos_chain.sign import public_key_of
from qos_chain.store import BlockStore
from qos_chain.types import TxResult
from qos_identity.module import EVENT, IdentityModule
from qos_identity.resolver import Resolver
from qos_node.config import ConsensusConfig, Home, NodeConfig
from qos_node.init import init_home
from qos_node.testing import FAUCET_FUNDS, FAUCET_SEED, GENESIS_TIME_NS, TestNode
from qos_node.wiring import NodeBundle, code_name, solo_config

CHAIN_ID = "qos-test"


def make_identity_node(tmp_path: Path) -> TestNode:
    cfg = NodeConfig(consensus=ConsensusConfig(block_interval=3.0, min_block_interval=0.0))
    root = tmp_path / "home"
    faucet = address_from_public_key(public_key_of(FAUCET_SEED))
    init_home(
        root,
        chain_id=CHAIN_ID,
        config=cfg,
        balances={faucet: FAUCET_FUNDS},
        genesis_time_ns=GENESIS_TIME_NS,
    )
    start = GENESIS_TIME_NS + 10**9
    home = Home(root)
    genesis = load_genesis(home.genesis_file)
    home.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(home.db_path)
    store = BlockStore(db)
    app = QosApp(db, genesis.chain_id, modules=[BankModule(), IdentityModule()])
    m = cfg.mempool
    node = ChainNode(
        genesis=genesis,
        store=store,
        app=app,
        executor=BlockExecutor(db, store, app),
        mempool=Mempool(MempoolConfig(m.max_txs, m.max_bytes, m.max_tx_bytes, m.max_per_sender)),
        privval=FilePrivValidator(home.validator_key, home.validator_state),
        solo=solo_config(cfg),
        check_code_names=code_name,
    )
    node.start(start)
    return TestNode(NodeBundle(home, cfg, genesis, db, store, app, node), start)


@dataclass
class IdNode:
    """A test node plus helpers: submit txs, produce a block, read results, resolve."""

    t: TestNode
    nonce: int = 0

    __test__ = False

    @property
    def resolver(self) -> Resolver:
        return Resolver(self.t.app.store.get, self._scan)

    def _scan(self, lo: bytes, hi: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        sql = "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
        rows = self.t.bundle.db.conn.execute(sql, (lo, hi, limit))
        return [(bytes(k), bytes(v)) for k, v in rows]

    def next_nonce(self) -> int:
        n = self.nonce
        self.nonce += 1
        return n

    def block(self, *raws: bytes) -> AppliedBlock:
        for raw in raws:
            self.t.node.submit_tx(raw, self.t.now())
        return self.t.produce()

    def one(self, raw: bytes) -> TxResult:
        applied = self.block(raw)
        (result,) = applied.result.tx_results
        return result


def code_of(result: TxResult) -> str:
    return NAMES.get(result.code, str(result.code))


def op_events(result: TxResult) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == EVENT]
