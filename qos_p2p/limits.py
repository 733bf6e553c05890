"""Size limits, queue bounds and timeouts of the network (docs/network.md, "Limits").

The numbers come from the measured notes (shared/notes/py-libp2p.md): GossipSub silently
fails above ~1 MiB, so gossip is refused above 1 MiB minus headroom; direct consensus
frames and sync answers have their own, larger limits.
"""

from __future__ import annotations

from qos_p2p.port import Limits

MiB = 1024 * 1024

MAX_CONSENSUS_BYTES = 4 * MiB
MAX_GOSSIP_BYTES = MiB - 64 * 1024  # room for the pubsub envelope (from, seqno, key, signature)
MAX_SYNC_COUNT = 100
MAX_SYNC_RESPONSE_BYTES = 16 * MiB
MAX_STATUS_BYTES = 4096
MAX_SYNC_REQUEST_BYTES = 64
# IPFS block exchange (/qos/blocks/1.0.0, qos_p2p.blockx). Kubo's bitswap moves blocks of up
# to 2 MiB and messages of up to 4 MiB; our largest importer chunk is 1 MiB (unixfs-v1-2025).
MAX_BLOCK_REQUEST_COUNT = 64
MAX_BLOCK_RESPONSE_BYTES = 4 * MiB
MAX_BLOCK_BYTES = 2 * MiB
MAX_CID_BYTES = 128

DEFAULT_LIMITS = Limits(
    max_consensus_bytes=MAX_CONSENSUS_BYTES,
    max_gossip_bytes=MAX_GOSSIP_BYTES,
    max_sync_count=MAX_SYNC_COUNT,
    max_sync_response_bytes=MAX_SYNC_RESPONSE_BYTES,
    max_block_request_count=MAX_BLOCK_REQUEST_COUNT,
    max_block_response_bytes=MAX_BLOCK_RESPONSE_BYTES,
    max_block_bytes=MAX_BLOCK_BYTES,
)

# Our own bounded queues (each overflow is counted in NetworkStats and logged).
PEER_OUTBOUND_QUEUE = 1024  # consensus frames waiting for one validator peer's stream
TX_OUTBOUND_QUEUE = 256  # tx batch frames waiting for one validator peer's tx stream
INBOUND_QUEUE = 8192  # validated messages waiting for the node
GOSSIP_OUTBOUND_QUEUE = 4096  # our publishes waiting for room in py-libp2p's peer queues

# py-libp2p's per-peer outbound RPC queue holds 32 and drops silently when full: our
# publisher waits until every peer queue is at most this long before publishing.
PUBSUB_PEER_QUEUE_HIGH_WATER = 16

REQUEST_TIMEOUT_S = 10.0
HANDSHAKE_TIMEOUT_S = 5.0
DIAL_TIMEOUT_S = 5.0
RECONNECT_BACKOFF_MIN_S = 0.25
RECONNECT_BACKOFF_MAX_S = 10.0
LINK_STABLE_S = 10.0  # a direct link up this long reopens at once when it breaks (no backoff)
