"""Credential issue + anchor rate through a 4-validator devnet (issue 5).

4 validator processes over libp2p (``create_devnet``). The issuer DID is created with
``submitDidOperation`` and a schema registered with ``submitCredentialOperation``; both
are waited for on every node. Subjects are ``did:key`` identifiers (the credential module
only checks that a subject is a DID, so they need no registration). Then ``2 n``
credentials are issued off chain (built + ``eddsa-jcs-2022`` signed; timed on their own),
their anchor ops signed, and anchored in two rounds through the devnet: ``n`` anchors
``BATCH`` per tx, then up to ``n`` anchors one per tx (at most 200 txs per sender: a
node's mempool holds 256 pending txs per sender, and a refused tx would leave a nonce gap
that stalls the sender's later ones). K sequential senders (each submits its
next pre-signed tx when the previous one is answered, fee 0) round-robin over the nodes'
GraphQL ``submitCredentialOperation``. Measured: anchors per second from the first
submission until each sender's last credential is visible through GraphQL
``credential(id)`` on a validator that did not receive it (a sender's txs commit in nonce
order, so its last credential implies all of its earlier ones). The credential module
alone (``validate`` + ``handle`` on an in-memory cache, no chain) and the raw ed25519
verify rate are measured in the same run for the ratios.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

from bench.tx_throughput import GENESIS_NS, ed25519_verify_rate
from qos_app.context import CacheKV, Ctx
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.module import CredentialModule
from qos_identity.credentials.ops import MsgAnchorCredential
from qos_identity.didkey import did_key_of
from qos_identity.module import IdentityModule
from qos_node.devnet import Devnet, DevnetMember, create_devnet
from qos_node.process import free_port
from qos_wallet.keystore import KdfParams

CHAIN = "qos-devnet"
BATCH = 50  # anchors per tx in the batched round (an anchor op is ~400 bytes)
SENDERS = 8
PER_SENDER = 200  # txs per sender at most (a node's mempool holds 256 pending per sender)
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
RESULT = """__typename ... on TransactionAccepted { hash }
  ... on TransactionRejected { code message }"""
SUBMIT_DID = f"""mutation($tx: String!) {{ submitDidOperation(signedTx: $tx) {{ {RESULT} }} }}"""
SUBMIT_VC = f"""mutation($tx: String!) {{ submitCredentialOperation(signedTx: $tx) {{
  {RESULT} }} }}"""
SCHEMA_Q = "query($id: String!) { credentialSchema(id: $id) { id } }"
ISSUER_Q = "query($did: String!) { credentialIssuer(did: $did) { anchored } }"
TIMEOUT_S = 300.0
POLL_S = 0.05  # poll interval while waiting for the last block


def _seed(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"{tag}/{i}".encode()).digest()


def _gql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url, json={"query": query, "variables": variables}, timeout=30)
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    data: dict[str, Any] = body["data"]
    return data


def _submit(url: str, mutation: str, raw: bytes) -> None:
    data = _gql(url, mutation, {"tx": base64.b64encode(raw).decode()})
    res = next(iter(data.values()))
    if res["__typename"] != "TransactionAccepted":
        raise RuntimeError(f"setup tx rejected: {res}")


def _wait(what: str, ready: Any) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} never became visible")
        time.sleep(POLL_S)


def setup(members: list[DevnetMember]) -> tuple[str, bytes, str, list[Any]]:
    """Issuer DID and schema through GraphQL, committed on every node."""
    urls = [m.graphql for m in members]
    seed = _seed("issuer", 0)
    did, create = idc.create_did(CHAIN, seed, _seed("issuer-recovery", 0))
    key = f"{did}#key-1"
    sid, reg = vc.register_schema_op(CHAIN, did, "employment", 1, SCHEMA, seed=seed, signer=key)
    sender = _seed("setup", 0)
    _submit(urls[0], SUBMIT_DID, idc.wrap_in_tx(CHAIN, sender, 0, [create]))
    for m in members:
        check = f"http://127.0.0.1:{m.api_port}/1.0/identifiers/{did}"
        _wait("the issuer DID", lambda c=check: httpx.get(c, timeout=10).status_code == 200)
    _submit(urls[1], SUBMIT_VC, vc.wrap_in_tx(CHAIN, sender, 1, [reg]))
    for u in urls:
        _wait(
            "the schema",
            lambda u=u: _gql(u, SCHEMA_Q, {"id": sid})["credentialSchema"] is not None,
        )
    return did, seed, sid, [create, reg]


def issue_all(did: str, seed: bytes, sid: str, n: int) -> tuple[list[dict[str, Any]], float]:
    subjects = [did_key_of(bytes(SigningKey(_seed("subject", i)).verify_key)) for i in range(n)]
    t0 = time.perf_counter()
    creds = [
        vc.issue(
            vc.build_credential(
                did,
                subjects[i],
                {"role": "engineer", "n": i},
                types=["EmploymentCredential"],
                valid_from="2026-01-01T00:00:00Z",
                schema_id=sid,
                status_index=i,
                status_base_url=BASE,
            ),
            seed,
            f"{did}#key-1",
            created="2026-01-01T00:00:05Z",
        )
        for i in range(n)
    ]
    return creds, n / (time.perf_counter() - t0)


def presign(
    ops: list[MsgAnchorCredential], batch: int, senders: int, tag: str
) -> list[list[tuple[bytes, str]]]:
    """Per sender: (signed tx, id of its last credential), ``batch`` anchors per tx."""
    per_sender: list[list[tuple[bytes, str]]] = [[] for _ in range(senders)]
    for k, i in enumerate(range(0, len(ops), batch)):
        chunk = ops[i : i + batch]
        s = k % senders
        raw = vc.wrap_in_tx(CHAIN, _seed(tag, s), len(per_sender[s]), chunk)
        per_sender[s].append((raw, chunk[-1].digest.hex()))
    return per_sender


async def _drive(
    urls: list[str], per_sender: list[list[tuple[bytes, str]]]
) -> tuple[int, list[str]]:
    rejected: list[str] = []
    answered = 0

    async def sender(idx: int, txs: list[tuple[bytes, str]], client: httpx.AsyncClient) -> None:
        nonlocal answered
        url = urls[idx % len(urls)]
        for raw, _ in txs:
            body = {"query": SUBMIT_VC, "variables": {"tx": base64.b64encode(raw).decode()}}
            r = await client.post(url, json=body)
            res = r.json()["data"]["submitCredentialOperation"]
            answered += 1
            if res["__typename"] != "TransactionAccepted":
                rejected.append(f"{res.get('code')}: {res.get('message')}")

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(sender(i, t, client) for i, t in enumerate(per_sender)))
    return answered, rejected


def _anchored(url: str, did: str) -> int:
    count: int = _gql(url, ISSUER_Q, {"did": did})["credentialIssuer"]["anchored"]
    return count


def _all_visible(urls: list[str], per_sender: list[list[tuple[bytes, str]]]) -> bool:
    """Each sender's last credential on the node after the one it submitted to."""
    checks: dict[int, list[str]] = {}
    for s, txs in enumerate(per_sender):
        if txs:
            checks.setdefault((s + 1) % len(urls), []).append(txs[-1][1])
    for node, ids in checks.items():
        fields = " ".join(f'c{j}: credential(id: "{cid}") {{ id }}' for j, cid in enumerate(ids))
        data = _gql(urls[node], f"{{ {fields} }}", {})
        if any(v is None for v in data.values()):
            return False
    return True


