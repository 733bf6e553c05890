"""A local multi-validator network on loopback (``qos devnet``).

``create_devnet`` writes N homes under one directory that share one genesis (N validators
of equal power, the dev account funded), each with its own API port and p2p port and the
other validators as bootstrap peers. ``Devnet`` starts them as separate processes and
stops them by process id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from qos_chain.address import Address, address_to_text
from qos_chain.errors import QosError
from qos_chain.genesis import ConsensusParams, Genesis, canonical_json
from qos_chain.privval import generate_key_file
from qos_chain.types import Validator
from qos_node.config import ApiConfig, ConsensusConfig, Home, NodeConfig, P2PConfig, render_config
from qos_node.init import DEV_FUNDS, DEV_KEY_NAME, DEV_MNEMONIC, DEV_PASSWORD
from qos_node.process import NodeProcess
from qos_p2p.keys import load_or_create_node_key
from qos_wallet.keystore import KdfParams, Keystore

MAX_VALIDATORS = 21
MANIFEST = "devnet.json"


class DevnetError(QosError):
    code = "devnet_error"


@dataclass(frozen=True, slots=True)
class DevnetMember:
    name: str
    home: Path
    api_port: int
    p2p_port: int
    peer_id: str

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"

    @property
    def graphql(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/graphql"


def create_devnet(
    root: Path,
    n: int,
    *,
    chain_id: str = "qos-devnet",
    base_api_port: int = 8000,
    base_p2p_port: int = 26656,
    block_interval: float = 3.0,
    kdf: KdfParams | None = None,
    ports: list[tuple[int, int]] | None = None,
    balances: dict[Address, int] | None = None,
    min_block_interval: float = 0.2,
) -> list[DevnetMember]:
    """``ports``: explicit (api, p2p) ports per validator instead of the consecutive bases."""
    if not 1 <= n <= MAX_VALIDATORS:
        raise DevnetError(f"--validators must be 1..{MAX_VALIDATORS}")
    if (root / MANIFEST).exists():
        raise DevnetError(f"{root} already holds a devnet")
    members: list[DevnetMember] = []
    validators: list[Validator] = []
    for i in range(n):
        home = Home(root / f"v{i}")
        home.config_dir.mkdir(parents=True, exist_ok=True)
        home.data_dir.mkdir(parents=True, exist_ok=True)
        validators.append(Validator(generate_key_file(home.validator_key), 10))
        key = load_or_create_node_key(home.root)
        api, p2p = ports[i] if ports else (base_api_port + i, base_p2p_port + i)
        members.append(DevnetMember(f"v{i}", home.root, api, p2p, key.peer_id))
    dev = Keystore(members[0].home, kdf=kdf).import_mnemonic(
        DEV_KEY_NAME, DEV_PASSWORD, DEV_MNEMONIC
    )
    funded: dict[Address, int] = dict(balances or {})
    funded[dev.address] = funded.get(dev.address, 0) + DEV_FUNDS
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_ns=time.time_ns() // 10**9 * 10**9,
        initial_height=1,
        validators=tuple(validators),
        consensus=ConsensusParams(),
        app_state=canonical_json(
            {"bank": {"balances": {address_to_text(a): str(v) for a, v in sorted(funded.items())}}}
        ),
    )
    for m in members:
        home = Home(m.home)
        genesis.save(home.genesis_file)
        cfg = NodeConfig(
            api=ApiConfig(port=m.api_port),
            consensus=ConsensusConfig(
                block_interval=block_interval, min_block_interval=min_block_interval
            ),
            p2p=P2PConfig(
                listen=f"/ip4/127.0.0.1/tcp/{m.p2p_port}",
                peers=tuple(o.multiaddr for o in members if o is not m),
            ),
        )
        home.config_file.write_text(render_config(cfg))
    manifest = [
        {
            "name": m.name,
            "home": m.home.name,
            "api_port": m.api_port,
            "p2p_port": m.p2p_port,
            "peer_id": m.peer_id,
        }
        for m in members
    ]
    (root / MANIFEST).write_text(json.dumps({"chain_id": chain_id, "members": manifest}, indent=2))
    return members


def add_full_node(
    root: Path, members: list[DevnetMember], api_port: int, p2p_port: int
) -> DevnetMember:
    """A non-validator home with the devnet's genesis, bootstrapping from every validator."""
    home = Home(root)
    home.config_dir.mkdir(parents=True, exist_ok=True)
    home.data_dir.mkdir(parents=True, exist_ok=True)
    generate_key_file(home.validator_key)  # its own key: not in the validator set
    home.genesis_file.write_bytes(Home(members[0].home).genesis_file.read_bytes())
    key = load_or_create_node_key(home.root)
    cfg = NodeConfig(
        api=ApiConfig(port=api_port),
        p2p=P2PConfig(
            listen=f"/ip4/127.0.0.1/tcp/{p2p_port}", peers=tuple(m.multiaddr for m in members)
        ),
    )
    home.config_file.write_text(render_config(cfg))
    return DevnetMember(root.name, root, api_port, p2p_port, key.peer_id)


def load_devnet(root: Path) -> list[DevnetMember]:
    try:
        data = json.loads((root / MANIFEST).read_text())
        return [
            DevnetMember(m["name"], root / m["home"], m["api_port"], m["p2p_port"], m["peer_id"])
            for m in data["members"]
        ]
    except (OSError, ValueError, KeyError) as exc:
        raise DevnetError(f"{root} holds no readable devnet: {exc}") from exc


class Devnet:
    def __init__(self, members: list[DevnetMember]) -> None:
        self.members = members
        self.procs = [NodeProcess(m.home, m.api_port, p2p_listen=None) for m in members]

    def start(self, timeout: float = 60.0) -> None:
        for p in self.procs:
            p.start()
        for p in self.procs:
            p.wait_ready(timeout)

    def stop(self) -> None:
        for p in self.procs:
            p.stop()
