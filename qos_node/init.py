"""``qos init``: create a node home (config, genesis, validator key), optionally a dev wallet.

The dev profile (``--dev``) also imports the publicly known development mnemonic
``DEV_MNEMONIC`` as wallet key ``dev`` (password ``dev``) and funds it in genesis. It exists
so ``make run`` gives a usable chain at once; never use it for anything of value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from qos_chain.address import Address, address_to_text
from qos_chain.errors import QosError
from qos_chain.genesis import ConsensusParams, Genesis, canonical_json
from qos_chain.privval import generate_key_file
from qos_chain.types import Validator
from qos_node.config import Home, NodeConfig, render_config
from qos_wallet.keystore import KdfParams, Keystore

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_KEY_NAME = "dev"
DEV_PASSWORD = "dev"  # noqa: S105 - public by design, see module docstring
DEV_FUNDS = 10**15  # uqos (1e9 QOS)


class HomeExists(QosError):
    code = "home_exists"


@dataclass(frozen=True, slots=True)
class InitResult:
    home: Home
    chain_id: str
    validator_address: str
    dev_address: str | None


def init_home(
    root: Path,
    *,
    chain_id: str = "qos-dev",
    dev: bool = False,
    config: NodeConfig | None = None,
    balances: dict[Address, int] | None = None,
    genesis_time_ns: int | None = None,
    kdf: KdfParams | None = None,
) -> InitResult:
    home = Home(root)
    if home.genesis_file.exists() or home.validator_key.exists():
        raise HomeExists(f"{root} is already initialised (remove it or use another --home)")
    home.config_dir.mkdir(parents=True, exist_ok=True)
    home.data_dir.mkdir(parents=True, exist_ok=True)
    home.config_file.write_text(render_config(config or NodeConfig()))
    pk = generate_key_file(home.validator_key)
    funded: dict[Address, int] = dict(balances or {})
    dev_address = None
    if dev:
        ks = Keystore(root, kdf=kdf)
        info = ks.import_mnemonic(DEV_KEY_NAME, DEV_PASSWORD, DEV_MNEMONIC)
        funded[info.address] = funded.get(info.address, 0) + DEV_FUNDS
        dev_address = address_to_text(info.address)
    gtime = genesis_time_ns if genesis_time_ns is not None else time.time_ns() // 10**9 * 10**9
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_ns=gtime,
        initial_height=1,
        validators=(Validator(pk, 10),),
        consensus=ConsensusParams(),
        app_state=canonical_json(
            {"bank": {"balances": {address_to_text(a): str(v) for a, v in sorted(funded.items())}}}
        ),
    )
    genesis.save(home.genesis_file)
    val_addr = address_to_text(Validator(pk, 10).address)
    return InitResult(home, chain_id, val_addr, dev_address)