def anchor_round(
    members: list[DevnetMember], ops: list[MsgAnchorCredential], batch: int, senders: int, tag: str
) -> dict[str, Any]:
    urls = [m.graphql for m in members]
    per_sender = presign(ops, batch, senders, tag)
    t0 = time.perf_counter()
    answered, rejected = asyncio.run(_drive(urls, per_sender))
    t_sub = time.perf_counter() - t0
    if rejected:  # a refused tx leaves a nonce gap: its sender's later txs never commit
        raise RuntimeError(f"{len(rejected)} txs rejected; first: {rejected[0]}")
    _wait("the last credentials", lambda: _all_visible(urls, per_sender))
    elapsed = time.perf_counter() - t0
    return {
        "txs": answered,
        "rejected": rejected,
        "rate": len(ops) / elapsed,
        "elapsed": elapsed,
        "submit_s": t_sub,
    }


def module_alone(setup_ops: list[Any], ops: list[MsgAnchorCredential]) -> float:
    """validate + handle of the credential module on an in-memory cache (no chain)."""
    create, reg = setup_ops
    module, ident = CredentialModule(), IdentityModule()
    kv = CacheKV(lambda _k: None)
    ident.handle(Ctx(kv, CHAIN, 1, GENESIS_NS, bytes(20)), create)
    module.handle(Ctx(kv, CHAIN, 1, GENESIS_NS, bytes(20)), reg)
    t0 = time.perf_counter()
    for op in ops:
        module.validate(op)
        module.handle(Ctx(kv, CHAIN, 2, GENESIS_NS, bytes(20)), op)
    return len(ops) / (time.perf_counter() - t0)


