"""did:qos on a 4-validator devnet (separate processes over libp2p): a DID created through
one validator's API resolves on another through REST and GraphQL; a key rotation submitted
to a third is seen everywhere, and both versions stay resolvable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qos_node.devnet import Devnet, create_devnet
from qos_node.process import free_port
from qos_wallet.keystore import KdfParams

pytestmark = pytest.mark.slow


def qos(home: Path, api: str, *args: str) -> Any:
    r = subprocess.run(
        [sys.executable, "-m", "qos_node", "--home", str(home), "--api", api, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "QOS_PASSWORD": "dev", "QOS_KDF": "min"},
        check=False,
    )
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout) if r.stdout.strip().startswith(("{", "[")) else r.stdout


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)  # sleep-ok: poll interval of a deadline-bounded wait
    raise TimeoutError(f"timed out waiting for {what}")


def test_did_across_validators(tmp_path: Path) -> None:
    ports = [(free_port(), free_port()) for _ in range(4)]
    members = create_devnet(
        tmp_path / "net", 4, block_interval=0.5, kdf=KdfParams.minimum(), ports=ports
    )
    net = Devnet(members)
    wallet = members[0].home  # the keyring with the dev key
    gql = [m.graphql for m in members]
    rest = [f"http://127.0.0.1:{m.api_port}/1.0/identifiers" for m in members]
    try:
        net.start()
        for name in ("alice", "alice-rec", "alice-new"):
            qos(wallet, gql[0], "keys", "new", name, "--no-show-mnemonic")
        created = qos(
            wallet, gql[1], "did", "create", "--key", "alice", "--recovery-key", "alice-rec"
        )
        did = created["did"]

        def resolved_on(i: int, version: str) -> bool:
            r = httpx.get(
                f"{rest[i]}/{did}", timeout=10, headers={"Accept": "application/did-resolution"}
            )
            return r.status_code == 200 and r.json()["didDocumentMetadata"]["versionId"] == version

        wait_until(lambda: resolved_on(3, "1"), 60, "the DID resolves on v3")
        q = "query($d: String!) { resolveDid(did: $d) { didDocumentMetadata { versionId } } }"
        g = httpx.post(gql[2], json={"query": q, "variables": {"d": did}}, timeout=10).json()
        assert g["data"]["resolveDid"]["didDocumentMetadata"]["versionId"] == "1"

        qos(wallet, gql[2], "did", "rotate", did, "--key", "alice", "--new-key", "alice-new")
        wait_until(lambda: all(resolved_on(i, "2") for i in range(4)), 60, "v2 everywhere")
        v1 = httpx.get(f"{rest[0]}/{did}", params={"versionId": "1"}, timeout=10).json()
        v2 = httpx.get(f"{rest[0]}/{did}", timeout=10).json()
        k1 = v1["verificationMethod"][0]["publicKeyMultibase"]
        k2 = v2["verificationMethod"][0]["publicKeyMultibase"]
        assert k1 != k2  # both versions resolvable, with the rotated key in the second
    finally:
        net.stop()
