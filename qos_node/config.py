"""Node configuration: the home directory layout and ``config/config.toml``.

```
<home>/config/config.toml              this file (API address, block timing, mempool)
<home>/config/genesis.json             the chain's genesis
<home>/config/priv_validator_key.json  validator key (0600; hot key, as in CometBFT)
<home>/config/node_key.json            libp2p node key (0600): the peer id
<home>/data/chain.db                   SQLite: blocks, commits, txs, app state, mempool
<home>/data/priv_validator_state.json  last signed (height, round, step): double-sign guard
<home>/keyring/                        encrypted wallet keys (``qos keys``)
```
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qos_chain.errors import QosError


class ConfigError(QosError):
    code = "invalid_config"


@dataclass(frozen=True, slots=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True, slots=True)
class ConsensusConfig:
    block_interval: float = 3.0  # seconds: at least one block this often when idle
    min_block_interval: float = 0.2  # seconds: batch txs that arrive back to back
    create_empty_blocks: bool = True


@dataclass(frozen=True, slots=True)
class MempoolSettings:
    max_txs: int = 5000
    max_bytes: int = 64 * 1024 * 1024
    max_tx_bytes: int = 64 * 1024
    max_per_sender: int = 256


@dataclass(frozen=True, slots=True)
class P2PConfig:
    listen: str = "/ip4/127.0.0.1/tcp/26656"
    peers: tuple[str, ...] = ()  # bootstrap multiaddrs ending in /p2p/<peer id>

    def __post_init__(self) -> None:
        object.__setattr__(self, "peers", tuple(self.peers))


@dataclass(frozen=True, slots=True)
class NodeConfig:
    api: ApiConfig = field(default_factory=ApiConfig)
    consensus: ConsensusConfig = field(default_factory=ConsensusConfig)
    mempool: MempoolSettings = field(default_factory=MempoolSettings)
    p2p: P2PConfig = field(default_factory=P2PConfig)


@dataclass(frozen=True, slots=True)
class Home:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def genesis_file(self) -> Path:
        return self.config_dir / "genesis.json"

    @property
    def validator_key(self) -> Path:
        return self.config_dir / "priv_validator_key.json"

    @property
    def validator_state(self) -> Path:
        return self.data_dir / "priv_validator_state.json"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "chain.db"

    def is_initialised(self) -> bool:
        return self.genesis_file.exists() and self.validator_key.exists()


def render_config(cfg: NodeConfig) -> str:
    c = cfg.consensus
    m = cfg.mempool
    return (
        "# QOS node configuration\n"
        "[api]\n"
        f'host = "{cfg.api.host}"\n'
        f"port = {cfg.api.port}\n\n"
        "[consensus]\n"
        "# seconds; the white paper's 3 s block threshold\n"
        f"block_interval = {c.block_interval}\n"
        f"min_block_interval = {c.min_block_interval}\n"
        f"create_empty_blocks = {'true' if c.create_empty_blocks else 'false'}\n\n"
        "[mempool]\n"
        f"max_txs = {m.max_txs}\n"
        f"max_bytes = {m.max_bytes}\n"
        f"max_tx_bytes = {m.max_tx_bytes}\n"
        f"max_per_sender = {m.max_per_sender}\n\n"
        "[p2p]\n"
        f'listen = "{cfg.p2p.listen}"\n'
        "# bootstrap peers: /ip4/HOST/tcp/PORT/p2p/PEER_ID\n"
        f"peers = [{', '.join(json.dumps(p) for p in cfg.p2p.peers)}]\n"
    )


def _section(data: dict[str, Any], name: str, cls: type[Any]) -> Any:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    allowed = set(cls.__dataclass_fields__)
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"unknown keys in [{name}]: {', '.join(sorted(unknown))}")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise ConfigError(f"[{name}]: {exc}") from exc


def load_config(path: Path) -> NodeConfig:
    if not path.exists():
        return NodeConfig()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return NodeConfig(
        api=_section(data, "api", ApiConfig),
        consensus=_section(data, "consensus", ConsensusConfig),
        mempool=_section(data, "mempool", MempoolSettings),
        p2p=_section(data, "p2p", P2PConfig),
    )
