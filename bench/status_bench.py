"""Status change at scale (issue 5): "Status change costs the same with 1,000,000
credentials per issuer; one transaction can revoke thousands."

One node in-process (``build_node``: real SQLite file, durable mempool, QosApp with the
bank, identity and credential modules; manual clock) holds, side by side in the same
state store:

* the **big issuer**: ``n_creds`` credentials (``--status-creds``; 1,000,000 is the
  target), and
* **1k issuers**: issuers of exactly 1,000 credentials each. One serves the suspend and
  unsuspend cases, one the single revocations; revoking 1,000 indexes is final, so each
  sample of "revoke 1,000" uses a fresh 1k issuer (all of its indexes in one op).

Population is genuine: the issuer DIDs are created by signed txs through the chain; every
credential is a ``MsgAnchorCredential`` signed by its issuer's ``assertionMethod`` key
(ed25519, over ``vc_sign_bytes``) with ``status_index=None``, so the **real
``CredentialModule``** assigns the index. Signing runs in worker processes (it is
independent per anchor); the anchors are then validated and applied **sequentially in
the parent** by ``CredentialModule.validate`` + ``handle`` (each in its own tx cache over
the batch's cache, signature verified against the issuer's DID document), and the
writes are staged and committed through ``MerkleStore.stage/commit`` every
``ANCHORS_PER_COMMIT`` anchors (large batched "blocks" instead of one block per 100
anchors). The issuer record serialises one issuer's anchors (next index, count), which
is why they are applied in one process.

Then, interleaved sample by sample (big low, big middle, big high, 1k ...) so background
load hits both alike, each status change is timed two ways:

* **module + commit**: ``validate`` + ``handle`` of the signed ``MsgChangeStatus`` on a
  cache over the store, then ``MerkleStore.stage`` + ``commit`` in one SQLite
  transaction;
* **block**: the op wrapped in a signed tx, ``submit_tx`` (check_tx, durable mempool) and
  the node stepped until the block holding it is committed (finalize_block + commit).

Cases: revoke / suspend / unsuspend of 1 index and of ``K`` = 1,000 indexes in one op,
at low, middle and high indexes of the big issuer (a contiguous run of indexes that
stays within one 2 KiB chunk), against the 1k issuers; and 1,000 indexes spread over all
of the big issuer's lists (cost grows with the chunks touched, not with the count). Rows
written: the state keys the credential module wrote (and all keys the block wrote:
plus the fee payer's account).

Finally the served ``BitstringStatusListCredential`` of every list of the big issuer is
fetched over HTTP (``GET /credentials/status/<issuer>/<purpose>/<list>``,
``httpx.ASGITransport`` against ``create_app(LocalNodePort)``), decoded and compared bit
for bit with the bench's own record of the changes; then its serving latency (big issuer
lists vs the 1k issuer's list).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.cred_bench import CHAIN_ID, _issuer, _seed
from bench.did_bench import _node, _pct
from qos_api.app import create_app
from qos_app.context import CacheKV, Ctx
from qos_app.store import bucket_of
from qos_chain.execution import AppliedBlock
from qos_chain.sign import sign
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.module import CredentialModule
from qos_identity.credentials.ops import (
    MsgAnchorCredential,
    MsgChangeStatus,
    StatusAction,
    vc_sign_bytes,
)
from qos_identity.credentials.reader import CredentialReader, sqlite_reverse_scan
from qos_identity.credentials.state import (
    CHUNK_BITS,
    LIST_BITS,
    load_issuer,
    status_index_key,
)
from qos_identity.credentials.status_list import (
    decode_list,
    status_from_list_credential,
    status_list_path,
)
from qos_identity.method import OpProof
from qos_identity.resolver import sqlite_reader
from qos_node.port import LocalNodePort
from qos_node.wiring import NodeBundle

K = 1000  # indexes in one "thousands" op
SMALL = 1000  # credentials of each 1k issuer
SIGN_SPAN = 5000  # anchors signed per worker task
ANCHORS_PER_COMMIT = 250_000  # anchors per MerkleStore.stage/commit when populating
TYPES = ("VerifiableCredential", "BenchCredential")
VALID_FROM = 1_767_225_600
PER_SUBJECT = 5
BIG_SALT = 3000
SMALL_SALT = 4000
BASE_URL = "http://bench"
POSITIONS = ("low", "middle", "high")
ACTIONS = (StatusAction.SUSPEND, StatusAction.UNSUSPEND, StatusAction.REVOKE)
NO_PROOF = OpProof("", b"")


# --------------------------------------------------------------------------- population


@dataclass
class Issuer:
    salt: int
    count: int
    did: str = ""
    seed: bytes = b""
    sequence: int = 0

    def __post_init__(self) -> None:
        self.did, self.seed, _ = _issuer(self.salt)

    @property
    def key(self) -> str:
        return f"{self.did}#key-1"


def _digest(salt: int, j: int) -> bytes:
    return hashlib.sha256(f"status-bench:{salt}:{j}".encode()).digest()


def _anchor(did: str, salt: int, j: int, proof: OpProof) -> MsgAnchorCredential:
    """Anchor ``j`` of issuer ``salt``; ``status_index=None``: the module assigns it."""
    subject = f"did:key:status{salt}x{j // PER_SUBJECT:07d}"
    return MsgAnchorCredential(
        _digest(salt, j), did, subject, "", TYPES, VALID_FROM, None, None, "", proof
    )


@functools.lru_cache(maxsize=64)
def _keys(salt: int) -> tuple[str, bytes]:
    did, seed, _ = _issuer(salt)
    return did, seed


def _sign_span(span: tuple[int, int, int]) -> bytes:
    """Worker: the issuer's ed25519 signatures of anchors ``lo..hi`` (64 bytes each)."""
    salt, lo, hi = span
    did, seed = _keys(salt)
    unsigned = OpProof(f"{did}#key-1", b"")
    return b"".join(
        sign(seed, vc_sign_bytes(CHAIN_ID, _anchor(did, salt, j, unsigned))) for j in range(lo, hi)
    )


