"""qos_p2p: the peer-to-peer network, and the only package that imports libp2p and trio.

Owns (docs/network.md):
- `port`: the transport-agnostic `Network` protocol the node uses (message kinds, inbound
  messages, peer info, validator verdicts, block provider, stats, errors);
- `memory`: `MemoryHub` / `MemoryNetwork`, the same port for N nodes in one trio process,
  with optional seeded drops and delays (node tests, simulation);
- `host`: `Libp2pNetwork` on py-libp2p: Noise only, yamux, persistent node key (`keys`),
  consensus over direct per-peer streams (`direct`, `framing`), tx/evidence over
  GossipSub v1.1 (`gossip`), status handshake and block sync (`sync`), peer scores and
  bans (`scoring`), limits (`limits`), counters (`counters`);
- `demo`: a small process entry (`python -m qos_p2p.demo`) for cross-process tests.

Must not import qos_api or qos_node; the chain core never imports this package.
"""

import warnings

# websockets >= 14 warns on import of its legacy module, which py-libp2p's websocket
# transport imports at `import libp2p`; we never use that transport. Silenced here, for
# that one message, so `-W error` stays usable for every importer of qos_p2p.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"websockets\.legacy is deprecated", category=DeprecationWarning
    )
    import libp2p  # noqa: F401