def run(n_anchors: int = 2000, batch: int = BATCH, senders: int = SENDERS) -> None:
    verify = ed25519_verify_rate()
    n = n_anchors - n_anchors % batch
    n1 = min(n, senders * PER_SENDER)  # anchors sent one per tx
    with tempfile.TemporaryDirectory() as tmp:
        ports = [(free_port(), free_port()) for _ in range(4)]
        members = create_devnet(
            Path(tmp) / "net", 4, block_interval=3.0, kdf=KdfParams.minimum(), ports=ports
        )
        net = Devnet(members)
        try:
            net.start()
            did, seed, sid, setup_ops = setup(members)
            creds, issue_rate = issue_all(did, seed, sid, n + n1)
            key = f"{did}#key-1"
            t0 = time.perf_counter()
            ops = [vc.anchor_op(CHAIN, c, seed, key) for c in creds]
            sign_rate = len(ops) / (time.perf_counter() - t0)
            alone = module_alone(setup_ops, ops[: min(n, 5000)])
            batched = anchor_round(members, ops[:n], batch, senders, "batched")
            single = anchor_round(members, ops[n:], 1, senders, "single")
            for u in [m.graphql for m in members]:  # not timed: nothing lost, on every node
                _wait(
                    "every anchor on every node",
                    lambda u=u: _anchored(u, did) == n + n1,
                )
        finally:
            net.stop()
    print(
        f"credentials through a 4-validator devnet ({n:,} anchors {batch} per tx, then "
        f"{n1:,} anchors 1 per tx; {senders} senders; all 4 nodes show {n + n1:,} anchored)"
    )
    for name, r in (("batched", batched), ("single", single)):
        errs = r["rejected"]
        note = f"; first: {errs[0]}" if errs else ""
        print(
            f"  {name}: {r['txs']:,} txs, rejected {len(errs)}{note}; all submissions answered "
            f"after {r['submit_s']:.1f}s, visible on another node after {r['elapsed']:.1f}s"
        )
    b, one = batched["rate"], single["rate"]
    rows = [
        ("issue (build + eddsa-jcs-2022 sign, off chain)", issue_rate, "creds/s"),
        ("anchor op (digest + sign, client side)", sign_rate, "ops/s"),
        ("credential module alone (validate + handle)", alone, "anchors/s"),
        (f"devnet, {batch} anchors per tx -> visible elsewhere", b, "anchors/s"),
        ("devnet, 1 anchor per tx -> visible elsewhere", one, "anchors/s"),
        ("raw ed25519 verify (pynacl, same run)", verify, "verify/s"),
    ]
    for label, value, unit in rows:
        print(f"  {label + ':':<52}{value:10.0f} {unit}")
    ratios = [
        (f"ratio devnet {batch}/tx / module alone", b / alone),
        ("ratio devnet 1/tx / module alone", one / alone),
        (f"ratio devnet {batch}/tx / raw ed25519 verify", b / verify),
        ("ratio devnet 1/tx / raw ed25519 verify", one / verify),
        ("ratio issue (off chain) / raw ed25519 verify", issue_rate / verify),
    ]
    for label, value in ratios:
        print(f"  {label + ':':<52}{value:10.3f}")