def _spans(issuers: Sequence[Issuer]) -> list[tuple[int, int, int]]:
    return [
        (iss.salt, lo, min(lo + SIGN_SPAN, iss.count))
        for iss in issuers
        for lo in range(0, iss.count, SIGN_SPAN)
    ]


def create_issuers(bundle: NodeBundle, clock: int, issuers: Sequence[Issuer]) -> int:
    """The issuers' DIDs, created by signed txs through the chain; returns the clock."""
    creates = [_issuer(iss.salt)[2] for iss in issuers]
    sender = _seed(0, 97)
    txs = [
        idc.wrap_in_tx(CHAIN_ID, sender, k, creates[i : i + 20])
        for k, i in enumerate(range(0, len(creates), 20))
    ]
    _until_committed(bundle, clock, txs)
    return bundle.node.state.last_block_time_ns + 10**9


def populate(
    bundle: NodeBundle,
    issuers: Sequence[Issuer],
    workers: int,
    log: Callable[[str], None] = print,
) -> float:
    """Anchor every issuer's ``count`` credentials (signed in ``workers`` processes, or
    in-process if 0; applied in order here by the real module); returns seconds."""
    t0 = time.perf_counter()
    store = bundle.app.store
    height, time_ns = store.height, bundle.node.state.last_block_time_ns
    module = CredentialModule()
    by_salt = {iss.salt: iss for iss in issuers}
    total = sum(iss.count for iss in issuers)
    spans = _spans(issuers)
    batch = CacheKV(store.get)
    pending = done = 0

    def flush() -> None:
        nonlocal batch, pending
        with bundle.db.atomic():
            store.stage(batch.writes, store.height)
            store.commit()
        batch, pending = CacheKV(store.get), 0
        log(f"    {done:>9,} / {total:,} anchors applied ({time.perf_counter() - t0:.0f}s)")

    def signatures() -> Iterator[bytes]:
        if workers <= 0:
            yield from map(_sign_span, spans)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_sign_span, spans)

    for (salt, lo, hi), sigs in zip(spans, signatures(), strict=True):
        iss = by_salt[salt]
        for j in range(lo, hi):
            op = _anchor(
                iss.did, salt, j, OpProof(iss.key, sigs[64 * (j - lo) : 64 * (j - lo + 1)])
            )
            module.validate(op)
            tx = CacheKV(batch.get)  # a refused anchor would raise and stop the bench
            module.handle(Ctx(tx, CHAIN_ID, height, time_ns, bytes(20)), op)
            tx.write_into(batch)
        pending += hi - lo
        done += hi - lo
        if pending >= ANCHORS_PER_COMMIT:
            flush()
    if pending:
        flush()
    return time.perf_counter() - t0


