"""Fetch a whole DAG from elsewhere into a local blockstore (docs/ipfs.md, "Fetching").

:func:`fetch_dag` walks a UnixFS DAG breadth first from its root: a block already in the
local store is read and its children followed; missing blocks are asked from ``fetch``
(any async callable ``list[cid bytes] -> {cid bytes: block}``; on a QOS node it is the p2p
network's block exchange, bridged in ``qos_node``), at most ``window`` CIDs per call, so at
most ``window`` blocks are in memory at once. Every block is verified against its CID by
the blockstore's ``put`` (``HashMismatch``) before it is stored or decoded, whatever the
fetcher did; a block the fetcher did not return, or returned wrong, raises
:class:`BlocksUnavailable` naming the missing CIDs. Children are found with
:func:`qos_ipfs.dagpb.child_cids` (dag-pb links; raw leaves have none).

This module does no I/O of its own and imports no event loop library: concurrency across
peers is the fetcher's business (it may split a window into parallel requests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from qos_ipfs.blockstore import Blockstore, write_batch
from qos_ipfs.cid import CID
from qos_ipfs.dagpb import child_cids
from qos_ipfs.errors import BlockNotFound, HashMismatch, IpfsError

FetchBlocks = Callable[[list[bytes]], Awaitable[Mapping[bytes, bytes]]]
"""Ask for blocks by binary CID; return those found (missing ones are simply absent)."""

DEFAULT_WINDOW = 256
"""CIDs per fetch call: 4 requests of 64 on the p2p exchange (<= 4 x 4 MiB in flight)."""


class BlocksUnavailable(BlockNotFound):
    """Blocks of a DAG were found neither locally nor by the fetcher."""

    code = "blocks_unavailable"

    def __init__(self, root: CID, missing: Sequence[CID]) -> None:
        shown = ", ".join(str(c) for c in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        super().__init__(
            f"{len(missing)} block(s) of {root} not found locally or on any peer: {shown}{more}"
        )
        self.root = root
        self.missing = tuple(missing)


class DagTooLarge(IpfsError):
    """The DAG has more blocks than the caller allowed."""

    code = "dag_too_large"


@dataclass(slots=True)
class FetchResult:
    root: CID
    blocks: int = 0
    """Blocks of the DAG (distinct multihashes)."""
    fetched: int = 0
    """Blocks that were missing locally and are now stored."""
    fetched_bytes: int = 0
    missing: list[CID] = field(default_factory=list)


async def fetch_dag(
    root: CID,
    local: Blockstore,
    fetch: FetchBlocks,
    *,
    window: int = DEFAULT_WINDOW,
    max_blocks: int | None = None,
) -> FetchResult:
    """Make every block of the DAG under ``root`` present in ``local``.

    Raises :class:`BlocksUnavailable` (blocks found nowhere; those fetched so far stay
    stored, so a retry only asks for the rest), :class:`DagTooLarge`,
    :class:`~qos_ipfs.errors.MalformedNode` (a dag-pb block that does not decode).
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    result = FetchResult(root)
    seen: set[bytes] = set()
    level: list[CID] = [root]
    while level:
        todo: list[CID] = []
        for cid in level:
            if cid.multihash in seen:
                continue
            seen.add(cid.multihash)
            if max_blocks is not None and len(seen) > max_blocks:
                raise DagTooLarge(f"{root} has more than {max_blocks} blocks")
            todo.append(cid)
        result.blocks += len(todo)
        children: list[CID] = []
        for start in range(0, len(todo), window):
            part = todo[start : start + window]
            present = {c.multihash for c in part if local.has(c)}
            need = [c for c in part if c.multihash not in present]
            got = await fetch([c.to_bytes() for c in need]) if need else {}
            with write_batch(local) as batch:  # one durable commit per window
                for cid in part:
                    if cid.multihash in present:
                        block = local.get(cid)
                    else:
                        fetched = got.get(cid.to_bytes())
                        if fetched is None:
                            result.missing.append(cid)
                            continue
                        try:
                            batch.put(cid, fetched)
                        except HashMismatch:
                            result.missing.append(cid)
                            continue
                        block = fetched
                        result.fetched += 1
                        result.fetched_bytes += len(block)
                    children.extend(child_cids(cid, block))
        if result.missing:
            raise BlocksUnavailable(root, result.missing)
        level = children
    return result
