"""The bridge between the node's IPFS blockstore and the p2p block exchange.

* :func:`blockstore_source` serves blocks to peers (``Network.set_block_source``) from a
  :class:`~qos_ipfs.blockstore.Blockstore`, reading on a worker thread (disk I/O must not
  stall the trio loop that also carries consensus);
* :func:`network_fetcher` is the ``fetch`` callable of :func:`qos_ipfs.remote.fetch_dag`:
  it splits a window of CIDs into requests of ``limits.max_block_request_count`` and runs
  at most ``concurrency`` of them at once (``Network.fetch_blocks``, verified there);
* :func:`open_node_blockstore` opens the node's embedded blockstore, the pack store at
  ``<home>/data/ipfs/packs`` (the layout of ``qos ipfs`` and ``EmbeddedBackend.open``).

``qos_ipfs`` never imports ``qos_p2p``: this module, in the composing layer, joins them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import trio

from qos_ipfs.blockstore import Blockstore
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound, BlockstoreError, InvalidCid
from qos_ipfs.packstore import PackBlockstore, open_embedded_blockstore
from qos_ipfs.remote import FetchBlocks
from qos_node.config import Home
from qos_p2p.port import BlockSource, Network, P2PError, PeerId

log = logging.getLogger("qos.blocks")

DEFAULT_CONCURRENCY = 4


def open_node_blockstore(home: Home) -> PackBlockstore:
    """The node's embedded blockstore (same directory as ``EmbeddedBackend.open``)."""
    return open_embedded_blockstore(home.data_dir / "ipfs")


def _read(store: Blockstore, cid: bytes) -> bytes | None:
    try:
        return store.get(CID.from_bytes(cid))
    except (BlockNotFound, InvalidCid):
        return None
    except BlockstoreError as exc:  # CorruptBlock: never serve it; say we do not have it
        log.warning("not serving block %s: %s", cid.hex(), exc)
        return None


def blockstore_source(store: Blockstore) -> BlockSource:
    """A block source reading `store` on a worker thread."""

    async def source(cid: bytes) -> bytes | None:
        return await trio.to_thread.run_sync(_read, store, cid)

    return source


def network_fetcher(
    network: Network, peer: PeerId | None = None, *, concurrency: int = DEFAULT_CONCURRENCY
) -> FetchBlocks:
    """`fetch` for fetch_dag: from `peer`, or from connected peers in turn (None)."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")

    async def fetch(cids: list[bytes]) -> Mapping[bytes, bytes]:
        step = max(1, network.limits.max_block_request_count)
        found: dict[bytes, bytes] = {}
        limiter = trio.CapacityLimiter(concurrency)

        async def one(part: list[bytes]) -> None:
            async with limiter:
                try:
                    found.update(await network.fetch_blocks(peer, part))
                except P2PError as exc:  # its blocks stay missing: fetch_dag reports them
                    log.info("block fetch from %s failed: %s", peer or "peers", exc)

        async with trio.open_nursery() as nursery:
            for start in range(0, len(cids), step):
                nursery.start_soon(one, cids[start : start + step])
        return found

    return fetch
