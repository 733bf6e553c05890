"""Committed tx/s and submit-to-commit latency on 4 validator processes (issue 3).

``python -m bench --network``: a devnet of 4 validator processes on loopback (libp2p,
Tendermint, SQLite each) with ``senders`` accounts per load step funded in genesis. Every
transfer is signed before measuring. Then, for each offered rate, transfers are sent at
that rate from an asyncio httpx client pool, round-robin over the 4 nodes (each sender
pinned to one node, as a wallet would be), each step with fresh senders so an overloaded
step cannot leave nonce gaps in the next. By default (``submit="batch"``) each node gets
``LANES`` submission lanes (senders split among them): a lane posts every tx that has come
due since its last request as one ``POST /txs`` batch, at most every ``BATCH_EVERY_S``, and
waits for the answer before the next, so a sender's nonces reach the node in order;
``submit="single"`` sends one GraphQL ``submitTransaction`` per tx, a sender waiting for
each answer (the earlier generator).
One client ``newBlocks`` subscription (on v0) timestamps every committed block; latency is
that delivery time minus the client's submit time, in one clock. Per step: achieved offered
rate, committed tx/s (txs in blocks whose block time lies in the sending window), latency
p50/p99, rejections by code, and per-process CPU (the API thread vs the node's other
threads). Before the load, the idle block interval; in the same run, the raw ed25519 verify
rate. All node processes are
stopped by pid at the end, on error too.

``full_nodes=N`` (``--full-nodes N``) adds N non-validator full node processes
(``add_full_node``: they bootstrap from every validator; no txs are submitted to them). A
``newBlocks`` subscription on each timestamps its blocks as on v0; per step and full node:
lag = its delivery of a height minus v0's delivery of the same height (p50 / max), the
largest height gap to v0 seen at any block delivery, heights v0 delivered that it never
did, whether it reached v0's height after the drain (waiting at most ``CATCH_UP_S``) and
its CPU. The validators' columns (and the "nodes" sums) stay validators only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.tx_throughput import ed25519_verify_rate
from qos_chain.address import Address, address_from_public_key
from qos_chain.genesis import parse_time
from qos_chain.sign import public_key_of
from qos_chain.types import tx_hash
from qos_node.devnet import Devnet, DevnetMember, add_full_node, create_devnet
from qos_node.process import NodeProcess, free_port
from qos_node.testing import make_transfer
from qos_wallet.keystore import KdfParams

CHAIN_ID = "qos-devnet"
N_VALIDATORS = 4
SUBMIT = (
    "mutation($tx: String!) { submitTransaction(signedTx: $tx) { __typename "
    "... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"
)
NEW_BLOCKS = "subscription { newBlocks { height time transactions { hash } } }"
STATUS = "{ status { height } }"
TO = bytes([7]) * 20
STEP_GRACE_S = 2.0  # a step sends for at most its length + this
PER_SENDER_RATE = 4.0  # tx/s per wallet: senders per step = max(--net-senders, rate / 4)
LANES = 2  # batch submission lanes per node (one batch in flight per lane)
BATCH_EVERY_S = 0.05  # a lane posts at most this often (what came due meanwhile rides along)
MAX_BATCH = 500  # txs per POST /txs (the node accepts up to 1,000)
CATCH_UP_S = 15.0  # after a step's drain, how long a full node may take to reach v0's height


@dataclass
class BlockSeen:
    height: int
    time_ns: int  # block header time (the proposer's clock)
    delivered: float  # perf_counter when the subscription delivered it
    hashes: list[str]


@dataclass
class Watcher:
    """The client's ``newBlocks`` subscription on one node (graphql-transport-ws)."""

    url: str
    blocks: list[BlockSeen] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)  # tx hash -> delivery time
    error: str | None = None
    base: int = 0  # the node's height when subscribed (before its first delivery)
    new_block: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, ready: asyncio.Event) -> None:
        try:
            async with connect(
                self.url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                max_size=None,
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                await self._expect(ws, "connection_ack")
                sub = {"id": "1", "type": "subscribe", "payload": {"query": NEW_BLOCKS}}
                await ws.send(json.dumps(sub))
                ready.set()
                async for raw in ws:
                    now = time.perf_counter()
                    msg = json.loads(raw)
                    if msg.get("type") == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                        continue
                    if msg.get("type") != "next":
                        self.error = f"subscription ended: {msg}"
                        return
                    if msg["payload"].get("errors"):
                        self.error = f"subscription error: {msg['payload']['errors']}"
                        return
                    b = msg["payload"]["data"]["newBlocks"]
                    hashes = [t["hash"] for t in b["transactions"]]
                    self.blocks.append(BlockSeen(b["height"], parse_time(b["time"]), now, hashes))
                    for h in hashes:
                        self.seen[h] = now
                    self.new_block.set()
        except Exception as exc:  # reported in the output, never silently
            self.error = f"subscription failed: {exc!r}"
            ready.set()

    def failure(self) -> str | None:
        return self.error

    @property
    def height(self) -> int:
        return max(self.base, self.blocks[-1].height if self.blocks else 0)

    @staticmethod
    async def _expect(ws: ClientConnection, kind: str) -> None:
        msg = json.loads(await ws.recv())
        if msg.get("type") != kind:
            raise RuntimeError(f"expected {kind}, got {msg}")


@dataclass
class FullNodeLag:
    """How one full node followed v0 during a step (heights v0 delivered in the step)."""

    lags: list[float] = field(default_factory=list)  # s: its delivery - v0's, per height
    heights: int = 0  # heights v0 delivered during the step (send + drain)
    missing: int = 0  # of those, never delivered by the full node by the end of catch-up
    max_gap: int = 0  # v0 height - its height, the most at any delivery on either side
    caught_up: bool = False  # reached v0's height within CATCH_UP_S after the drain
    catch_up_s: float = 0.0  # time after the drain until it did (or gave up)
    final_gap: int = 0  # v0 height - its height when the step ended


@dataclass
class Step:
    rate: float
    sent: int = 0
    accepted: dict[str, float] = field(default_factory=dict)  # hash -> submit time
    rejected: Counter[str] = field(default_factory=Counter)
    send_s: float = 0.0
    window_ns: tuple[int, int] = (0, 0)
    committed_in_window: int = 0
    latencies: list[float] = field(default_factory=list)
    uncommitted: int = 0
    drain_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # name -> % of one core
    api_cpu: float = 0.0  # summed over nodes: the uvicorn/GraphQL (main) thread
    node_cpu: float = 0.0  # summed over nodes: every other thread (trio: consensus, p2p, exec)
    late_s: float = 0.0  # the most a submission started after its due time
    senders: int = 0
    machine_busy: float = 0.0  # % of all CPUs not idle (includes steal)
    machine_steal: float = 0.0
    machine_kernel: float = 0.0  # system + irq + softirq
    others: float = 0.0  # busy CPU not spent by the nodes or this client (% of a core)
    blocks: int = 0  # blocks whose time is inside the window
    max_block_txs: int = 0
    planned: int = 0
    full: dict[str, FullNodeLag] = field(default_factory=dict)  # full node name -> its lag

    @property
    def achieved(self) -> float:
        return self.sent / self.send_s if self.send_s else 0.0

    @property
    def committed_rate(self) -> float:
        a, b = self.window_ns
        return self.committed_in_window / ((b - a) / 1e9) if b > a else 0.0


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


class CpuMeter:
    """CPU time of each node process (API main thread vs the rest) and of this client."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.t0 = 0.0
        self.start: dict[str, tuple[float, float]] = {}

    def _snap(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for name, p in self.procs.items():
            main = 0.0
            for t in p.threads():
                if t.id == p.pid:
                    main = t.user_time + t.system_time
            ct = p.cpu_times()  # includes threads that have already exited
            total = ct.user + ct.system
            out[name] = (total, main)
        return out

    def begin(self) -> None:
        self.t0 = time.perf_counter()
        self.start = self._snap()
        self.sys0 = psutil.cpu_times()

    def end(self, step: Step) -> None:
        wall = time.perf_counter() - self.t0
        now = self._snap()
        sys1 = psutil.cpu_times()
        spent = sum(sys1) - sum(self.sys0)
        if spent > 0:
            step.machine_busy = 100 * (1 - (sys1.idle - self.sys0.idle) / spent)
            step.machine_steal = 100 * (sys1.steal - self.sys0.steal) / spent
            kernel = (sys1.system + sys1.softirq + sys1.irq) - (
                self.sys0.system + self.sys0.softirq + self.sys0.irq
            )
            step.machine_kernel = 100 * kernel / spent
        for name, (total, main) in now.items():
            t0, m0 = self.start[name]
            step.cpu[name] = 100 * (total - t0) / wall
            if name.startswith("v"):  # validators only: full nodes are shown on their own
                step.api_cpu += 100 * (main - m0) / wall
                step.node_cpu += 100 * ((total - main) - (t0 - m0)) / wall
        ours = sum(step.cpu.values())
        step.others = max(0.0, step.machine_busy * (psutil.cpu_count() or 1) - ours)


def follow_lag(
    ref: list[BlockSeen], other: list[BlockSeen], t0: float, t1: float, base: int = 0
) -> FullNodeLag:
    """How `other` (a full node's deliveries) followed `ref` (v0's) over [t0, t1]
    (perf_counter times): per height v0 delivered in the window, the full node's delivery
    minus v0's (or missing); the largest height gap at any delivery inside the window;
    the gap at t1. ``base``: the full node's height before its first delivery."""
    out = FullNodeLag()
    at: dict[int, float] = {}
    for b in other:
        at.setdefault(b.height, b.delivered)
    for b in ref:
        if t0 <= b.delivered <= t1:
            out.heights += 1
            t = at.get(b.height)
            if t is None or t > t1:
                out.missing += 1
            else:
                out.lags.append(t - b.delivered)
    events = sorted(
        [(b.delivered, 0, b.height) for b in ref] + [(b.delivered, 1, b.height) for b in other]
    )
    h_ref, h_other = 0, base
    for t, side, h in events:
        if t > t1:
            break
        if side == 0:
            h_ref = max(h_ref, h)
        else:
            h_other = max(h_other, h)
        if t >= t0:
            out.max_gap = max(out.max_gap, h_ref - h_other)
    out.final_gap = max(0, h_ref - h_other)
    return out


def _seed(step: int, sender: int) -> bytes:
    return b"netbench" + bytes([step, sender % 256, sender // 256]) + bytes(21)


def senders_for(rate: float, min_senders: int) -> int:
    """Enough wallets that each sends at most PER_SENDER_RATE tx/s."""
    return max(min_senders, math.ceil(rate / PER_SENDER_RATE))


def _presign(
    rates: list[float], step_s: float, min_senders: int, n_nodes: int = N_VALIDATORS
) -> list[list[tuple[int, int, bytes]]]:
    """Per step: (sender, node index, signed tx) in sending order, senders interleaved,
    each sender pinned to one node."""
    plans: list[list[tuple[int, int, bytes]]] = []
    for si, rate in enumerate(rates):
        n, k = int(rate * step_s), senders_for(rate, min_senders)
        plan: list[tuple[int, int, bytes]] = []
        for i in range(n):
            sender, nonce = i % k, i // k
            raw = make_transfer(CHAIN_ID, _seed(si, sender), TO, 1, nonce)
            plan.append((sender, sender % n_nodes, raw))
        plans.append(plan)
    return plans


def _graphql_body(raw: bytes) -> bytes:
    body = {"query": SUBMIT, "variables": {"tx": base64.b64encode(raw).decode()}}
    return json.dumps(body).encode()


async def _submit(client: httpx.AsyncClient, url: str, body: bytes, step: Step) -> None:
    t = time.perf_counter()
    try:
        r = await client.post(url, content=body, headers={"content-type": "application/json"})
        data = r.json()
        if "errors" in data:
            step.rejected[f"graphql_error: {data['errors'][0].get('message', '')[:40]}"] += 1
            return
        res = data["data"]["submitTransaction"]
        if res["__typename"] == "TransactionAccepted":
            step.accepted[res["hash"]] = t
        else:
            step.rejected[res["code"]] += 1
    except httpx.HTTPError as exc:
        step.rejected[f"http:{type(exc).__name__}"] += 1


async def _sender(
    txs: list[tuple[float, int, bytes]],
    urls: list[str],
    clients: list[httpx.AsyncClient],
    step: Step,
    stop_at: float,
) -> None:
    """One wallet: its txs in nonce order, each sent at its due time or as soon as the
    previous one is answered (a sender never has two submissions in flight, so its nonces
    reach the node in order). Nothing new is sent after ``stop_at``: the step's length is
    bounded and what was not sent shows as an achieved rate below the offered one."""
    for due, node, body in txs:
        if time.perf_counter() > stop_at:
            return
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            step.late_s = max(step.late_s, -delay)
        step.sent += 1
        await _submit(clients[node], urls[node], body, step)


async def _lane(
    txs: list[tuple[float, str, str]],
    url: str,
    client: httpx.AsyncClient,
    step: Step,
    stop_at: float,
) -> None:
    """One submission lane: (due time, hash, base64 tx) in due order. Each request carries
    every tx due by then (at most MAX_BATCH); the next request waits for the answer, so
    the nonces of a sender (always in the same lane) reach the node in order. A tx's
    submit time is when its batch was posted."""
    i = 0
    last_post = 0.0
    while i < len(txs):
        now = time.perf_counter()
        if now > stop_at:
            return
        due = txs[i][0]
        start = max(due, last_post + BATCH_EVERY_S)
        if start > now:
            await asyncio.sleep(start - now)
            now = time.perf_counter()
        if now - due > BATCH_EVERY_S:
            step.late_s = max(step.late_s, now - due)
        j = i
        while j < len(txs) and j - i < MAX_BATCH and txs[j][0] <= now:
            j += 1
        batch = txs[i:j]
        i = j
        step.sent += len(batch)
        body = json.dumps({"txs": [b for _, _, b in batch]}).encode()
        t = last_post = time.perf_counter()
        try:
            r = await client.post(url, content=body, headers={"content-type": "application/json"})
            if r.status_code != 200:
                step.rejected[f"http_{r.status_code}"] += len(batch)
                continue
            for res in r.json()["results"]:
                if res["accepted"]:
                    step.accepted[res["hash"]] = t
                else:
                    step.rejected[res["code"]] += 1
        except httpx.HTTPError as exc:
            step.rejected[f"http:{type(exc).__name__}"] += len(batch)


async def _run_step(
    step: Step,
    plan: list[tuple[int, int, bytes]],
    urls: list[str],
    clients: list[httpx.AsyncClient],
    watcher: Watcher,
    meter: CpuMeter,
    drain_timeout: float,
    submit: str,
    full: dict[str, Watcher] | None = None,
) -> None:
    t_begin = time.perf_counter()
    meter.begin()
    step.window_ns = (time.time_ns(), 0)
    t0 = time.perf_counter() + 0.05
    stop_at = t0 + len(plan) / step.rate + STEP_GRACE_S
    if submit == "single":
        per_sender: dict[int, list[tuple[float, int, bytes]]] = {}
        for i, (sender, node, raw) in enumerate(plan):
            item = (t0 + i / step.rate, node, _graphql_body(raw))
            per_sender.setdefault(sender, []).append(item)
        await asyncio.gather(
            *(_sender(v, urls, clients, step, stop_at) for v in per_sender.values())
        )
    else:
        lanes: dict[tuple[int, int], list[tuple[float, str, str]]] = {}
        for i, (sender, node, raw) in enumerate(plan):
            lane = (node, (sender // len(urls)) % LANES)
            entry = (t0 + i / step.rate, tx_hash(raw).hex(), base64.b64encode(raw).decode())
            lanes.setdefault(lane, []).append(entry)
        tx_urls = [u.removesuffix("/graphql") + "/txs" for u in urls]
        await asyncio.gather(
            *(
                _lane(v, tx_urls[node], clients[node], step, stop_at)
                for (node, _), v in lanes.items()
            )
        )
    step.send_s = time.perf_counter() - t0
    step.window_ns = (step.window_ns[0], time.time_ns())
    meter.end(step)
    # drain: wait for every accepted tx of this step to be seen in a block
    t_drain = time.perf_counter()
    deadline = t_drain + drain_timeout
    while time.perf_counter() < deadline:
        if all(h in watcher.seen for h in step.accepted):
            break
        watcher.new_block.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher.new_block.wait(), timeout=0.5)
    step.drain_s = time.perf_counter() - t_drain
    if full:
        await _catch_up(step, watcher, full, t_begin)
    a, b = step.window_ns
    inside = [x for x in watcher.blocks if a <= x.time_ns <= b]
    step.committed_in_window = sum(len(x.hashes) for x in inside)
    step.blocks = len(inside)
    step.max_block_txs = max((len(x.hashes) for x in inside), default=0)
    for h, t in step.accepted.items():
        if h in watcher.seen:
            step.latencies.append(watcher.seen[h] - t)
        else:
            step.uncommitted += 1


async def _catch_up(step: Step, v0: Watcher, full: dict[str, Watcher], t_begin: float) -> None:
    """After the drain: wait (at most CATCH_UP_S) for every full node to deliver v0's
    height, then record how each followed v0 during the step."""
    t_drain_end = time.perf_counter()
    deadline = t_drain_end + CATCH_UP_S
    done: dict[str, float] = {}
    events = [w.new_block for w in (v0, *full.values())]
    while True:
        for ev in events:
            ev.clear()
        for name, w in full.items():
            if name not in done and w.height >= v0.height:
                done[name] = time.perf_counter() - t_drain_end
        now = time.perf_counter()
        if len(done) == len(full) or now >= deadline:
            break
        tasks = [asyncio.create_task(ev.wait()) for ev in events]
        _, pending = await asyncio.wait(
            tasks, timeout=min(0.5, deadline - now), return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
    t_end = time.perf_counter()
    for name, w in full.items():
        lag = follow_lag(v0.blocks, w.blocks, t_begin, t_end, w.base)
        lag.caught_up = name in done
        lag.catch_up_s = done.get(name, t_end - t_drain_end)
        step.full[name] = lag


async def _heights(urls: list[str]) -> list[int]:
    """Each node's committed height (-1: no answer)."""
    hs: list[int] = []
    async with httpx.AsyncClient(timeout=5) as c:
        for u in urls:
            try:
                r = await c.post(u, json={"query": STATUS})
                hs.append(int(r.json()["data"]["status"]["height"]))
            except (httpx.HTTPError, KeyError, ValueError, TypeError):
                hs.append(-1)
    return hs


async def _report_join(v0: DevnetMember, fulls: list[DevnetMember], timeout: float = 30) -> None:
    """Wait (bounded) until every full node has v0's height before the load; say if not."""
    deadline = time.monotonic() + timeout
    while True:
        ref, *hs = await _heights([v0.graphql, *(m.graphql for m in fulls)])
        if min(hs) >= ref or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    for m, h in zip(fulls, hs, strict=True):
        note = "" if h >= ref else f"  !! not at v0's height after {timeout:.0f} s"
        print(f"  full node {m.name}: height {h}, v0 {ref}{note}", flush=True)


async def _wait_height(urls: list[str], target: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if min(await _heights(urls)) >= target:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"validators not at height {target} within {timeout}s")


async def _measure(
    members: list[DevnetMember],
    net: Devnet,
    plans: list[list[tuple[int, int, bytes]]],
    rates: list[float],
    idle_s: float,
    max_inflight: int,
    drain_timeout: float,
    submit: str,
    full_members: list[DevnetMember] | None = None,
    full_procs: list[NodeProcess] | None = None,
) -> tuple[list[Step], list[float], Watcher]:
    urls = [m.graphql for m in members]
    await _wait_height(urls, 2, 90)
    watcher = Watcher(f"ws://127.0.0.1:{members[0].api_port}/graphql")
    ready = asyncio.Event()
    wtask = asyncio.create_task(watcher.run(ready))
    await ready.wait()
    if watcher.error:
        raise RuntimeError(watcher.error)
    fulls = full_members or []
    full: dict[str, Watcher] = {}
    tasks = [wtask]
    for m in fulls:
        w = full[m.name] = Watcher(f"ws://127.0.0.1:{m.api_port}/graphql")
        w.base = (await _heights([m.graphql]))[0]
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(w.run(ready)))
        await ready.wait()
        if w.error:
            raise RuntimeError(f"{m.name}: {w.error}")
    if fulls:  # a full node joins at the validators' height (it syncs from height 0)
        await _report_join(members[0], fulls)
    procs = [*zip(members, net.procs, strict=True), *zip(fulls, full_procs or [], strict=True)]
    pids = {m.name: p.proc.pid for m, p in procs if p.proc}
    meter = CpuMeter({**pids, "client": psutil.Process().pid})
    # idle block interval: no load, consecutive block times (and the idle CPU)
    idle = Step(0.0)
    t_idle = time.perf_counter()
    meter.begin()
    await asyncio.sleep(idle_s)
    meter.end(idle)
    for name, w in full.items():
        idle.full[name] = follow_lag(watcher.blocks, w.blocks, t_idle, time.perf_counter(), w.base)
        idle.full[name].caught_up = w.height >= watcher.height
    idle_times = [b.time_ns for b in watcher.blocks]
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(idle_times)]
    limits = httpx.Limits(max_connections=max_inflight, max_keepalive_connections=max_inflight)
    clients = [httpx.AsyncClient(timeout=30, limits=limits) for _ in urls]
    steps: list[Step] = []
    try:
        for rate, plan in zip(rates, plans, strict=True):
            step = Step(rate, senders=len({x[0] for x in plan}), planned=len(plan))
            await _run_step(step, plan, urls, clients, watcher, meter, drain_timeout, submit, full)
            steps.append(step)
            _print_step(step)
            failed = [f"{n}: {w.error}" for n, w in (("v0", watcher), *full.items()) if w.error]
            if failed:
                print(f"  !! {'; '.join(failed)}")
                break
    finally:
        for c in clients:
            await c.aclose()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return [idle, *steps], gaps, watcher


def _print_step(s: Step) -> None:
    lat = s.latencies
    rej = ", ".join(f"{k}={v}" for k, v in s.rejected.most_common()) or "none"
    print(
        f"  offered {s.rate:6.0f}/s: sent {s.sent}/{s.planned} at {s.achieved:6.0f}/s, "
        f"accepted {len(s.accepted)}, committed {s.committed_rate:6.0f} tx/s, "
        f"p50 {_pct(lat, 0.5):5.2f} s, p99 {_pct(lat, 0.99):5.2f} s, "
        f"uncommitted {s.uncommitted}, drain {s.drain_s:4.1f} s, rejected: {rej}; "
        f"{s.blocks} blocks in {s.send_s:.1f} s, <= {s.max_block_txs} txs each",
        flush=True,
    )
    for name, f in s.full.items():
        print(f"    full node {name}: {_full_summary(f)}", flush=True)


def _full_summary(f: FullNodeLag) -> str:
    caught = (
        f"caught up {f.catch_up_s:.1f} s after the drain"
        if f.caught_up
        else f"NOT caught up {f.catch_up_s:.0f} s after the drain ({f.final_gap} heights behind)"
    )
    return (
        f"lag behind v0 p50 {_pct(f.lags, 0.5):.2f} s, max {max(f.lags, default=float('nan')):.2f}"
        f" s over {len(f.lags)}/{f.heights} heights (missing {f.missing}), "
        f"max gap {f.max_gap} heights, {caught}"
    )


def run(
    rates: list[float],
    step_s: float = 8.0,
    senders: int = 64,
    idle_s: float = 10.0,
    max_inflight: int = 256,
    drain_timeout: float = 30.0,
    keep_dir: Path | None = None,
    submit: str = "batch",
    full_nodes: int = 0,
    validators: int = N_VALIDATORS,
) -> None:
    """``keep_dir``: create the devnet there and keep it (node logs in ``v*/node.log``,
    ``f*/node.log``); ``submit``: ``batch`` (POST /txs lanes) or ``single`` (one GraphQL
    mutation per tx); ``full_nodes``: non-validator full node processes that follow;
    ``validators``: validator processes (the issue's target is stated for 4)."""
    if submit not in ("batch", "single"):
        raise ValueError(f"submit must be batch or single, not {submit!r}")
    if full_nodes < 0:
        raise ValueError(f"full_nodes must be >= 0, not {full_nodes}")
    verify_rate = ed25519_verify_rate()
    t = time.perf_counter()
    plans = _presign(rates, step_s, senders, validators)
    n_txs = sum(len(p) for p in plans)
    how = (
        f" ({LANES} lanes per node, a POST /txs of <= {MAX_BATCH} txs per lane at most"
        f" every {BATCH_EVERY_S * 1000:.0f} ms)"
    )
    fn = f" + {full_nodes} full node processes (no txs submitted to them)" if full_nodes else ""
    print(
        f"network benchmark: {validators} validator processes{fn}, submit={submit}"
        f"{how if submit == 'batch' else ''}"
        f", fresh senders per step "
        f"(max({senders}, rate / {PER_SENDER_RATE:.0f})), {step_s:.0f} s per step,\n  "
        f"{n_txs} transfers pre-signed in {time.perf_counter() - t:.1f} s, "
        f"{psutil.cpu_count()} CPUs",
        flush=True,
    )
    funded: dict[Address, int] = {
        address_from_public_key(public_key_of(_seed(si, s))): 10**12
        for si, rate in enumerate(rates)
        for s in range(senders_for(rate, senders))
    }
    with contextlib.ExitStack() as stack:
        base = keep_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        ports = [(free_port(), free_port()) for _ in range(validators)]
        members = create_devnet(
            base / "net",
            validators,
            block_interval=3.0,
            min_block_interval=0.2,
            kdf=KdfParams.minimum(),
            ports=ports,
            balances=funded,
        )
        net = Devnet(members)
        fulls = [
            add_full_node(base / "net" / f"f{i}", members, free_port(), free_port())
            for i in range(full_nodes)
        ]
        full_procs = [NodeProcess(m.home, m.api_port, p2p_listen=None) for m in fulls]
        try:
            net.start()
            for p in full_procs:
                p.start()
            for p in full_procs:
                p.wait_ready(60)
            all_steps, gaps, watcher = asyncio.run(
                _measure(
                    members,
                    net,
                    plans,
                    rates,
                    idle_s,
                    max_inflight,
                    drain_timeout,
                    submit,
                    fulls,
                    full_procs,
                )
            )
        finally:
            for p in full_procs:
                p.stop()
            net.stop()
            for p in [*net.procs, *full_procs]:
                if p.proc is not None and p.proc.returncode not in (0, -15, -9, None):
                    print(f"node exited with {p.proc.returncode}:\n{p.tail()}")
    _report(all_steps[0], all_steps[1:], gaps, watcher, verify_rate, validators)


def _report(
    idle: Step,
    steps: list[Step],
    gaps: list[float],
    watcher: Watcher,
    verify_rate: float,
    validators: int = N_VALIDATORS,
) -> None:
    print(
        "\nper step (committed = txs in blocks whose block time is inside the sending window;"
        "\n latency = submit at the client -> v0's newBlocks delivers the block to the client)"
    )
    fulls = sorted({n for s in (idle, *steps) for n in s.full} | _full_names(idle))
    names = [f"v{i}" for i in range(validators)] + fulls + ["client"]
    print(
        f"  {'offered':>8} {'senders':>7} {'achieved':>8} {'committed':>9} {'p50 s':>6} "
        f"{'p99 s':>6} {'rejected':>8} {'uncommit':>8}  "
        f"cpu % of one core: {' '.join(names)} | validators: api thread, other threads"
    )

    def cpu(s: Step) -> str:
        per = " ".join(f"{s.cpu.get(n, 0):3.0f}" for n in names)
        return (
            f"{per} | {s.api_cpu:3.0f} {s.node_cpu:3.0f} | machine busy {s.machine_busy:3.0f}%"
            f" (kernel {s.machine_kernel:.0f}%, steal {s.machine_steal:.0f}%,"
            f" other processes ~{s.others:.0f}% of a core)"
        )

    print(f"  {'idle':>8} {'':>7} {'':>8} {'':>9} {'':>6} {'':>6} {'':>8} {'':>8}  {cpu(idle)}")
    for s in steps:
        print(
            f"  {s.rate:8.0f} {s.senders:7d} {s.achieved:8.0f} {s.committed_rate:9.0f} "
            f"{_pct(s.latencies, 0.5):6.2f} {_pct(s.latencies, 0.99):6.2f} "
            f"{sum(s.rejected.values()):8d} {s.uncommitted:8d}  {cpu(s)}"
        )
    if fulls:
        print(
            "full nodes (lag = its newBlocks delivery of a height - v0's delivery of it;"
            "\n gap = v0's height - its height, at any delivery; caught up = at v0's height"
            f" within {CATCH_UP_S:.0f} s after the drain)"
        )
        print(
            f"  {'offered':>8} {'node':>4} {'heights':>7} {'lag p50 s':>9} {'lag max s':>9} "
            f"{'max gap':>7} {'missing':>7} {'caught up':>12} {'cpu %':>5}"
        )
        for s in (idle, *steps):
            for name in fulls:
                f = s.full.get(name)
                if f is None:
                    continue
                offered = "idle" if s is idle else f"{s.rate:.0f}"
                caught = (
                    ("yes" if s is idle else f"yes {f.catch_up_s:4.1f} s")
                    if f.caught_up
                    else f"NO ({f.final_gap} behind)"
                )
                print(
                    f"  {offered:>8} {name:>4} {f.heights:7d} {_pct(f.lags, 0.5):9.2f} "
                    f"{max(f.lags, default=float('nan')):9.2f} {f.max_gap:7d} {f.missing:7d} "
                    f"{caught:>12} {s.cpu.get(name, 0):5.0f}"
                )
    if gaps:
        print(
            f"idle block interval (v0, {len(gaps)} gaps): mean {statistics.mean(gaps):.2f} s, "
            f"max {max(gaps):.2f} s"
        )
    else:
        print("idle block interval: fewer than 2 blocks seen while idle")
    if watcher.error:
        print(f"subscription: {watcher.error}")
    if not steps:
        return
    top = max(steps, key=lambda s: s.committed_rate)
    short = [s for s in steps if s.achieved < 0.95 * s.rate]
    print(f"saturation (max committed over steps):    {top.committed_rate:8.0f} tx/s")
    print(
        f"  at offered {top.rate:.0f}/s: p50 {_pct(top.latencies, 0.5):.2f} s, "
        f"p99 {_pct(top.latencies, 0.99):.2f} s"
    )
    print(f"raw ed25519 verify (pynacl, same run):    {verify_rate:8.0f} verify/s")
    print(f"ratio committed / raw verify:             {top.committed_rate / verify_rate:8.3f}")
    if short:
        print(
            "generator short of the offered rate at: "
            + ", ".join(
                f"{s.rate:.0f}/s (reached {s.achieved:.0f}/s, up to {s.late_s:.1f} s late)"
                for s in short
            )
        )
    ok = [s for s in steps if s.committed_rate >= 1000]
    met = any(
        _pct(s.latencies, 0.5) <= 1.0 and _pct(s.latencies, 0.99) <= 3.0 and not s.uncommitted
        for s in ok
    )
    print(
        "issue 3 target (>= 1,000 tx/s committed, p50 <= 1 s, p99 <= 3 s): "
        + ("MET" if met else "NOT MET")
    )


def _full_names(s: Step) -> set[str]:
    """Full node names among a step's measured processes (f0, f1, ...)."""
    return {n for n in s.cpu if n.startswith("f") and n[1:].isdigit()}


def parse_rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main_args(args: Any) -> None:
    run(
        parse_rates(args.rates),
        step_s=args.step_s,
        senders=args.net_senders,
        idle_s=args.idle_s,
        max_inflight=args.inflight,
        keep_dir=Path(args.net_dir) if args.net_dir else None,
        full_nodes=args.full_nodes,
        validators=args.validators,
    )
