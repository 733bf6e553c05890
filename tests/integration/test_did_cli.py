"""`qos did` against a real node process: create, resolve over REST and GraphQL, update,
rotate, recover after losing the signing key, deactivate (410), re-create refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from qos_node.process import NodeProcess, free_port

pytestmark = pytest.mark.slow

DID_KEY = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
KEYS = ["alice", "alice-rec", "alice-extra", "alice-new", "alice-fresh", "alice-rec2"]


def qos(home: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qos_node", "--home", str(home), "--api", api, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "QOS_PASSWORD": "dev", "QOS_KDF": "min"},
        check=False,
    )


def ok(home: Path, api: str, *args: str) -> Any:
    r = qos(home, api, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def refused(home: Path, api: str, code: str, *args: str) -> str:
    r = qos(home, api, *args)
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: ")
    assert lines[0].endswith(f"[{code}]"), r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("did") / "home"
    port = free_port()
    api = f"http://127.0.0.1:{port}/graphql"
    r = qos(home, api, "init", "--dev", "--api-port", str(port))
    assert r.returncode == 0, r.stderr
    cfg = home / "config" / "config.toml"
    cfg.write_text(cfg.read_text().replace("block_interval = 3.0", "block_interval = 0.5"))
    for name in KEYS:
        r = qos(home, api, "keys", "new", name, "--no-show-mnemonic")
        assert r.returncode == 0, r.stderr
    proc = NodeProcess(home, port)
    proc.start()
    try:
        proc.wait_ready()
        yield home, api, proc.url
    finally:
        assert proc.stop() in (0, -15), proc.tail()


def rest(url: str, did: str, **params: str) -> httpx.Response:
    return httpx.get(f"{url}/1.0/identifiers/{did}", params=params, timeout=10)


def test_did_lifecycle_through_cli_rest_and_graphql(running) -> None:  # type: ignore[no-untyped-def]
    home, api, url = running
    created = ok(
        home,
        api,
        "did", "create", "--key", "alice", "--recovery-key", "alice-rec",
        "--service", "hub,LinkedDomains,https://alice.example",
    )  # fmt: skip
    did = created["did"]
    assert did.startswith("did:qos:")
    assert created["operations"] == [{"did": did, "op": "create", "code": "ok", "versionId": "1"}]

    r = rest(url, did)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/did+ld+json"
    assert r.json()["service"][0]["serviceEndpoint"] == "https://alice.example"
    q = "query($d: String!) { resolveDid(did: $d) { didDocumentMetadata { versionId } } }"
    g = httpx.post(api, json={"query": q, "variables": {"d": did}}, timeout=10).json()
    assert g["data"]["resolveDid"]["didDocumentMetadata"]["versionId"] == "1"

    updated = ok(
        home, api,
        "did", "update", did, "--key", "alice", "--add-key", "alice-extra",
        "--relationship", "authentication,assertionMethod", "--remove-service", "hub",
    )  # fmt: skip
    assert updated["operations"][0]["versionId"] == "2"
    doc = rest(url, did).json()
    assert f"{did}#alice-extra" in doc["assertionMethod"]
    assert "service" not in doc

    rotated = ok(home, api, "did", "rotate", did, "--key", "alice", "--new-key", "alice-new")
    assert rotated["operations"][0]["versionId"] == "3"
    v2 = ok(home, api, "did", "resolve", did, "--version-id", "2")
    v3 = ok(home, api, "did", "resolve", did)
    key = [m["publicKeyMultibase"] for m in v2["didDocument"]["verificationMethod"]]
    new_key = [m["publicKeyMultibase"] for m in v3["didDocument"]["verificationMethod"]]
    assert key[0] != new_key[0]
    assert key[1:] == new_key[1:]
    assert v2["didDocumentMetadata"]["nextVersionId"] == "3"
    # the old key no longer controls the DID
    refused(home, api, "unauthorized", "did", "update", did, "--key", "alice", "--remove-key", "x")

    # lose the signing key, then take the DID back with the recovery key
    (home / "keyring" / "alice-new.json").unlink()
    refused(home, api, "key_not_found", "did", "rotate", did, "--key", "alice-new",
            "--new-key", "alice")  # fmt: skip
    recovered = ok(
        home, api,
        "did", "recover", did, "--recovery-key", "alice-rec", "--new-key", "alice-fresh",
        "--next-recovery-key", "alice-rec2",
    )  # fmt: skip
    assert recovered["operations"][0]["op"] == "recover"
    # the revealed recovery key is spent: the commitment moved to alice-rec2
    refused(
        home, api, "invalid_recovery_key",
        "did", "recover", did, "--recovery-key", "alice-rec", "--new-key", "alice",
        "--next-recovery-key", "alice-extra",
    )  # fmt: skip

    history = ok(home, api, "did", "history", did)
    assert [v["operation"] for v in history] == ["CREATE", "UPDATE", "ROTATE", "RECOVER"]

    ok(home, api, "did", "deactivate", did, "--key", "alice-fresh")
    r = rest(url, did)
    assert r.status_code == 410
    assert r.json()["didDocumentMetadata"]["deactivated"] is True
    shown = ok(home, api, "did", "resolve", did)
    assert shown["didDocumentMetadata"]["deactivated"] is True
    refused(home, api, "deactivated", "did", "deactivate", did, "--key", "alice-fresh")
    # the identifier can never be registered again
    refused(
        home, api, "already_exists", "did", "create", "--key", "alice",
        "--recovery-key", "alice-rec", "--service", "hub,LinkedDomains,https://alice.example",
    )  # fmt: skip


def test_did_cli_errors(running) -> None:  # type: ignore[no-untyped-def]
    home, api, url = running
    refused(home, api, "methodNotSupported", "did", "resolve", "did:web:example.com")
    refused(home, api, "invalidDid", "did", "resolve", "did:qos:0OIl")
    refused(home, api, "notFound", "did", "resolve", "did:qos:8c8KU6Bsw6yDdbfr8E2r79")
    refused(home, api, "notFound", "did", "history", "did:qos:8c8KU6Bsw6yDdbfr8E2r79")
    refused(home, api, "usage_error", "did", "create", "--key", "alice", "--recovery-key", "alice")
    refused(home, api, "usage_error", "did", "create", "--key", "alice",
            "--recovery-key", "alice-rec", "--service", "oops")  # fmt: skip
    key = ok(
        home, api, "did", "resolve", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    )
    assert key["didDocument"]["id"].startswith("did:key:")
    assert rest(url, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").status_code == 200