def check_population(bundle: NodeBundle, issuers: Sequence[Issuer]) -> None:
    """Each issuer has ``count`` anchors and the module gave anchor j index j."""
    get = bundle.app.store.get
    for iss in issuers:
        rec = load_issuer(get, iss.did)
        assert rec.next_index == rec.anchored == iss.count, (iss.did, rec)
        for j in {0, iss.count // 2, iss.count - 1}:
            assert get(status_index_key(iss.did, j)) == _digest(iss.salt, j)


# --------------------------------------------------------------------------- measurement


def _until_committed(bundle: NodeBundle, clock: int, txs: Sequence[bytes]) -> list[AppliedBlock]:
    node = bundle.node
    blocks: list[AppliedBlock] = []
    node.add_listener(blocks.append)
    try:
        for raw in txs:
            node.submit_tx(raw, clock)
        while sum(len(b.block.txs) for b in blocks) < len(txs):
            clock += 10**8
            node.step(clock)
    finally:
        node.remove_listener(blocks.append)
    for b in blocks:
        for r in b.result.tx_results:
            assert r.ok, r.log
    return blocks


class Changer:
    """Applies signed status changes through the module + commit, or through a block."""

    def __init__(self, bundle: NodeBundle, clock: int) -> None:
        self.bundle = bundle
        self.clock = clock
        self.module = CredentialModule()
        self.sender = _seed(0, 96)
        self.nonce = 0
        self.block_writes: list[bytes] = []
        self._blocks: list[AppliedBlock] = []
        bundle.node.add_listener(self._blocks.append)
        store = bundle.app.store
        stage = store.stage

        def counting_stage(writes: Mapping[bytes, bytes | None], height: int) -> bytes:
            self.block_writes = list(writes)
            return stage(writes, height)

        store.stage = counting_stage  # type: ignore[method-assign]

    def bucket_rows(self, keys: Iterable[bytes]) -> int:
        """Rows in the Merkle buckets of ``keys`` (after the write): what ``stage`` rehashes."""
        buckets = sorted({bucket_of(k) for k in keys})
        marks = ",".join("?" * len(buckets))
        sql = f"SELECT count(*) FROM app_state WHERE bucket IN ({marks})"
        return int(self.bundle.db.conn.execute(sql, buckets).fetchone()[0])

    def op(self, iss: Issuer, action: StatusAction, idxs: Sequence[int]) -> MsgChangeStatus:
        return vc.change_status_op(
            CHAIN_ID, iss.did, iss.sequence, action, idxs, seed=iss.seed, signer=iss.key
        )

    def via_module(self, iss: Issuer, action: StatusAction, idxs: Sequence[int]) -> Sample:
        op = self.op(iss, action, idxs)
        store = self.bundle.app.store
        time_ns = self.bundle.node.state.last_block_time_ns
        c0, t0 = time.process_time(), time.perf_counter()
        self.module.validate(op)
        kv = CacheKV(store.get)
        self.module.handle(Ctx(kv, CHAIN_ID, store.height, time_ns, bytes(20)), op)
        with self.bundle.db.atomic():
            store.stage(kv.writes, store.height)
            store.commit()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        iss.sequence += 1
        return dt, dc, len(kv.writes), self.bucket_rows(kv.writes)

    def via_block(self, iss: Issuer, action: StatusAction, idxs: Sequence[int]) -> Sample:
        raw = vc.wrap_in_tx(CHAIN_ID, self.sender, self.nonce, [self.op(iss, action, idxs)])
        node = self.bundle.node
        self._blocks.clear()
        c0, t0 = time.process_time(), time.perf_counter()
        node.submit_tx(raw, self.clock)
        while not self._blocks:
            self.clock += 10**8
            node.step(self.clock)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        (block,) = self._blocks
        (result,) = block.result.tx_results
        assert result.ok, result.log
        self.nonce += 1
        iss.sequence += 1
        return dt, dc, len(self.block_writes), self.bucket_rows(self.block_writes)


class Allocator:
    """Contiguous runs of fresh indexes from ``start``; a run never crosses a 2 KiB chunk
    (so a run of k costs one chunk, as the 1k issuer's 0..k-1 does)."""

    def __init__(self, start: int, limit: int) -> None:
        self.start, self.cursor, self.limit = start, start, limit

    def take(self, n: int) -> list[int]:
        if self.cursor // CHUNK_BITS != (self.cursor + n - 1) // CHUNK_BITS:
            self.cursor = (self.cursor // CHUNK_BITS + 1) * CHUNK_BITS
        run = list(range(self.cursor, self.cursor + n))
        self.cursor += n
        assert self.cursor <= self.limit, "not enough credentials for this many samples"
        return run


# wall seconds, CPU seconds of this process, rows written, rows in their Merkle buckets
Sample = tuple[float, float, int, int]


@dataclass
class Series:
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)
    bucket_rows: list[int] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.times.append(sample[0])
        self.cpu.append(sample[1])
        self.rows.add(sample[2])
        self.bucket_rows.append(sample[3])

    def p(self, q: float) -> float:
        """Wall-clock percentile ``q`` in ms."""
        return (statistics.median(self.times) if q == 0.5 else _pct(self.times, q)) * 1e3

    def cpu_p50(self) -> float:
        return statistics.median(self.cpu) * 1e3


Results = dict[tuple[str, str, str, str], Series]  # (path, case, position, issuer kind)


@dataclass
class Plan:
    big: Issuer
    susp: Issuer  # 1k issuer: suspend / unsuspend
    rev1: Issuer  # 1k issuer: single revocations
    revk: list[Issuer]  # 1k issuers: one "revoke 1,000" sample each
    samples: int
    k_samples: int
    k: int  # indexes in one "thousands" op
    small: int  # credentials of each 1k issuer
    revoked: set[int] = field(default_factory=set)  # of the big issuer
    big_regions: dict[str, Allocator] = field(default_factory=dict)
    spread_free: list[int] = field(default_factory=list)


def region_width(samples: int, k_samples: int, k: int) -> int:
    need = 3 * samples + k + 2 * k_samples * k
    return need + (need // CHUNK_BITS + 2) * k


def plan(n_creds: int, samples: int, k_samples: int, k: int = K, small: int = SMALL) -> Plan:
    if 6 * samples > small:
        raise SystemExit(f"--status-samples is at most {small // 6}")
    if not 1 <= k <= min(small, CHUNK_BITS):
        raise SystemExit(f"k is 1..{min(small, CHUNK_BITS)}")
    while k_samples > 1 and 3 * region_width(samples, k_samples, k) > n_creds:
        k_samples -= 1  # a small --status-creds holds fewer fresh runs of k to revoke
    width = region_width(samples, k_samples, k)
    if 3 * width > n_creds:
        raise SystemExit(f"--status-creds {n_creds:,} is too small for these samples")
    big = Issuer(BIG_SALT, n_creds)
    mid = (n_creds // 2) // CHUNK_BITS * CHUNK_BITS
    starts = {"low": 0, "middle": max(width, mid), "high": n_creds - width}
    assert starts["middle"] + width <= starts["high"]
    regions = {p: Allocator(s, s + width) for p, s in starts.items()}
    smalls = [Issuer(SMALL_SALT + i, small) for i in range(2 + 2 * k_samples)]
    return Plan(
        big, smalls[0], smalls[1], smalls[2:], samples, k_samples, k, small, big_regions=regions
    )


def measure(ch: Changer, pl: Plan, log: Callable[[str], None] = print) -> Results:
    res: Results = {}

    def rec(path: str, case: str, pos: str, who: str, sample: Sample) -> None:
        res.setdefault((path, case, pos, who), Series()).add(sample)

    small_single = {
        "low": [0],
        "middle": [pl.small // 2 - pl.samples],
        "high": [pl.small - 2 * pl.samples],
    }
    # fixed runs per big-issuer region: k toggled, `samples` singles toggled
    big_k = {p: a.take(pl.k) for p, a in pl.big_regions.items()}
    big_t1 = {p: a.take(pl.samples) for p, a in pl.big_regions.items()}
    small_t1 = {p: list(range(s[0], s[0] + pl.samples)) for p, s in small_single.items()}
    spread = spread_indexes(pl)
    # Warm-up (not timed): the first suspend of a chunk also writes its absent (all-zero)
    # revocation chunk and that list's meta, 2 more rows once; measure the steady state.
    first: set[int] = set()
    for iss, idxs in (
        *((pl.big, big_k[p] + big_t1[p]) for p in POSITIONS),
        (pl.susp, list(range(pl.small))),
        *(((pl.big, spread[0]),) if spread is not None else ()),
    ):
        for act in (StatusAction.SUSPEND, StatusAction.UNSUSPEND):
            first.add(ch.via_module(iss, act, idxs)[2])
    log(f"    warm-up: first suspend / unsuspend of these chunks wrote {sorted(first)} rows")
    kc, rev = f"{pl.k:,}", StatusAction.REVOKE
    for path in ("module", "block"):
        apply = ch.via_module if path == "module" else ch.via_block
        log(f"    {path}: suspend / unsuspend {kc}")
        for _ in range(pl.k_samples):
            for act in (StatusAction.SUSPEND, StatusAction.UNSUSPEND):
                for pos in POSITIONS:
                    rec(path, f"{act.label} {kc}", pos, "1M", apply(pl.big, act, big_k[pos]))
                rec(path, f"{act.label} {kc}", "all", "1k", apply(pl.susp, act, range(pl.k)))
        log(f"    {path}: suspend / unsuspend 1")
        for s in range(pl.samples):
            for act in (StatusAction.SUSPEND, StatusAction.UNSUSPEND):
                for pos in POSITIONS:
                    rec(path, f"{act.label} 1", pos, "1M", apply(pl.big, act, [big_t1[pos][s]]))
                    rec(path, f"{act.label} 1", pos, "1k", apply(pl.susp, act, [small_t1[pos][s]]))
        log(f"    {path}: revoke 1")
        for _ in range(pl.samples):
            for pos in POSITIONS:
                (i,) = pl.big_regions[pos].take(1)
                pl.revoked.add(i)
                rec(path, "revoke 1", pos, "1M", apply(pl.big, rev, [i]))
                j = small_single[pos][0]
                small_single[pos][0] += 1
                rec(path, "revoke 1", pos, "1k", apply(pl.rev1, rev, [j]))
        log(f"    {path}: revoke {kc}")
        for s in range(pl.k_samples):
            for pos in POSITIONS:
                run = pl.big_regions[pos].take(pl.k)
                pl.revoked.update(run)
                rec(path, f"revoke {kc}", pos, "1M", apply(pl.big, rev, run))
            fresh = pl.revk[s if path == "module" else pl.k_samples + s]
            rec(path, f"revoke {kc}", "all", "1k", apply(fresh, rev, range(pl.k)))
    if spread is not None:
        for path in ("module", "block"):
            apply = ch.via_module if path == "module" else ch.via_block
            log(f"    {path}: {kc} indexes spread over all lists")
            for s in range(pl.k_samples):
                for act in (StatusAction.SUSPEND, StatusAction.UNSUSPEND):
                    rec(path, f"{act.label} {kc}", "spread", "1M", apply(pl.big, act, spread[0]))
                run = spread[1 + s + (0 if path == "module" else pl.k_samples)]
                pl.revoked.update(run)
                rec(path, f"revoke {kc}", "spread", "1M", apply(pl.big, rev, run))
    return res


def spread_indexes(pl: Plan) -> list[list[int]] | None:
    """``1 + 2 * k_samples`` disjoint sets of ``k`` indexes of the big issuer, each evenly
    spread over all of its lists, outside the regions; None if the issuer is too small."""
    n = pl.big.count
    taken = [(a.start, a.limit) for a in pl.big_regions.values()]
    free = [i for i in range(n) if not any(lo <= i < hi for lo, hi in taken)]
    sets = 1 + 2 * pl.k_samples
    stride = len(free) // pl.k
    if stride < sets:
        return None
    return [[free[j * stride + s] for j in range(pl.k)] for s in range(sets)]


# --------------------------------------------------------------------------- status lists


async def _serve(
    port: LocalNodePort, pl: Plan, rounds: int
) -> tuple[dict[str, dict[int, dict[str, Any]]], dict[str, list[float]]]:
    app = create_app(port)
    docs: dict[str, dict[int, dict[str, Any]]] = {"revocation": {}, "suspension": {}}
    lat: dict[str, list[float]] = {"big": [], "1k": []}
    n_lists = (pl.big.count + LIST_BITS - 1) // LIST_BITS
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:

        async def fetch(iss: Issuer, purpose: str, list_id: int) -> dict[str, Any]:
            r = await client.get(status_list_path(iss.did, purpose, list_id))
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("application/vc")
            doc: dict[str, Any] = r.json()
            return doc

        for purpose, lists in docs.items():
            for list_id in range(n_lists):
                lists[list_id] = await fetch(pl.big, purpose, list_id)
        for _ in range(20):  # warm up
            await fetch(pl.rev1, "revocation", 0)
        for _ in range(rounds):
            for who, iss, list_id in (
                ("big", pl.big, random.randrange(n_lists)),
                ("1k", pl.rev1, 0),
            ):
                t0 = time.perf_counter()
                await fetch(iss, "revocation", list_id)
                lat[who].append(time.perf_counter() - t0)
    return docs, lat


def check_lists(docs: Mapping[str, Mapping[int, dict[str, Any]]], pl: Plan, marks: set[int]) -> int:
    """Every bit of the big issuer's served lists is what the bench changed; returns the
    number of bits compared."""
    compared = 0
    for purpose, expected_set in (("revocation", pl.revoked), ("suspension", marks)):
        for list_id, doc in docs[purpose].items():
            assert doc["issuer"] == pl.big.did
            assert doc["credentialSubject"]["statusPurpose"] == purpose
            bits = decode_list(doc["credentialSubject"]["encodedList"])
            assert len(bits) == LIST_BITS // 8
            want = bytearray(LIST_BITS // 8)
            for i in expected_set:
                if i // LIST_BITS == list_id:
                    want[(i % LIST_BITS) >> 3] |= 0x80 >> (i & 7)
            assert bits == bytes(want), f"{purpose} list {list_id} differs from the changes"
            compared += LIST_BITS
    for i in sorted(pl.revoked)[:: max(1, len(pl.revoked) // 50)]:  # the verifier's view
        assert status_from_list_credential(docs["revocation"][i // LIST_BITS], i)
    for i in marks:
        assert status_from_list_credential(docs["suspension"][i // LIST_BITS], i)
        assert not status_from_list_credential(docs["suspension"][i // LIST_BITS], i + 1)
    return compared


# --------------------------------------------------------------------------- report


def _table(res: Results, path: str, k: int) -> list[tuple[str, str, Series, Series]]:
    rows: list[tuple[str, str, Series, Series]] = []
    for case in (
        *(f"{a.label} 1" for a in ACTIONS),
        *(f"{a.label} {k:,}" for a in ACTIONS),
    ):
        for pos in (*POSITIONS, "spread"):
            big = res.get((path, case, pos, "1M"))
            if big is None:
                continue
            small = res.get((path, case, pos, "1k")) or res[(path, case, "all", "1k")]
            rows.append((case, pos, big, small))
    return rows


def run(
    n_creds: int,
    samples: int = 100,
    k_samples: int = 20,
    workers: int = 2,
    rounds: int = 300,
    *,
    k: int = K,
    small: int = SMALL,
) -> dict[str, Any]:
    pl = plan(n_creds, samples, k_samples, k, small)
    issuers = [pl.big, pl.susp, pl.rev1, *pl.revk]
    with tempfile.TemporaryDirectory() as tmp:
        bundle, clock = _node(tmp, "status")
        clock = create_issuers(bundle, clock, issuers)
        n_anchors = sum(iss.count for iss in issuers)
        print(
            f"status change at scale: 1 issuer with {n_creds:,} credentials, "
            f"{len(issuers) - 1} issuers with {small:,} (populating {n_anchors:,} anchors...)"
        )
        t_pop = populate(bundle, issuers, workers)
        check_population(bundle, issuers)
        rows = bundle.db.conn.execute("SELECT count(*) FROM app_state").fetchone()[0]
        print(
            f"  populated {n_anchors:,} genuine anchors ({rows:,} state rows) in {t_pop:.0f}s "
            f"({n_anchors / t_pop:,.0f} anchors/s: signed in {workers} worker processes, "
            "validated + applied in order by CredentialModule)"
        )
        ch = Changer(bundle, clock)
        print(
            f"  measuring ({pl.samples} samples of each 1-index case, {pl.k_samples} of each "
            f"{k:,}-index case, interleaved 1M / 1k)..."
        )
        res = measure(ch, pl)
        # leave three suspended indexes of the big issuer to check in the served list
        marks = {pl.big_regions[p].take(1)[0] for p in POSITIONS}
        ch.via_block(pl.big, StatusAction.SUSPEND, sorted(marks))
        port = LocalNodePort(bundle.node, bundle.app, bundle.home.db_path, clock=lambda: ch.clock)
        try:
            docs, lat = asyncio.run(_serve(port, pl, rounds))
        finally:
            port.close()
        compared = check_lists(docs, pl, marks)
        conn = bundle.db.conn
        reader = CredentialReader(*sqlite_reader(conn), sqlite_reverse_scan(conn))
        for i in sorted(pl.revoked)[:: max(1, len(pl.revoked) // 20)]:
            assert reader.is_set(pl.big.did, "revocation", i)
        bundle.db.close()

    print(
        f"  big = the issuer with {n_creds:,} credentials; 1k = issuers with {small:,}; "
        "ratio = big / 1k (wall-clock p50, p99; CPU ratio: p50 of this process's CPU time); "
        "buckets = rows in the Merkle buckets of the keys written, big/1k (median: "
        "what MerkleStore.stage rehashes); rows = state keys written per change"
    )
    heads = ("big p50", "big p99", "1k p50", "1k p99", "ratio p50", "ratio p99", "CPU ratio")
    print(f"  {'case':<16} {'indexes':<8} " + " ".join(f"{h:>9}" for h in heads)
          + f" {'buckets':>9}  rows")  # fmt: skip
    out: dict[str, Any] = {"populate_s": t_pop, "anchors": n_anchors, "rows": {}, "ratio": {}}
    for path, title in (
        ("module", "module validate + handle + MerkleStore stage/commit (ms)"),
        ("block", "through a block: submit_tx (check_tx) + finalize_block + commit (ms)"),
    ):
        print(f"  {title}")
        for case, pos, big, one_k in _table(res, path, pl.k):
            r50, r99 = big.p(0.5) / one_k.p(0.5), big.p(0.99) / one_k.p(0.99)
            rcpu = big.cpu_p50() / one_k.cpu_p50()
            bk = "/".join(f"{statistics.median(x.bucket_rows):.0f}" for x in (big, one_k))
            rws = "/".join(map(str, sorted(big.rows)))
            if big.rows != one_k.rows:
                rws += f" (1k: {'/'.join(map(str, sorted(one_k.rows)))})"
            cols = (big.p(0.5), big.p(0.99), one_k.p(0.5), one_k.p(0.99), r50, r99, rcpu)
            print(
                f"  {case:<16} {pos:<8} " + " ".join(f"{c:9.2f}" for c in cols) + f" {bk:>9}  {rws}"
            )
            out["rows"][(path, case, pos)] = (big.rows, one_k.rows)
            out["ratio"][(path, case, pos)] = r50
    n_lists = len(docs["revocation"])
    print(
        f"  served status lists: {2 * n_lists} lists of the big issuer decoded, {compared:,} bits "
        f"equal to the changes made ({len(pl.revoked):,} revoked, {len(marks)} suspended)"
    )
    for who, xs in lat.items():
        print(
            f"  GET {'status list of the ' + who + ' issuer':<33} p50 "
            f"{statistics.median(xs) * 1e3:6.2f} ms   p99 {_pct(xs, 0.99) * 1e3:6.2f} ms"
        )
    out["serve"] = {w: (statistics.median(xs), _pct(xs, 0.99)) for w, xs in lat.items()}
    return out
