"""Credentials end to end through a real node process, with `qos did` / `qos vc` and the
API: issuer DID, subject DID with an X25519 keyAgreement key, schema, issue, deliver
encrypted, anchor, query over GraphQL, verify (every check passes), revoke, verify fails
on status, the served status list shows the bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from qos_identity.credentials.status_list import status_from_list_credential
from qos_node.process import NodeProcess, free_port

pytestmark = pytest.mark.slow

KEYS = ["acme", "acme-rec", "alice", "alice-rec"]
SCHEMA = {
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
QUERY = """query($s: String!) {
  credentials(subject: $s) { edges { node { id issuer status statusIndex delivery } } }
  identity(did: $s) { credentials { edges { node { issuerIdentity { did
    issuedCredentials { edges { node { id subject } } } } } } } }
}"""


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
    return json.loads(r.stdout) if r.stdout.strip() else None


def refused(home: Path, api: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    r = qos(home, api, *args)
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: ")
    assert lines[0].endswith(f"[{code}]"), r.stderr
    return r


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("vc") / "home"
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


def test_credential_flow_through_cli_graphql_and_rest(running, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home, api, url = running
    issuer = ok(home, api, "did", "create", "--key", "acme", "--recovery-key", "acme-rec")["did"]
    subject = ok(
        home,
        api,
        "did",
        "create",
        "--key",
        "alice",
        "--recovery-key",
        "alice-rec",
        "--key-agreement",
        "alice",
    )["did"]
    doc = httpx.get(f"{url}/1.0/identifiers/{subject}", timeout=10).json()
    assert doc["keyAgreement"] == [f"{subject}#key-agreement-1"]

    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    reg = ok(
        home,
        api,
        "vc",
        "schema",
        "register",
        str(schema_file),
        "--author",
        issuer,
        "--key",
        "acme",
        "--name",
        "employment",
    )
    sid = reg["schemaId"]
    assert reg["events"][0]["type"] == "credential_schema"

    # issue (off chain) and deliver encrypted to the subject's keyAgreement key
    cred_file, env_file = tmp_path / "cred.json", tmp_path / "envelope.json"
    ok(
        home,
        api,
        "vc",
        "issue",
        "--issuer",
        issuer,
        "--key",
        "acme",
        "--subject",
        subject,
        "--claims",
        '{"role": "engineer", "name": "Alice Example"}',
        "--type",
        "EmploymentCredential",
        "--schema",
        sid,
        "--valid-until",
        "2099-01-01T00:00:00Z",
        "--out",
        str(cred_file),
        "--envelope",
        str(env_file),
    )
    cred = json.loads(cred_file.read_text())
    assert cred["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    envelope = json.loads(env_file.read_text())
    assert envelope["kid"] == f"{subject}#key-agreement-1"
    assert "Alice" not in env_file.read_text()
    received_file = tmp_path / "received.json"
    ok(home, api, "vc", "open", str(env_file), "--key", "alice", "--out", str(received_file))
    assert json.loads(received_file.read_text()) == cred
    refused(home, api, "invalid_envelope", "vc", "open", str(env_file), "--key", "acme")

    # the encrypted copy goes into the node's IPFS store; anyone can fetch the ciphertext
    # through the gateway, only the subject can open it
    added = qos(home, api, "ipfs", "add", str(env_file))
    assert added.returncode == 0, added.stderr
    env_cid = added.stdout.strip().split()[-1]
    fetched = httpx.get(f"{url}/ipfs/{env_cid}", timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == env_file.read_bytes()
    from_ipfs = tmp_path / "from-ipfs.json"
    from_ipfs.write_bytes(fetched.content)
    opened = tmp_path / "opened.json"
    ok(home, api, "vc", "open", str(from_ipfs), "--key", "alice", "--out", str(opened))
    assert json.loads(opened.read_text()) == cred

    # anchor (digest only, delivery = the ciphertext's CID) and query over GraphQL
    anchored = ok(
        home,
        api,
        "vc",
        "anchor",
        str(cred_file),
        "--key",
        "acme",
        "--delivery",
        f"ipfs://{env_cid}",
    )
    cid = anchored["credentialId"]
    assert anchored["events"][0]["subject"] == subject
    g = httpx.post(api, json={"query": QUERY, "variables": {"s": subject}}, timeout=10).json()
    assert "errors" not in g, g
    (edge,) = g["data"]["credentials"]["edges"]
    assert edge["node"] == {
        "id": cid,
        "issuer": issuer,
        "status": "ACTIVE",
        "statusIndex": "0",
        "delivery": f"ipfs://{env_cid}",
    }
    (nested,) = g["data"]["identity"]["credentials"]["edges"]
    assert nested["node"]["issuerIdentity"]["did"] == issuer
    assert nested["node"]["issuerIdentity"]["issuedCredentials"]["edges"] == [
        {"node": {"id": cid, "subject": subject}}
    ]
    listed = ok(home, api, "vc", "list", "--subject", subject)
    assert [c["id"] for c in listed["credentials"]] == [cid]

    # verify: every check passes
    report = ok(home, api, "vc", "verify", str(received_file))
    assert report["verified"] is True
    assert [(c["check"], c["outcome"]) for c in report["checks"]] == [
        (n, "passed")
        for n in ("format", "proof", "issuer_key", "anchored", "status", "validity", "schema")
    ]
    status_url = cred["credentialStatus"][0]["statusListCredential"]
    assert status_url.startswith(url)
    served = httpx.get(status_url, timeout=10)
    assert served.headers["content-type"] == "application/vc"
    assert status_from_list_credential(served.json(), 0) is False

    # only the issuer changes status
    refused(
        home,
        api,
        "unauthorized_signer",
        "vc",
        "revoke",
        cid,
        "--key",
        "alice",
        "--signer",
        f"{issuer}#key-1",
    )
    revoked = ok(home, api, "vc", "revoke", cid, "--key", "acme")
    assert revoked["indexes"] == [0]
    assert revoked["events"][0]["action"] == "revoke"

    # verify now fails on status; the served list shows the bit
    r = refused(home, api, "verification_failed", "vc", "verify", str(received_file))
    report = json.loads(r.stdout)
    assert report["verified"] is False
    bad = [c for c in report["checks"] if c["outcome"] == "failed"]
    assert [c["check"] for c in bad] == ["status"]
    assert bad[0]["reason"].startswith("revoked")
    assert "status: revoked" in r.stderr
    assert status_from_list_credential(httpx.get(status_url, timeout=10).json(), 0) is True
    assert [c["id"] for c in ok(home, api, "vc", "list", "--status", "revoked")["credentials"]] == [
        cid
    ]
    # revoke is final
    refused(
        home, api, "credential_already_revoked", "vc", "unsuspend", str(cred_file), "--key", "acme"
    )
