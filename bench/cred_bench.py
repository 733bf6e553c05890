"""Credential benchmarks (issue 5): issue + anchor through one node, verifications per
second on one core, and credential query latency with many anchored credentials.

(a) Issue + anchor on one node, in-process (real SQLite file, durable mempool, QosApp
    with the identity and credential modules, signer; manual clock): credentials are
    issued (built + ``eddsa-jcs-2022`` signed, off chain), then anchored as pre-signed
    txs, one anchor per tx each from its own account, and ``BATCH`` anchors per tx;
    blocks are produced until all commit. Side by side: the credential module alone
    (``validate`` + ``handle`` on an in-memory cache, no chain).
(b) Verifications per second on one core: ``verify_credential`` (all seven checks:
    JCS + proof, issuer key at the anchoring height, anchor, status, validity, schema)
    over a read-only SQLite connection to the node of (a); the raw ed25519 verify rate is
    measured in the same run.
(c) Query latency at the server with ``n_creds`` anchored credentials: GraphQL
    ``credentials(subject: ...)`` (a page of ~5) and ``credential(id)``, driven in-process
    with ``httpx.ASGITransport`` against ``create_app(LocalNodePort)`` (reads on the port's
    thread pool over read-only WAL connections; no TCP). State is populated fast but
    genuinely: each issuer DID is created by the real ``IdentityModule`` and every anchor
    is signed, validated, authorised and applied by the real ``CredentialModule`` in worker
    processes; the writes are then staged and committed through
    ``MerkleStore.stage/commit`` in large batches instead of through blocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import httpx

from bench.did_bench import _node, _pct, _run_chain
from bench.tx_throughput import GENESIS_NS, ed25519_verify_rate
from qos_api.app import create_app
from qos_app.context import CacheKV, Ctx
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.module import CredentialModule
from qos_identity.credentials.ops import MsgAnchorCredential, sign_vc_op
from qos_identity.credentials.reader import CredentialReader, sqlite_reverse_scan
from qos_identity.credentials.verify import identity_documents, verify_credential
from qos_identity.method import OpProof
from qos_identity.module import IdentityModule
from qos_identity.resolver import sqlite_reader
from qos_node.port import LocalNodePort
from qos_node.wiring import NodeBundle

CHAIN_ID = "qos-bench"
BATCH = 100  # anchors per tx (an anchor op is ~300 bytes; the tx limit is 64 KiB)
PER_ISSUER = 10_000  # credentials per issuer when populating
PER_SUBJECT = 5  # credentials per subject when populating
STORE_BATCH = 250_000
BASE = "https://node.example"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["id", "role"],
            "properties": {"role": {"type": "string", "enum": ["engineer", "manager"]}},
        }
    },
}


def _seed(i: int, salt: int) -> bytes:
    return salt.to_bytes(4, "big") + i.to_bytes(8, "big") + bytes(20)


def _issuer(salt: int) -> tuple[str, bytes, Any]:
    seed = _seed(0, salt)
    did, op = idc.create_did(CHAIN_ID, seed, _seed(1, salt))
    return did, seed, op


def _issue(issuer: str, seed: bytes, subject: str, sid: str, index: int) -> dict[str, Any]:
    cred = vc.build_credential(
        issuer,
        subject,
        {"role": "engineer", "n": index},
        types=["EmploymentCredential"],
        valid_from="2026-01-01T00:00:00Z",
        schema_id=sid,
        status_index=index,
        status_base_url=BASE,
    )
    return vc.issue(cred, seed, f"{issuer}#key-1", created="2026-01-01T00:00:05Z")


def issue_and_anchor(n: int, tmp: str) -> dict[str, Any]:
    bundle, clock = _node(tmp, "anchor")
    did, seed, create = _issuer(5)
    sender = _seed(0, 99)
    sid, reg = vc.register_schema_op(
        CHAIN_ID, did, "employment", 1, SCHEMA, seed=seed, signer=f"{did}#key-1"
    )
    _run_chain(bundle, clock, [idc.wrap_in_tx(CHAIN_ID, sender, 0, [create])])  # issuer DID
    clock = bundle.node.state.last_block_time_ns + 10**9
    _run_chain(bundle, clock, [vc.wrap_in_tx(CHAIN_ID, sender, 1, [reg])])
    clock = bundle.node.state.last_block_time_ns + 10**9
    subjects = [f"did:key:bench{i:07d}" for i in range(2 * n)]

    t0 = time.perf_counter()
    creds = [_issue(did, seed, subjects[i], sid, i) for i in range(2 * n)]
    t_issue = time.perf_counter() - t0
    key = f"{did}#key-1"
    t0 = time.perf_counter()
    ops = [vc.anchor_op(CHAIN_ID, c, seed, key) for c in creds]
    t_sign = time.perf_counter() - t0

    singles = [vc.wrap_in_tx(CHAIN_ID, _seed(i, 7), 0, [op]) for i, op in enumerate(ops[:n])]
    secs, blocks = _run_chain(bundle, clock, singles)
    clock = bundle.node.state.last_block_time_ns + 10**9
    batched = [
        vc.wrap_in_tx(CHAIN_ID, sender, 2 + k, ops[n + i : n + i + BATCH])
        for k, i in enumerate(range(0, n, BATCH))
    ]
    bsecs, _ = _run_chain(bundle, clock, batched)

    # module alone: validate + handle on an in-memory cache holding the issuer DID
    module, ident = CredentialModule(), IdentityModule()
    kv = CacheKV(lambda _k: None)
    ident.handle(Ctx(kv, CHAIN_ID, 1, GENESIS_NS, bytes(20)), create)
    module.handle(Ctx(kv, CHAIN_ID, 1, GENESIS_NS, bytes(20)), reg)
    alone = [vc.anchor_op(CHAIN_ID, c, seed, key) for c in creds[: min(n, 5000)]]
    t0 = time.perf_counter()
    for op in alone:
        module.validate(op)
        module.handle(Ctx(kv, CHAIN_ID, 2, GENESIS_NS, bytes(20)), op)
    t_alone = time.perf_counter() - t0
    return {
        "n": n,
        "bundle": bundle,
        "creds": creds,
        "blocks": blocks,
        "issue": 2 * n / t_issue,
        "sign_anchor": 2 * n / t_sign,
        "chain": n / secs,
        "batched": n / bsecs,
        "app": len(alone) / t_alone,
    }


def verifications(bundle: NodeBundle, creds: Sequence[dict[str, Any]], now: int) -> float:
    conn = bundle.db.conn
    get, scan = sqlite_reader(conn)
    reader = CredentialReader(get, scan, sqlite_reverse_scan(conn))
    documents = identity_documents(get)
    sample = list(creds)
    for c in sample[:50]:  # warm up
        assert verify_credential(c, documents, reader, now).verified
    t0 = time.perf_counter()
    for c in sample:
        verify_credential(c, documents, reader, now)
    rate = len(sample) / (time.perf_counter() - t0)
    assert verify_credential(sample[-1], documents, reader, now).verified
    return rate


# --------------------------------------------------------------------------- population


def _digest(issuer_no: int, j: int) -> bytes:
    return hashlib.sha256(f"cred:{issuer_no}:{j}".encode()).digest()


def _subject(k: int) -> str:
    return f"did:key:bench{k:09d}"


def _genuine_writes(args: tuple[int, int, int]) -> dict[bytes, bytes | None]:
    """The state writes of issuer ``i`` (its DID create and its ``count`` anchors) applied
    by the real IdentityModule and CredentialModule."""
    i, count, n_subjects = args
    did, seed, create = _issuer(1000 + i)
    ident, module = IdentityModule(), CredentialModule()
    kv = CacheKV(lambda _k: None)
    ident.validate(create)
    ident.handle(Ctx(kv, CHAIN_ID, 1, GENESIS_NS, bytes(20)), create)
    key = f"{did}#key-1"
    no_proof = OpProof("", b"")
    for j in range(count):
        subject = _subject((i * PER_ISSUER + j) % n_subjects)
        op = MsgAnchorCredential(
            _digest(i, j),
            did,
            subject,
            "",
            ("VerifiableCredential", "BenchCredential"),
            1_767_225_600,
            None,
            j,
            "",
            no_proof,
        )
        signed = sign_vc_op(op, CHAIN_ID, seed, key)
        module.validate(signed)
        height = 2 + (i * PER_ISSUER + j) // 1000
        module.handle(Ctx(kv, CHAIN_ID, height, GENESIS_NS + height * 10**9, bytes(20)), signed)
    return kv.writes


def populate(bundle: NodeBundle, n: int, workers: int) -> float:
    t0 = time.perf_counter()
    n_subjects = max(1, n // PER_SUBJECT)
    spans = [
        (i, min(PER_ISSUER, n - i * PER_ISSUER), n_subjects)
        for i in range((n + PER_ISSUER - 1) // PER_ISSUER)
    ]
    store = bundle.app.store
    pending: dict[bytes, bytes | None] = {}
    ctx = multiprocessing.get_context("fork")
    done_creds = 0
    with ctx.Pool(workers) as pool:
        for done, writes in enumerate(pool.imap(_genuine_writes, spans), 1):
            pending.update(writes)
            done_creds += spans[done - 1][1]
            if len(pending) >= 3 * STORE_BATCH or done == len(spans):
                with bundle.db.conn:
                    store.stage(pending, store.height)
                    store.commit()
                pending = {}
                took = time.perf_counter() - t0
                print(f"    {done_creds:>9,} credentials in state ({took:.0f}s)")
    return time.perf_counter() - t0


CREDS_Q = """query($s: String!) { credentials(subject: $s, first: 20) {
  edges { node { id issuer status statusIndex validFrom } } pageInfo { hasNextPage } } }"""
CRED_Q = """query($id: String!) { credential(id: $id) { id issuer subject status statusIndex } }"""


async def _latencies(
    port: LocalNodePort, subjects: Sequence[str], ids: Sequence[str], rounds: int
) -> dict[str, list[float]]:
    app = create_app(port)
    out: dict[str, list[float]] = {"by_subject": [], "by_id": []}
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(50):  # warm up threads, connections and caches
            await client.post("/graphql", json={"query": CREDS_Q, "variables": {"s": subjects[0]}})
            await client.post("/graphql", json={"query": CRED_Q, "variables": {"id": ids[0]}})
        for s, cid in zip(
            random.sample(list(subjects), rounds), random.sample(list(ids), rounds), strict=True
        ):
            t0 = time.perf_counter()
            g = await client.post("/graphql", json={"query": CREDS_Q, "variables": {"s": s}})
            out["by_subject"].append(time.perf_counter() - t0)
            edges = g.json()["data"]["credentials"]["edges"]
            assert 1 <= len(edges) <= PER_SUBJECT + 1, g.text
            t0 = time.perf_counter()
            g = await client.post("/graphql", json={"query": CRED_Q, "variables": {"id": cid}})
            out["by_id"].append(time.perf_counter() - t0)
            assert g.json()["data"]["credential"]["id"] == cid, g.text
    return out


def queries(n: int, rounds: int, tmp: str, workers: int) -> dict[str, float]:
    bundle, clock = _node(tmp, "query")
    t_pop = populate(bundle, n, workers)
    n_subjects = max(1, n // PER_SUBJECT)
    subjects = [_subject(k) for k in random.sample(range(n_subjects), min(n_subjects, rounds))]
    picks = random.sample(range(n), min(n, rounds))
    ids = [_digest(p // PER_ISSUER, p % PER_ISSUER).hex() for p in picks]
    rounds = min(len(subjects), len(ids))
    port = LocalNodePort(bundle.node, bundle.app, bundle.home.db_path, clock=lambda: clock)
    try:
        lat = asyncio.run(_latencies(port, subjects, ids, rounds))
    finally:
        port.close()
    conn = bundle.db.conn
    reader = CredentialReader(*sqlite_reader(conn), sqlite_reverse_scan(conn))
    direct: list[float] = []
    for s in subjects[:rounds]:
        t0 = time.perf_counter()
        reader.credentials(subject=s, first=20)
        direct.append(time.perf_counter() - t0)
    rows = conn.execute("SELECT count(*) FROM app_state").fetchone()[0]
    bundle.db.close()
    res: dict[str, float] = {"n": n, "populate_s": t_pop, "rows": rows, "rounds": rounds}
    for name, xs in [*lat.items(), ("direct", direct)]:
        res[f"{name}_p50"] = statistics.median(xs) * 1e3
        res[f"{name}_p99"] = _pct(xs, 0.99) * 1e3
    return res


def run(n_anchors: int, n_creds: int, rounds: int, workers: int = 2) -> None:
    ed = ed25519_verify_rate()
    with tempfile.TemporaryDirectory() as tmp:
        a = issue_and_anchor(n_anchors, tmp)
        n = a["n"]
        print(
            f"credentials: issue + anchor (1 node, {n:,} single-anchor txs in "
            f"{a['blocks']:.0f} blocks, then {n:,} anchors {BATCH} per tx)"
        )
        print(f"  issue (build + eddsa-jcs-2022 sign, off chain): {a['issue']:10.0f} creds/s")
        print(f"  anchor op (digest + sign, client side):         {a['sign_anchor']:10.0f} ops/s")
        print(f"  credential module alone (validate + handle):    {a['app']:10.0f} anchors/s")
        print(f"  whole stack, signed tx -> committed, 1 per tx:  {a['chain']:10.0f} anchors/s")
        print(f"  whole stack, {BATCH} anchors per tx:              {a['batched']:10.0f} anchors/s")
        print(f"  ratio 1-per-tx / module alone:                  {a['chain'] / a['app']:10.3f}")
        print(f"  ratio batched / module alone:                   {a['batched'] / a['app']:10.3f}")
        now = a["bundle"].node.state.last_block_time_ns // 10**9
        rate = verifications(a["bundle"], a["creds"], now)
        a["bundle"].db.close()
        print(f"credential verification (one core, {len(a['creds']):,} anchored credentials)")
        print(f"  verify_credential, all 7 checks on SQLite:      {rate:10.0f} verifications/s")
        print(f"  raw ed25519 verify (pynacl, same run):          {ed:10.0f} verify/s")
        print(f"  ratio verification / raw ed25519:               {rate / ed:10.3f}")
        print("  target: >= 1,000 verifications/s per core")
        print(f"credential queries ({n_creds:,} anchored credentials, populating...)")
        q = queries(n_creds, rounds, tmp, workers)
        print(
            f"  populated {q['n']:,} credentials ({q['rows']:,} state rows) in "
            f"{q['populate_s']:.0f}s ({q['n'] / q['populate_s']:,.0f} genuine anchors/s)"
        )
        print(f"  in-process ASGI (httpx.ASGITransport), {q['rounds']:.0f} random picks:")
        for name, label in [
            ("by_subject", "GraphQL credentials(subject)"),
            ("by_id", "GraphQL credential(id)"),
            ("direct", "reader by subject (no API)"),
        ]:
            print(f"  {label:<30} p50 {q[name + '_p50']:6.2f} ms   p99 {q[name + '_p99']:6.2f} ms")
        print("  target: p99 < 20 ms at the server with 1,000,000 credentials")
