"""``pins`` listing latency (issue 6): GraphQL ``pins(...)`` and REST ``GET /pins`` at the
server with many on-chain records and many local pins.

Population (``n`` on-chain records AND ``n`` local pins; both listings read their own store):

* **On-chain records** (``pin/rec/<owner>/<cid>`` + the ``pin/cid``, ``pin/name`` and
  ``pin/byname`` indexes): ``OWNERS`` did:qos owners plus one big owner holding
  ``min(100,000, n / 10)`` records; each owner DID is created by the real
  ``IdentityModule`` and every record is a ``MsgPin`` signed by the owner's key
  (``qos_fs.client.pin_msg``), validated, authorised (DID keys, nonce, signature) and
  applied by the real ``PinModule`` in worker processes; the writes are then staged and
  committed through ``MerkleStore.stage/commit`` in large
  batches instead of through blocks. The first ``SHARED`` pins of every ordinary owner name
  the same popular CIDs (a CID pinned by ~1,000 owners). Names repeat ~20 times across the
  whole set (``file-<k>.dat``).
* **This node's progress** on each on-chain record (``fs_chain_pins``): the statement of
  ``FileService._set_chain``, in one transaction per batch (95 % pinned, 5 % failed).
* **Local pins** (``fs_pins``, the Pinning Service API's): the same owner spread, inserted
  with the service's own ``INSERT`` and unique creation clock (``FileService._now_unique``),
  many per transaction (a ``request_pin`` commits once per pin); 90 % pinned, 5 % failed,
  5 % queued, owners interleaved in creation order. A few rows are then read back through
  ``FileService.get_pin`` to check the shape.

Latency at the server: ``create_app(LocalNodePort(..., files=FileService))`` driven
in-process with ``httpx.ASGITransport`` (reads on the port's thread pool over read-only WAL
connections, the file service's own connection for progress and local pins; no TCP),
sequential, ``rounds`` samples per query after a warm-up; p50 / p95 / p99 in ms. The direct
calls under the API (no HTTP, no GraphQL) are timed too, to show where the time goes.
The name listings are checked to return every record of the name (chain and local).

``--pins-dir DIR`` keeps the populated node in ``DIR`` (the population takes minutes at
1,000,000); a later run with the same ``--pins`` measures it again without populating
(pending ``qos_fs`` migrations apply when the file service opens it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.did_bench import _node, _pct
from bench.tx_throughput import GENESIS_NS
from qos_api.app import create_app
from qos_api.files import _encode
from qos_app.context import CacheKV, Ctx
from qos_app.store import MerkleStore
from qos_chain.db import open_database
from qos_chain.store import BlockStore
from qos_fs.client import pin_msg
from qos_fs.module import PinModule
from qos_fs.service import _INSERT, FileService, PinQuery, PinStatus
from qos_fs.state import nonce_key, pins_page, rec_key
from qos_fs.times import format_time
from qos_identity import client as idc
from qos_identity.module import IdentityModule
from qos_identity.resolver import sqlite_reader
from qos_ipfs.cid import CID
from qos_node.config import ConsensusConfig, Home, NodeConfig
from qos_node.port import LocalNodePort
from qos_node.wiring import NodeBundle, build_node, invocation_keys, open_file_service

CHAIN_ID = "qos-bench"
OWNERS = 1000  # ordinary owners (plus one big owner)
BIG_MAX = 100_000  # the big owner's pins (at most n / 10)
SHARED = 5  # popular CIDs, pinned by every ordinary owner
PER_NAME = 20  # pins per name (on chain, and again locally)
CHUNK = 5000  # pins per worker task
STORE_BATCH = 250_000
SALT = 6000
BIG = OWNERS  # owner index of the big owner
PAGE = 100
_SET_CHAIN = (  # FileService._set_chain's statement
    "INSERT INTO fs_chain_pins (owner, cid, status, details, updated_ns) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, cid) DO UPDATE SET "
    "status = excluded.status, details = excluded.details, "
    "updated_ns = excluded.updated_ns"
)


def _seed(i: int, salt: int) -> bytes:
    return salt.to_bytes(4, "big") + i.to_bytes(8, "big") + bytes(20)


def _owner(i: int) -> tuple[str, bytes, Any]:
    seed = _seed(i, SALT)
    did, op = idc.create_did(CHAIN_ID, seed, _seed(i, SALT + 1))
    return did, seed, op


@dataclass(frozen=True, slots=True)
class Layout:
    n: int
    big: int
    per_owner: tuple[int, ...]  # pins of owner i (index BIG = the big owner)
    names: int

    @classmethod
    def of(cls, n: int) -> Layout:
        big = min(BIG_MAX, n // 10)
        rest = n - big
        counts = [rest // OWNERS + (1 if i < rest % OWNERS else 0) for i in range(OWNERS)]
        return cls(n, big, (*counts, big), max(1, n // PER_NAME))


def chain_cid(i: int, j: int) -> bytes:
    if i != BIG and j < SHARED:
        return CID.hash(f"shared:{j}".encode()).to_bytes()
    return CID.hash(f"chain:{i}:{j}".encode()).to_bytes()


def local_cid(i: int, j: int) -> CID:
    return CID.hash(f"local:{i}:{j}".encode())


def pin_name(i: int, j: int, names: int) -> str:
    h = int.from_bytes(hashlib.blake2b(f"{i}:{j}".encode(), digest_size=8).digest(), "big")
    return f"file-{h % names}.dat"


# --------------------------------------------------------------------------- population


def _chain_writes(args: tuple[int, int, int, int]) -> dict[bytes, bytes | None]:
    """The state writes of owner ``i``'s DID create and its pins ``lo..hi`` (nonces
    ``lo..hi``), applied by the real IdentityModule and PinModule."""
    i, lo, hi, names = args
    did, seed, create = _owner(i)
    nonce = lo.to_bytes(8, "big")
    nkey = nonce_key(did)
    kv = CacheKV(lambda k: nonce if k == nkey else None)  # earlier chunks' nonce
    ident, files = IdentityModule(), PinModule(invocation_keys)
    ident.validate(create)
    ident.handle(Ctx(kv, CHAIN_ID, 1, GENESIS_NS, bytes(20)), create)
    sender = hashlib.sha256(did.encode()).digest()[:20]
    for j in range(lo, hi):
        meta = {"app": "bench", "n": str(j)} if j % 10 == 0 else None
        msg = pin_msg(
            CHAIN_ID, did, j, CID.from_bytes(chain_cid(i, j)), seed,
            size=1000 + j, name=pin_name(i, j, names), metadata=meta,
        )  # fmt: skip
        files.validate(msg)
        height = 2 + j // 1000
        files.handle(Ctx(kv, CHAIN_ID, height, GENESIS_NS + height * 10**9, sender), msg)
    return kv.writes


def populate_chain(bundle: NodeBundle, lay: Layout, workers: int) -> float:
    t0 = time.perf_counter()
    tasks = [
        (i, lo, min(lo + CHUNK, count), lay.names)
        for i, count in enumerate(lay.per_owner)
        for lo in range(0, count, CHUNK)
    ]
    store = bundle.app.store
    pending: dict[bytes, bytes | None] = {}
    done_pins = 0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        for done, writes in enumerate(pool.imap(_chain_writes, tasks, chunksize=4), 1):
            pending.update(writes)
            done_pins += tasks[done - 1][2] - tasks[done - 1][1]
            if len(pending) >= 3 * STORE_BATCH or done == len(tasks):
                with bundle.db.conn:
                    store.stage(pending, store.height)
                    store.commit()
                pending = {}
                took = time.perf_counter() - t0
                print(f"    {done_pins:>9,} on-chain pins in state ({took:.0f}s)")
    return time.perf_counter() - t0


def populate_progress(svc: FileService, dids: Sequence[str], lay: Layout) -> float:
    t0 = time.perf_counter()
    conn = svc.db.conn
    now = GENESIS_NS + 10**12
    for i, count in enumerate(lay.per_owner):
        rows = []
        for j in range(count):
            failed = j % 20 == 19
            status = PinStatus.FAILED if failed else PinStatus.PINNED
            details = "content not available on this node: bench" if failed else ""
            rows.append((dids[i], chain_cid(i, j), str(status), details, now + j))
        with conn:
            conn.executemany(_SET_CHAIN, rows)
    return time.perf_counter() - t0


def populate_local(svc: FileService, dids: Sequence[str], lay: Layout) -> tuple[float, list[int]]:
    """Local pins, owners interleaved; returns (seconds, the big owner's created_ns)."""
    t0 = time.perf_counter()
    order = [(i, j) for i, count in enumerate(lay.per_owner) for j in range(count)]
    random.Random(6).shuffle(order)
    conn = svc.db.conn
    big_created: list[int] = []
    sql = _INSERT + "VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?)"
    for lo in range(0, len(order), 100_000):
        rows = []
        for i, j in order[lo : lo + 100_000]:
            cid = local_cid(i, j)
            k = j % 20
            status = {18: PinStatus.QUEUED, 19: PinStatus.FAILED}.get(k, PinStatus.PINNED)
            details = "content not available on this node: bench" if k == 19 else ""
            size = 1000 + j if status is PinStatus.PINNED else None
            meta = json.dumps({"app": "bench", "n": str(j)} if j % 10 == 0 else {})
            now = svc._now_unique()
            rid = hashlib.sha256(f"rid:{i}:{j}".encode()).hexdigest()[:32]
            rows.append((rid, dids[i], cid.to_bytes(), str(cid), pin_name(i, j, lay.names),
                         meta, str(status), details, size, now, now))  # fmt: skip
            if i == BIG:
                big_created.append(now)
        with conn:
            conn.executemany(sql, rows)
    big_did = dids[BIG]
    for i, j in order[:50]:  # read back through the service
        rid = hashlib.sha256(f"rid:{i}:{j}".encode()).hexdigest()[:32]
        assert svc.get_pin(dids[i], rid).cid == local_cid(i, j)
    assert svc.list_pins(big_did, PinQuery(limit=1))[0] > 0
    return time.perf_counter() - t0, big_created


# --------------------------------------------------------------------------- latency

PINS_Q = """query($o: String, $c: String, $n: String, $s: PinState, $a: String) {
  pins(owner: $o, cid: $c, name: $n, status: $s, first: 100, after: $a) {
    edges { cursor node { id source owner cid name size status statusDetails metadata
      replication created createdHeight } }
    pageInfo { hasNextPage endCursor } } }"""


@dataclass
class Case:
    label: str
    request: Callable[[random.Random], tuple[str, dict[str, Any]]]  # (kind, params)
    check: Callable[[dict[str, Any], dict[str, Any]], int]  # items found
    times: list[float] = field(default_factory=list)
    found: list[int] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    expect: Callable[[dict[str, Any]], int] | None = None


async def _run_cases(port: LocalNodePort, token: str, cases: Sequence[Case], rounds: int) -> None:
    app = create_app(port)
    transport = httpx.ASGITransport(app)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def call(kind: str, params: dict[str, Any]) -> dict[str, Any]:
            if kind == "rest":
                r = await client.get("/pins", params=params, headers=auth)
                assert r.status_code == 200, r.text
                return r.json()
            g = await client.post("/graphql", json={"query": PINS_Q, "variables": params})
            body = g.json()
            assert "errors" not in body, body
            return body["data"]["pins"]

        for case in cases:
            rng = random.Random(case.label)
            for _ in range(20):  # warm up threads, connections and caches
                await call(*case.request(rng))
            for _ in range(rounds):
                kind, params = case.request(rng)
                t0 = time.perf_counter()
                body = await call(kind, params)
                case.times.append(time.perf_counter() - t0)
                case.found.append(case.check(params, body))
                if case.expect is not None:
                    case.expected.append(case.expect(params))
            p50, p95, p99 = _stats(case.times)
            print(f"    ... {case.label}: {p50:.2f} / {p95:.2f} / {p99:.2f} ms", flush=True)


def _stats(xs: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(xs) * 1e3, _pct(list(xs), 0.95) * 1e3, _pct(list(xs), 0.99) * 1e3


def _direct(fn: Callable[[], object], rounds: int) -> tuple[float, float, float]:
    for _ in range(10):
        fn()
    xs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t0)
    return _stats(xs)


def _edges(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in body["edges"]]


def measure(
    bundle: NodeBundle, svc: FileService, lay: Layout, dids: list[str],
    big_created: list[int], rounds: int, clock: int,
) -> tuple[list[Case], dict[str, tuple[float, float, float]]]:  # fmt: skip
    big = dids[BIG]
    big_keys = sorted(rec_key(big, chain_cid(BIG, j)) for j in range(lay.big))
    created_desc = sorted(big_created, reverse=True)
    # the expected number of records per name (chain + local), for a completeness check
    by_name: dict[str, int] = {}
    by_owner_name: dict[str, int] = {}
    for i, count in enumerate(lay.per_owner):
        for j in range(count):
            nm = pin_name(i, j, lay.names)
            by_name[nm] = by_name.get(nm, 0) + 2  # the chain record and the local pin
            if i == BIG:
                by_owner_name[nm] = by_owner_name.get(nm, 0) + 2
    names = sorted(by_name)
    big_names = sorted(by_owner_name)
    token = svc.issue_token(big, "bench", hashlib.sha256(os.urandom(16)).digest())[1]

    def owner_first(_r: random.Random) -> tuple[str, dict[str, Any]]:
        return "gql", {"o": big}

    def owner_deep(r: random.Random) -> tuple[str, dict[str, Any]]:
        k = r.randrange(lay.big // 2, lay.big - PAGE)
        return "gql", {"o": big, "a": _encode("c", big_keys[k].hex())}

    def owner_local(r: random.Random) -> tuple[str, dict[str, Any]]:
        k = r.randrange(len(created_desc) // 2, len(created_desc) - PAGE)
        return "gql", {"o": big, "a": _encode("l", str(created_desc[k]))}

    def by_cid(r: random.Random) -> tuple[str, dict[str, Any]]:
        i = r.randrange(OWNERS + 1)
        j = r.randrange(SHARED, lay.per_owner[i]) if lay.per_owner[i] > SHARED else 0
        return "gql", {"c": str(CID.from_bytes(chain_cid(i, j)))}

    def popular(r: random.Random) -> tuple[str, dict[str, Any]]:
        return "gql", {"c": str(CID.from_bytes(chain_cid(0, r.randrange(SHARED))))}

    def by_name_q(r: random.Random) -> tuple[str, dict[str, Any]]:
        return "gql", {"n": r.choice(names)}

    def owner_name(r: random.Random) -> tuple[str, dict[str, Any]]:
        return "gql", {"o": big, "n": r.choice(big_names)}

    def rest_first(_r: random.Random) -> tuple[str, dict[str, Any]]:
        return "rest", {"limit": "100"}

    def rest_name(r: random.Random) -> tuple[str, dict[str, Any]]:
        return "rest", {"limit": "100", "name": r.choice(big_names)}

    def rest_all(_r: random.Random) -> tuple[str, dict[str, Any]]:
        return "rest", {"limit": "100", "status": "queued,pinning,pinned,failed"}

    def rest_deep(r: random.Random) -> tuple[str, dict[str, Any]]:
        k = r.randrange(len(created_desc) // 2, len(created_desc) - 2 * PAGE)
        return "rest", {"limit": "100", "before": format_time(created_desc[k])}

    def owner_failed(_r: random.Random) -> tuple[str, dict[str, Any]]:
        return "gql", {"o": big, "s": "FAILED"}

    def rest_partial(r: random.Random) -> tuple[str, dict[str, Any]]:
        prefix = r.choice(big_names)[: len("file-") + 2]  # "file-NN": ~1 name in 10 or more
        return "rest", {"limit": "100", "name": prefix, "match": "partial"}

    def rest_iexact(r: random.Random) -> tuple[str, dict[str, Any]]:
        return "rest", {"limit": "100", "name": r.choice(big_names).upper(), "match": "iexact"}

    def rest_meta(_r: random.Random) -> tuple[str, dict[str, Any]]:
        return "rest", {"limit": "100", "meta": json.dumps({"app": "bench"})}

    def n_gql(_p: dict[str, Any], body: dict[str, Any]) -> int:
        return len(body["edges"])

    def n_rest(_p: dict[str, Any], body: dict[str, Any]) -> int:
        return len(body["results"])

    def full_owner(_p: dict[str, Any], body: dict[str, Any]) -> int:
        nodes = _edges(body)
        assert len(nodes) == PAGE, body
        assert all(x["owner"] == big for x in nodes), body
        return len(nodes)

    def all_named(want: dict[str, int]) -> Callable[[dict[str, Any], dict[str, Any]], int]:
        def check(p: dict[str, Any], body: dict[str, Any]) -> int:
            nodes = _edges(body)
            assert all(x["name"] == p["n"] for x in nodes), body
            assert len(nodes) == min(want[p["n"]], PAGE), (p, len(nodes), want[p["n"]])
            return len(nodes)

        return check

    def with_cid(p: dict[str, Any], body: dict[str, Any]) -> int:
        assert body["edges"], body
        assert all(x["cid"] == p["c"] for x in _edges(body)), body
        return len(body["edges"])

    cases = [
        Case("GraphQL pins(owner) first page", owner_first, full_owner),
        Case("GraphQL pins(owner) deep, chain cursor", owner_deep, full_owner),
        Case("GraphQL pins(owner) deep, local cursor", owner_local, full_owner),
        Case("GraphQL pins(cid)", by_cid, with_cid),
        Case("GraphQL pins(cid) popular (~1k owners)", popular, with_cid),
        Case(
            "GraphQL pins(name)",
            by_name_q,
            all_named(by_name),
            expect=lambda p: by_name[p["n"]],
        ),
        Case(
            "GraphQL pins(owner, name)",
            owner_name,
            all_named(by_owner_name),
            expect=lambda p: by_owner_name[p["n"]],
        ),
        Case("REST GET /pins?limit=100", rest_first, n_rest),
        Case("REST GET /pins all statuses", rest_all, n_rest),
        Case("REST GET /pins?before= (deep)", rest_deep, n_rest),
        Case("REST GET /pins?name= (exact)", rest_name, n_rest),
        # other filters (beyond the issue's query set)
        Case("GraphQL pins(owner, status: FAILED)", owner_failed, n_gql),
        Case("REST GET /pins?name=&match=partial", rest_partial, n_rest),
        Case("REST GET /pins?name=&match=iexact", rest_iexact, n_rest),
        Case("REST GET /pins?meta= (10 % match)", rest_meta, n_rest),
    ]
    port = LocalNodePort(bundle.node, bundle.app, bundle.home.db_path, clock=lambda: clock,
                         files=svc)  # fmt: skip
    try:
        asyncio.run(_run_cases(port, token, cases, rounds))
    finally:
        port.close()

    get, scan = sqlite_reader(bundle.db.conn)
    conn = svc.db.conn
    rng = random.Random(1)
    q = PinQuery(limit=100)
    cond = "owner = ? AND status IN (?)"
    direct = {
        "pins_page(owner), state only": _direct(
            lambda: pins_page(get, scan, owner=big, cid=None, after=None, limit=PAGE), rounds
        ),
        "chain_progress x 100 (one thread)": _direct(
            lambda: [
                svc.chain_progress(big, rec.cid)
                for _, rec in pins_page(get, scan, owner=big, cid=None, after=None, limit=PAGE)
            ],
            rounds,
        ),
        "chain_progress_many (one page, one read)": _direct(
            lambda: svc.chain_progress_many(
                [
                    (rec.owner, rec.cid)
                    for _, rec in pins_page(get, scan, owner=big, cid=None, after=None, limit=PAGE)
                ]
            ),
            rounds,
        ),
        "pins_page(name), any owner, state only": _direct(
            lambda: pins_page(
                get, scan, owner=None, cid=None, after=None, limit=PAGE + 1, name=rng.choice(names)
            ),
            rounds,
        ),
        "FileService.list_pins (REST default)": _direct(lambda: svc.list_pins(big, q), rounds),
        "  its count: pin_count (the counters)": _direct(
            lambda: svc.pin_count(big, (PinStatus.PINNED,)), rounds
        ),
        "  a count(*) of the filters instead": _direct(
            lambda: conn.execute(
                f"SELECT count(*) FROM fs_pins WHERE {cond}", (big, "pinned")
            ).fetchone(),
            rounds,
        ),
        "FileService.local_pins(name), any owner": _direct(
            lambda: svc.local_pins(
                owner=None,
                cid=None,
                status=None,
                name=rng.choice(names),
                before_ns=None,
                limit=PAGE + 1,
            ),
            min(rounds, 50),
        ),
    }
    return cases, direct


# --------------------------------------------------------------------------- report


LAYOUT = 2  # bump when the population (or the state layout it writes) changes
MARKER = "bench-pins.json"


def _seal(db_path: Path) -> None:
    """Record the populated state's app hash as the chain state's: the records were staged
    outside blocks, and a node reopening the directory checks the two agree."""
    db = open_database(db_path)
    try:
        store = BlockStore(db)
        state = store.load_state()
        assert state is not None
        with db.conn:
            store.save_state(dataclasses.replace(state, app_hash=MerkleStore(db).app_hash))
    finally:
        db.close()


def _open(root: Path, fresh: bool) -> tuple[NodeBundle, int]:
    """The bench node under ``root/pins`` (initialised when ``fresh``) and its clock."""
    home = root / "pins"
    if fresh:
        return _node(str(root), "pins")
    _seal(Home(home).db_path)
    cfg = NodeConfig(consensus=ConsensusConfig(block_interval=3.0, min_block_interval=0.0))
    clock = GENESIS_NS + 10**9
    return build_node(Home(home), clock, cfg), clock


def run(n: int, rounds: int, workers: int = 2, pins_dir: str | None = None) -> None:
    """Populate and measure. With ``pins_dir`` the populated node is kept there and a later
    run with the same ``n`` (and population layout) measures it again without populating."""
    lay = Layout.of(n)
    with contextlib.ExitStack() as stack:
        if pins_dir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            root = Path(pins_dir)
            root.mkdir(parents=True, exist_ok=True)
        marker = root / MARKER
        want = {"n": n, "layout": LAYOUT}
        reuse = marker.exists() and json.loads(marker.read_text()) == want
        if not reuse and (root / "pins").exists():
            raise SystemExit(f"{root} holds another population: remove it, or pick another dir")
        bundle, clock = _open(root, fresh=not reuse)
        svc = open_file_service(bundle.home)
        dids = [_owner(i)[0] for i in range(OWNERS + 1)]
        if reuse:
            print(f"pins listing ({n:,} + {n:,} pins, reusing the population in {root})")
            big_created = [
                int(r[0])
                for r in svc.db.conn.execute(
                    "SELECT created_ns FROM fs_pins WHERE owner = ?", (dids[BIG],)
                )
            ]
        else:
            print(
                f"pins listing ({n:,} on-chain pins + {n:,} local pins; {OWNERS:,} owners + "
                f"one with {lay.big:,}; populating...)"
            )
            t_chain = populate_chain(bundle, lay, workers)
            t_prog = populate_progress(svc, dids, lay)
            t_local, big_created = populate_local(svc, dids, lay)
            rows = bundle.db.conn.execute("SELECT count(*) FROM app_state").fetchone()[0]
            print(
                f"  populated {n:,} on-chain pins ({rows:,} state rows) in {t_chain:.0f}s "
                f"({n / t_chain:,.0f} genuine signed pins/s on {workers} processes); progress "
                f"rows {t_prog:.0f}s; {n:,} local pins {t_local:.0f}s"
            )
            if pins_dir is not None:
                marker.write_text(json.dumps(want))
        cases, direct = measure(bundle, svc, lay, dids, big_created, rounds, clock)
        svc.close()
        bundle.db.close()
    print(f"  in-process ASGI (httpx.ASGITransport), {rounds} sequential requests each, ms:")
    print(f"  {'query':<42} {'p50':>7} {'p95':>7} {'p99':>7}  items/page")
    for c in cases:
        p50, p95, p99 = _stats(c.times)
        items = f"{statistics.mean(c.found):.1f}"
        if c.expected:
            items += f" (exist: {statistics.mean(c.expected):.1f} on average)"
        print(f"  {c.label:<42} {p50:7.2f} {p95:7.2f} {p99:7.2f}  {items}")
    print("  direct calls under the API (no HTTP, no GraphQL), ms:")
    for label, (p50, p95, p99) in direct.items():
        print(f"  {label:<42} {p50:7.2f} {p95:7.2f} {p99:7.2f}")
    print("  target: p95 < 100 ms at the server with 1,000,000 pins")
