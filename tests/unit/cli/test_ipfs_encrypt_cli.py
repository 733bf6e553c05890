"""``qos ipfs add --encrypt-to`` / ``get|cat --decrypt-with``, through click's CliRunner:
did:key recipients (resolved locally), did:qos recipients (through the node's REST resolver,
answered here by a stub), raw multikeys, and the refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import qos_node.cli.ipfs
import qos_node.cli.keys  # noqa: F401  (registers the ``keys`` group)
from qos_identity import client as c
from qos_identity.didkey import did_key_of
from qos_identity.multikey import KeyType, ed25519_to_x25519, encode_multikey
from qos_ipfs.encryption import MAGIC
from qos_node.cli import cli
from qos_wallet.keystore import KdfParams, Keystore

PASSWORD = "pw-for-tests"
MARKER = b"CLI-PLAINTEXT-MARKER "
ENV: dict[str, str | None] = {"QOS_IPFS_API": None, "QOS_PASSWORD": PASSWORD, "QOS_KDF": "min"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    ks = Keystore(home, kdf=KdfParams.minimum())
    for name in ("alice", "bob", "carol", "mallory"):
        ks.create(name, PASSWORD)
    return home


def pub(home: Path, name: str) -> bytes:
    return Keystore(home, kdf=KdfParams.minimum()).get(name).public_key


def run(home: Path, *args: str, api: str = "http://127.0.0.1:9/graphql") -> Result:
    return CliRunner().invoke(
        cli, ["--home", str(home), "--api", api, "ipfs", *args], env=ENV, catch_exceptions=False
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def one_line_error(result: Result, code: str, message: str = "") -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert lines[0].endswith(f"[{code}]"), lines[0]
    assert message in lines[0], lines[0]
    return lines[0]


def plain_file(tmp_path: Path, size: int = 700_000) -> tuple[Path, bytes]:
    data = (MARKER * (size // len(MARKER) + 1))[:size]
    path = tmp_path / "doc.bin"
    path.write_bytes(data)
    return path, data


def blocks_hold(home: Path, needle: bytes) -> bool:
    return any(needle in p.read_bytes() for p in (home / "data" / "ipfs").rglob("*.data"))


def test_did_key_round_trip_three_recipients(home: Path, tmp_path: Path) -> None:
    path, data = plain_file(tmp_path)
    dids = [did_key_of(pub(home, n)) for n in ("alice", "bob", "carol")]
    args = [a for d in dids for a in ("--encrypt-to", d)]
    cid = ok(run(home, "add", *args, str(path))).strip()
    assert not blocks_hold(home, MARKER)
    raw = run(home, "cat", cid).stdout_bytes  # without a key: the ciphertext
    assert raw.startswith(MAGIC)
    assert MARKER not in raw
    for name in ("alice", "bob", "carol"):
        out = tmp_path / f"out-{name}"
        ok(run(home, "get", cid, "-o", str(out), "--decrypt-with", name))
        assert out.read_bytes() == data
    assert run(home, "cat", cid, "--decrypt-with", "bob").stdout_bytes == data
    # the pin keeps the ciphertext through gc
    ok(run(home, "gc"))
    assert run(home, "cat", cid, "--decrypt-with", "alice").stdout_bytes == data


def test_wrong_key_refused_and_no_output_file(home: Path, tmp_path: Path) -> None:
    path, _ = plain_file(tmp_path, 1000)
    cid = ok(run(home, "add", "--encrypt-to", did_key_of(pub(home, "alice")), str(path))).strip()
    out = tmp_path / "out"
    err = one_line_error(
        run(home, "get", cid, "-o", str(out), "--decrypt-with", "mallory"),
        "not_a_recipient",
        "not a recipient",
    )
    assert did_key_of(pub(home, "alice")) in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))
    one_line_error(
        run(home, "get", cid, "-o", str(out), "--decrypt-with", "nobody"), "key_not_found"
    )


def test_decrypting_a_plain_file_is_refused(home: Path, tmp_path: Path) -> None:
    path, _ = plain_file(tmp_path, 1000)
    cid = ok(run(home, "add", str(path))).strip()
    one_line_error(run(home, "cat", cid, "--decrypt-with", "alice"), "not_encrypted")


def test_recipient_key_multikeys_offline(home: Path, tmp_path: Path) -> None:
    path, data = plain_file(tmp_path, 300_000)
    x = encode_multikey(KeyType.X25519, ed25519_to_x25519(pub(home, "alice")))
    ed = encode_multikey(KeyType.ED25519, pub(home, "bob"))
    cid = ok(run(home, "add", "--recipient-key", x, "--recipient-key", ed, str(path))).strip()
    for name in ("alice", "bob"):
        assert run(home, "cat", cid, "--decrypt-with", name).stdout_bytes == data
    one_line_error(run(home, "add", "--recipient-key", "z6LSnope", str(path)), "invalid_public_key")
    one_line_error(
        run(home, "add", "--recipient-key", x, "--encrypt-to", did_key_of(pub(home, "alice")),
            str(path)),
        "usage_error",
        "same key",
    )  # fmt: skip


def test_usage_errors(home: Path, tmp_path: Path) -> None:
    path, _ = plain_file(tmp_path, 10)
    alice = did_key_of(pub(home, "alice"))
    one_line_error(run(home, "add", "--only-hash", "--encrypt-to", alice, str(path)), "usage_error")
    cid = ok(run(home, "add", "--encrypt-to", alice, str(path))).strip()
    one_line_error(run(home, "cat", cid, "--offset", "3", "--decrypt-with", "alice"), "usage_error")


# ----------------------------------------------------------------- did:qos through REST


def _did_qos(home: Path, name: str) -> tuple[str, dict[str, Any]]:
    """A did:qos document whose keyAgreement key is the X25519 form of key ``name``."""
    pair = Keystore(home, kdf=KdfParams.minimum()).unlock(name, PASSWORD)
    x = ed25519_to_x25519(pair.public_key)
    did, op = c.create_did("qos-test", pair.private_seed, bytes(32), key_agreement=x)
    return did, op.document.to_json()


class FakeResolver:
    def __init__(self) -> None:
        self.docs: dict[str, tuple[int, dict[str, Any]]] = {}
        self.urls: list[str] = []

    def get(self, url: str, **_: Any) -> httpx.Response:
        self.urls.append(url)
        did = url.rsplit("/1.0/identifiers/", 1)[1]
        if did not in self.docs:
            meta = {"error": "notFound", "errorMessage": f"{did} not found"}
            return httpx.Response(404, json={"didResolutionMetadata": meta})
        status, doc = self.docs[did]
        return httpx.Response(
            status,
            json={
                "didDocument": doc,
                "didResolutionMetadata": {"contentType": "application/did+ld+json"},
                "didDocumentMetadata": {"deactivated": status == 410},
            },
        )


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver()
    monkeypatch.setattr(httpx, "get", fake.get)
    return fake


def test_did_qos_resolved_through_rest(home: Path, tmp_path: Path, resolver: FakeResolver) -> None:
    path, data = plain_file(tmp_path)
    did_a, doc_a = _did_qos(home, "alice")
    did_b, doc_b = _did_qos(home, "bob")
    resolver.docs = {did_a: (200, doc_a), did_b: (200, doc_b)}
    api = "http://node.test:8000/graphql"
    cid = ok(
        run(home, "add", "--encrypt-to", did_a, "--encrypt-to", f"{did_b}#key-agreement-1",
            str(path), api=api)
    ).strip()  # fmt: skip
    assert resolver.urls == [
        f"http://node.test:8000/1.0/identifiers/{did_a}",
        f"http://node.test:8000/1.0/identifiers/{did_b}",
    ]
    raw = run(home, "cat", cid).stdout_bytes
    assert f"{did_a}#key-agreement-1".encode() in raw[:2000]  # kid = did#fragment
    for name in ("alice", "bob"):
        assert run(home, "cat", cid, "--decrypt-with", name).stdout_bytes == data
    one_line_error(run(home, "cat", cid, "--decrypt-with", "carol"), "not_a_recipient")


def test_did_qos_refusals(home: Path, tmp_path: Path, resolver: FakeResolver) -> None:
    path, _ = plain_file(tmp_path, 100)
    did_a, doc_a = _did_qos(home, "alice")
    did_c, doc_c = _did_qos(home, "carol")
    no_ka = dict(doc_c, keyAgreement=[])
    no_ka["verificationMethod"] = [m for m in doc_c["verificationMethod"]
                                   if not m["id"].endswith("#key-agreement-1")]  # fmt: skip
    resolver.docs = {did_a: (410, doc_a), did_c: (200, no_ka)}
    one_line_error(run(home, "add", "--encrypt-to", did_a, str(path)), "deactivated")
    one_line_error(
        run(home, "add", "--encrypt-to", did_c, str(path)), "invalid_envelope", "keyAgreement"
    )
    one_line_error(run(home, "add", "--encrypt-to", "did:qos:zzzz", str(path)), "notFound")
    assert not list((home / "data").rglob("*.data"))  # refused before anything is stored


def test_unreachable_api_names_the_offline_option(home: Path, tmp_path: Path) -> None:
    path, _ = plain_file(tmp_path, 100)
    did_a, _ = _did_qos(home, "alice")
    one_line_error(
        run(home, "add", "--encrypt-to", did_a, str(path), api="http://127.0.0.1:9/graphql"),
        "api_unreachable",
        "--recipient-key",
    )
