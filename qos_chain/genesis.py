"""Genesis: the chain's first configuration, read from ``genesis.json``.

```json
{"chain_id": "qos-dev", "genesis_time": "2026-11-21T00:00:00Z", "initial_height": 1,
 "validators": [{"name": "v0", "public_key": "<hex>", "power": 10}],
 "consensus": {"block_max_bytes": 4194304, "block_max_txs": 10000},
 "app_state": {...}}
```
``app_state`` is handed to the application as canonical JSON bytes (sorted keys, no
whitespace), so every node's ``init_chain`` sees identical input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qos_chain.errors import ChainError
from qos_chain.fileutil import atomic_write
from qos_chain.types import Validator

DEFAULT_BLOCK_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_BLOCK_MAX_TXS = 10_000
CHAIN_ID_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$")


class GenesisError(ChainError):
    code = "invalid_genesis"


@dataclass(frozen=True, slots=True)
class ConsensusParams:
    block_max_bytes: int = DEFAULT_BLOCK_MAX_BYTES
    block_max_txs: int = DEFAULT_BLOCK_MAX_TXS


@dataclass(frozen=True, slots=True)
class Genesis:
    chain_id: str
    genesis_time_ns: int
    initial_height: int
    validators: tuple[Validator, ...]
    consensus: ConsensusParams
    app_state: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "genesis_time": format_time(self.genesis_time_ns),
            "initial_height": self.initial_height,
            "validators": [
                {"public_key": v.public_key.hex(), "power": v.power} for v in self.validators
            ],
            "consensus": {
                "block_max_bytes": self.consensus.block_max_bytes,
                "block_max_txs": self.consensus.block_max_txs,
            },
            "app_state": json.loads(self.app_state) if self.app_state else {},
        }

    def save(self, path: Path) -> None:
        atomic_write(path, (json.dumps(self.to_json(), indent=2) + "\n").encode())


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_time(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    frac = ns % 1_000_000_000
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z" if frac else f"{base}Z"


def parse_time(text: str) -> int:
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", text)
    if not m:
        raise GenesisError(f"genesis_time {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)")
    dt = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    frac = (m.group(2) or "").ljust(9, "0")
    return int(dt.timestamp()) * 1_000_000_000 + int(frac or "0")


def parse_genesis(data: dict[str, Any]) -> Genesis:
    try:
        chain_id = data["chain_id"]
        if not isinstance(chain_id, str) or not CHAIN_ID_RE.match(chain_id):
            raise GenesisError(f"invalid chain_id {chain_id!r}")
        validators = []
        for v in data["validators"]:
            validators.append(Validator(bytes.fromhex(v["public_key"]), int(v["power"])))
        if not validators:
            raise GenesisError("genesis needs at least one validator")
        cons = data.get("consensus", {})
        params = ConsensusParams(
            block_max_bytes=int(cons.get("block_max_bytes", DEFAULT_BLOCK_MAX_BYTES)),
            block_max_txs=int(cons.get("block_max_txs", DEFAULT_BLOCK_MAX_TXS)),
        )
        initial_height = int(data.get("initial_height", 1))
        if initial_height < 1:
            raise GenesisError("initial_height must be >= 1")
        return Genesis(
            chain_id=chain_id,
            genesis_time_ns=parse_time(data["genesis_time"]),
            initial_height=initial_height,
            validators=tuple(validators),
            consensus=params,
            app_state=canonical_json(data.get("app_state", {})),
        )
    except GenesisError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise GenesisError(f"malformed genesis: {exc!r}") from exc


def load_genesis(path: Path) -> Genesis:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GenesisError(f"cannot read genesis {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise GenesisError("genesis must be a JSON object")
    return parse_genesis(data)
