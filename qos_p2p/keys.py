"""The persistent node key: an ed25519 libp2p identity in `<home>/config/node_key.json`.

The file holds the 32-byte seed (hex) and the derived peer id; it is created with mode
0600 when absent and refused when it is readable by others. The peer id is the base58
libp2p peer id (`12D3KooW...`), stable across restarts.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from qos_p2p.port import LocalP2PError, PeerId

KEY_FILE = Path("config") / "node_key.json"


class NodeKeyError(LocalP2PError):
    """The node key file is unreadable, malformed or too permissive."""


@dataclass(frozen=True)
class NodeKey:
    """A libp2p key pair (opaque: `key_pair` is libp2p's KeyPair) and its peer id."""

    seed: bytes
    key_pair: Any
    peer_id: PeerId


def node_key_from_seed(seed: bytes) -> NodeKey:
    if len(seed) != 32:
        raise NodeKeyError("an ed25519 seed is 32 bytes")
    key_pair = create_new_key_pair(seed)
    peer_id = PeerId(str(ID.from_pubkey(key_pair.public_key).to_base58()))
    return NodeKey(seed=seed, key_pair=key_pair, peer_id=peer_id)


def generate_node_key() -> NodeKey:
    return node_key_from_seed(os.urandom(32))


def load_or_create_node_key(home: Path) -> NodeKey:
    """Load `<home>/config/node_key.json`, creating it (0600) when absent."""
    path = home / KEY_FILE
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise NodeKeyError(f"{path} must not be readable by group or others (chmod 600)")
        try:
            data = json.loads(path.read_text())
            key = node_key_from_seed(bytes.fromhex(data["seed"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise NodeKeyError(f"{path} is not a node key: {exc}") from exc
        if data.get("peer_id") not in (None, key.peer_id):
            raise NodeKeyError(f"{path}: peer_id does not match the seed")
        return key
    key = generate_node_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"type": "ed25519", "seed": key.seed.hex(), "peer_id": key.peer_id})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key
