"""did:qos benchmarks (issue 4): creates through the whole stack, and resolution latency.

(a) Creates per second on one node, in-process (real SQLite file, durable mempool, QosApp
    with IdentityModule, signer; manual clock): pre-signed single-create txs, each from the
    update key's own account, are submitted, blocks produced until all commit, then every
    DID is resolved from a read-only connection (signed tx -> committed -> resolvable).
    Side by side: the identity app alone (``IdentityModule.validate`` + ``handle`` on an
    in-memory cache, no chain) and creates batched 100 per tx (``MsgDidBatch``).
(b) Resolution latency at the server with ``n_dids`` DIDs in state, through REST
    (``GET /1.0/identifiers/{did}``) and GraphQL (``resolveDid``), driven in-process with
    ``httpx.ASGITransport`` against ``create_app(LocalNodePort)`` (reads on the port's
    thread pool over read-only WAL connections, as in production; no TCP). State is
    populated fast but genuinely: every record is written by the real ``IdentityModule``
    (signed create, validated, signature checked, applied) in worker processes, then the
    writes are staged and committed through ``MerkleStore.stage/commit`` in large batches
    instead of through blocks.
The raw ed25519 verify rate is measured in the same run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.tx_throughput import GENESIS_NS, ed25519_verify_rate
from qos_api.app import create_app
from qos_app.context import CacheKV, Ctx
from qos_chain.execution import AppliedBlock
from qos_identity import client as c
from qos_identity.method import MsgCreateDid
from qos_identity.module import IdentityModule
from qos_identity.resolver import Resolver, sqlite_reader
from qos_node.config import ConsensusConfig, Home, NodeConfig
from qos_node.init import init_home
from qos_node.port import LocalNodePort
from qos_node.wiring import NodeBundle, build_node

CHAIN_ID = "qos-bench"
BATCH = 100  # creates per MsgDidBatch tx (the 64 KiB tx limit holds ~140)
STORE_BATCH = 250_000  # DIDs per MerkleStore.stage/commit when populating


def _seed(i: int, salt: int) -> bytes:
    return salt.to_bytes(4, "big") + i.to_bytes(8, "big") + bytes(20)


def _creates(lo: int, hi: int, salt: int = 1) -> list[MsgCreateDid]:
    return [c.create_did(CHAIN_ID, _seed(i, salt), _seed(i, salt + 1))[1] for i in range(lo, hi)]


def _node(tmp: str, name: str) -> tuple[NodeBundle, int]:
    root = Path(tmp) / name
    cfg = NodeConfig(consensus=ConsensusConfig(block_interval=3.0, min_block_interval=0.0))
    init_home(root, chain_id=CHAIN_ID, config=cfg, balances={}, genesis_time_ns=GENESIS_NS)
    clock = GENESIS_NS + 10**9
    return build_node(Home(root), clock, cfg), clock


def _run_chain(bundle: NodeBundle, clock: int, txs: Sequence[bytes]) -> tuple[float, int]:
    """Submit ``txs``, produce blocks until all commit; (seconds, blocks)."""
    node = bundle.node
    committed = blocks = 0

    def count(applied: AppliedBlock) -> None:
        nonlocal committed, blocks
        committed += len(applied.block.txs)
        blocks += 1
        assert all(r.ok for r in applied.result.tx_results), "a create failed"

    node.add_listener(count)
    t0 = time.perf_counter()
    for raw in txs:
        node.submit_tx(raw, clock)
    while committed < len(txs):
        clock += 10**8
        node.step(clock)
    return time.perf_counter() - t0, blocks


def app_only_rate(ops: Sequence[MsgCreateDid]) -> float:
    module = IdentityModule()
    kv = CacheKV(lambda _k: None)
    t0 = time.perf_counter()
    for op in ops:
        module.validate(op)
        module.handle(Ctx(kv, CHAIN_ID, 1, GENESIS_NS, bytes(20)), op)
    return len(ops) / (time.perf_counter() - t0)


def creates(n: int, tmp: str) -> dict[str, float]:
    ops = _creates(0, n)
    seeds = [_seed(i, 1) for i in range(n)]
    txs = [c.wrap_in_tx(CHAIN_ID, s, 0, [op]) for s, op in zip(seeds, ops, strict=True)]
    bundle, clock = _node(tmp, "creates")
    secs, blocks = _run_chain(bundle, clock, txs)
    t0 = time.perf_counter()
    resolver = Resolver(*sqlite_reader(bundle.db.conn))
    assert all(resolver.resolve(op.did).error is None for op in ops)
    t_resolve = time.perf_counter() - t0
    bundle.db.close()

    bops = _creates(0, n, salt=7)
    sender = _seed(0, 99)
    btxs = [
        c.wrap_in_tx(CHAIN_ID, sender, k, [c.batch(bops[i : i + BATCH])])
        for k, i in enumerate(range(0, n, BATCH))
    ]
    bundle2, clock2 = _node(tmp, "batched")
    bsecs, _ = _run_chain(bundle2, clock2, btxs)
    bundle2.db.close()
    return {
        "n": n,
        "blocks": blocks,
        "chain": n / secs,
        "chain_resolvable": n / (secs + t_resolve),
        "batched": n / bsecs,
        "app": app_only_rate(_creates(0, min(n, 5000), salt=11)),
    }


# --------------------------------------------------------------------------- population


def _genuine_writes(args: tuple[int, int]) -> dict[bytes, bytes | None]:
    """The state writes of creates ``lo..hi`` applied by the real IdentityModule."""
    lo, hi = args
    module = IdentityModule()
    kv = CacheKV(lambda _k: None)
    for i, op in enumerate(_creates(lo, hi, salt=21)):
        module.validate(op)
        module.handle(Ctx(kv, CHAIN_ID, 1 + (lo + i) // 1000, GENESIS_NS + lo + i, bytes(20)), op)
    return kv.writes


def populate(bundle: NodeBundle, n: int, workers: int) -> float:
    t0 = time.perf_counter()
    chunk = 5000
    spans = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
    store = bundle.app.store
    pending: dict[bytes, bytes | None] = {}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        for done, writes in enumerate(pool.imap(_genuine_writes, spans), 1):
            pending.update(writes)
            if len(pending) >= 3 * STORE_BATCH or done == len(spans):
                with bundle.db.conn:
                    store.stage(pending, store.height)
                    store.commit()
                pending = {}
                took = time.perf_counter() - t0
                print(f"    {min(done * chunk, n):>9,} DIDs in state ({took:.0f}s)")
    return time.perf_counter() - t0


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def _latencies(
    port: LocalNodePort, dids: Sequence[str], rounds: int
) -> dict[str, list[float]]:
    app = create_app(port)
    query = (
        "query($d: String!) { resolveDid(did: $d) { didDocument "
        "didDocumentMetadata { versionId } } }"
    )
    out: dict[str, list[float]] = {"rest": [], "graphql": []}
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(50):  # warm up threads, connections and caches
            await client.get(f"/1.0/identifiers/{dids[0]}")
            await client.post("/graphql", json={"query": query, "variables": {"d": dids[0]}})
        for did in random.sample(list(dids), min(rounds, len(dids))):
            t0 = time.perf_counter()
            r = await client.get(f"/1.0/identifiers/{did}")
            out["rest"].append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            t0 = time.perf_counter()
            g = await client.post("/graphql", json={"query": query, "variables": {"d": did}})
            out["graphql"].append(time.perf_counter() - t0)
            assert g.json()["data"]["resolveDid"]["didDocument"]["id"] == did
    return out


def resolution(n: int, rounds: int, tmp: str, workers: int) -> dict[str, float]:
    bundle, clock = _node(tmp, "resolve")
    t_pop = populate(bundle, n, workers)
    dids = [op.did for op in _creates(0, min(n, 20_000), salt=21)]
    if n > len(dids):  # sample across the whole range too
        dids += [op.did for op in _creates(n - 1000, n, salt=21)]
    port = LocalNodePort(bundle.node, bundle.app, bundle.home.db_path, clock=lambda: clock)
    try:
        lat = asyncio.run(_latencies(port, dids, rounds))
    finally:
        port.close()
    direct: list[float] = []
    resolver = Resolver(*sqlite_reader(bundle.db.conn))
    for did in random.sample(dids, min(rounds, len(dids))):
        t0 = time.perf_counter()
        resolver.resolve(did)
        direct.append(time.perf_counter() - t0)
    rows = bundle.db.conn.execute("SELECT count(*) FROM app_state").fetchone()[0]
    bundle.db.close()
    res = {"n": n, "populate_s": t_pop, "rows": rows}
    for name, xs in [*lat.items(), ("direct", direct)]:
        res[f"{name}_p50"] = statistics.median(xs) * 1e3
        res[f"{name}_p99"] = _pct(xs, 0.99) * 1e3
    return res


def run(n_creates: int, n_dids: int, rounds: int, workers: int = 2) -> None:
    verify = ed25519_verify_rate()
    with tempfile.TemporaryDirectory() as tmp:
        cr = creates(n_creates, tmp)
        print(f"did:qos creates (1 node, {cr['n']:,} single-create txs, {cr['blocks']:.0f} blocks)")
        print(f"  identity app alone (validate + handle):       {cr['app']:10.0f} creates/s")
        print(f"  whole stack, signed tx -> committed:          {cr['chain']:10.0f} creates/s")
        resolvable = cr["chain_resolvable"]
        print(f"  ... -> resolvable (every DID resolved after): {resolvable:10.0f} creates/s")
        print(f"  whole stack, {BATCH} creates per MsgDidBatch tx: {cr['batched']:10.0f} creates/s")
        print(f"  raw ed25519 verify (pynacl, same run):        {verify:10.0f} verify/s")
        print(f"  ratio whole stack / app alone:                {cr['chain'] / cr['app']:10.3f}")
        print(f"  ratio batched / app alone:                    {cr['batched'] / cr['app']:10.3f}")
        print(f"did:qos resolution ({n_dids:,} DIDs in state, populating...)")
        rs = resolution(n_dids, rounds, tmp, workers)
        print(
            f"  populated {rs['n']:,} DIDs ({rs['rows']:,} state rows) in {rs['populate_s']:.0f}s"
        )
        print(f"  in-process ASGI (httpx.ASGITransport), {rounds} random DIDs, sequential:")
        for name, label in [
            ("rest", "REST GET /1.0/identifiers"),
            ("graphql", "GraphQL resolveDid"),
            ("direct", "Resolver on SQLite (no API)"),
        ]:
            print(
                f"  {label:<29} p50 {rs[name + '_p50']:6.2f} ms   p99 {rs[name + '_p99']:6.2f} ms"
            )
        print("  target: p99 < 5 ms at the server with 1,000,000 DIDs")
