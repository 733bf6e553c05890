"""Wiring: build a node (database, stores, app, mempool, signer, engine) from a home."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from qos_app.app import QosApp
from qos_app.bank import BankModule
from qos_app.errors import NAMES
from qos_chain.abci import CheckTxResult
from qos_chain.consensus.solo import SoloConfig
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.consensus.wal import ConsensusWal
from qos_chain.db import open_database
from qos_chain.execution import BlockExecutor
from qos_chain.genesis import Genesis, load_genesis
from qos_chain.mempool.pool import Mempool, MempoolConfig
from qos_chain.node import ChainNode
from qos_chain.privval import FilePrivValidator
from qos_chain.store import BlockStore
from qos_identity.credentials.module import CredentialModule
from qos_identity.module import IdentityModule
from qos_node.config import Home, NodeConfig, load_config


@dataclass(slots=True)
class NodeBundle:
    home: Home
    config: NodeConfig
    genesis: Genesis
    db: Database
    store: BlockStore
    app: QosApp
    node: ChainNode


def code_name(check: CheckTxResult) -> str:
    return NAMES.get(check.code, f"{check.codespace}:{check.code}")


def solo_config(cfg: NodeConfig) -> SoloConfig:
    c = cfg.consensus
    return SoloConfig(
        block_interval_ns=int(c.block_interval * 1e9),
        min_block_interval_ns=int(c.min_block_interval * 1e9),
        create_empty_blocks=c.create_empty_blocks,
    )


def timeout_config(cfg: NodeConfig) -> TimeoutConfig:
    """Tendermint timeouts: CometBFT's defaults, commit wait = the configured block interval."""
    return TimeoutConfig(commit_ns=int(cfg.consensus.block_interval * 1e9))


def build_node(home: Home, now: int, config: NodeConfig | None = None) -> NodeBundle:
    cfg = config or load_config(home.config_file)
    genesis = load_genesis(home.genesis_file)
    home.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(home.db_path)
    store = BlockStore(db)
    app = QosApp(db, genesis.chain_id, modules=[BankModule(), IdentityModule(), CredentialModule()])
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
        timeouts=timeout_config(cfg),
        wal=ConsensusWal(home.data_dir / "cs.wal"),
    )
    node.start(now)
    return NodeBundle(home, cfg, genesis, db, store, app, node)
