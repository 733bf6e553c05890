"""Cyclic garbage collector settings for a node process (``qos node``, devnet members).

With CPython's defaults (thresholds 700/10/10) a loaded validator ran ~25 young
collections a second and a full collection every ~5 s that stopped its trio thread for
160-220 ms of wall time (at 1,000-1,200 tx/s on the 4-validator devnet,
bench/network_bench.py), pauses that land in block latency. Most of what
a full collection scanned was the ~140,000 objects that exist once the node has started
(modules, classes, the app, genesis state) and never die; decoding a proposal or a tx
batch allocates thousands of objects at once, which with a 700 threshold can trigger
several young collections per batch, each rescanning the same live objects (freezing
alone cut the full collection to 13-48 ms of wall time).

The node therefore freezes its start-up objects (``gc.freeze``: moved to a permanent
generation that collections skip) and raises the young threshold to 10,000 net
allocations. Objects are still freed by reference counting the moment they are
unreachable; only cycles wait for a collection, and every generation still runs (a full
collection after 100 young ones). Measured at 1,200 tx/s (thread CPU time in
``gc.callbacks``, docs/performance.md): 27-53 ms of GC per second before, with a full
collection of 95-110 ms CPU every ~5 s; 0-9 ms per second after, no full collection in
30 s. In A/B runs the benchmark's throughput and latency moved within the noise.

``QOS_NODE_GC=python`` keeps CPython's defaults (for comparison, or to rule the setting
out when chasing memory).
"""

from __future__ import annotations

import gc
import os

NODE_GC_THRESHOLDS = (10_000, 10, 10)
ENV = "QOS_NODE_GC"


def tune_for_node() -> bool:
    """Freeze what exists now and raise the thresholds; call once the node is built,
    before it serves. Returns False (and changes nothing) under ``QOS_NODE_GC=python``."""
    if os.environ.get(ENV, "").strip().lower() == "python":
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*NODE_GC_THRESHOLDS)
    return True
