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
from qos_chain.consensus.wire import MIN_SIGNED_TX_BYTES
from qos_chain.db import open_database
from qos_chain.execution import BlockExecutor
from qos_chain.genesis import Genesis, load_genesis
from qos_chain.mempool.pool import Mempool, MempoolConfig
from qos_chain.node import ChainNode
from qos_chain.privval import FilePrivValidator
from qos_chain.store import BlockStore
from qos_fs.module import PinModule
from qos_fs.service import FileService
from qos_identity.credentials.module import CredentialModule
from qos_identity.didkey import did_key_document
from qos_identity.document import DID_KEY_PREFIX, DidDocument
from qos_identity.errors import IdentityError
from qos_identity.module import IdentityModule
from qos_identity.multikey import KeyType
from qos_identity.state import Getter, load_state
from qos_ipfs.backend import EmbeddedBackend, IpfsBackend, KuboBackend
from qos_ipfs.kubo import KuboClient
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
    app = QosApp(
        db,
        genesis.chain_id,
        modules=[BankModule(), IdentityModule(), CredentialModule(), PinModule(invocation_keys)],
    )
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
        min_tx_bytes=MIN_SIGNED_TX_BYTES,  # shorter is never a valid QOS tx: refuse peers'
    )
    node.start(now)
    return NodeBundle(home, cfg, genesis, db, store, app, node)


def invocation_keys(get: Getter, did: str) -> dict[str, bytes] | None:
    """``qos_fs.module.InvocationKeys`` over identity state: the ed25519
    capabilityInvocation methods of an active did:qos (or of a did:key)."""
    doc: DidDocument
    if did.startswith(DID_KEY_PREFIX):
        try:
            doc = did_key_document(did)
        except IdentityError:
            return None
    else:
        state = load_state(get, did)
        if state is None or state.deactivated:
            return None
        doc = state.document
    out: dict[str, bytes] = {}
    for method_id in doc.capability_invocation:
        method = doc.method(method_id)
        if method is None:
            continue
        try:
            key = method.multikey()
        except IdentityError:
            continue
        if key.key_type is KeyType.ED25519:
            out[method_id] = key.public_key
    return out


def open_file_service(home: Home, ipfs_api: str | None = None) -> FileService:
    """The node's file service: the embedded store (``<home>/data/ipfs/``, pins in
    ``data/ipfs.db``) or a Kubo daemon at ``ipfs_api``; local progress in ``data/files.db``."""
    data = home.data_dir
    data.mkdir(parents=True, exist_ok=True)
    backend: IpfsBackend
    if ipfs_api:
        backend = KuboBackend(KuboClient(ipfs_api))
    else:
        backend = EmbeddedBackend.open(data / "ipfs", data / "ipfs.db")
    return FileService(backend, open_database(data / "files.db"))
