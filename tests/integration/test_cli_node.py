"""The `qos` CLI against a real node process: init, node, status, block, tx send, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qos_node.process import NodeProcess, free_port

pytestmark = pytest.mark.slow


def qos(home: Path, api: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "qos_node", "--home", str(home), "--api", api, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QOS_PASSWORD": "dev", "QOS_KDF": "min", **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("cli") / "home"
    port = free_port()
    api = f"http://127.0.0.1:{port}/graphql"
    r = qos(home, api, "init", "--dev", "--api-port", str(port))
    assert r.returncode == 0, r.stderr
    # faster blocks for the test: rewrite the consensus section
    cfg = home / "config" / "config.toml"
    text = cfg.read_text().replace("block_interval = 3.0", "block_interval = 0.5")
    cfg.write_text(text)
    proc = NodeProcess(home, port)
    proc.start()
    try:
        proc.wait_ready()
        yield home, api
    finally:
        assert proc.stop() in (0, -15), proc.tail()


def test_init_twice_is_refused_with_one_line(running) -> None:  # type: ignore[no-untyped-def]
    home, api = running
    r = qos(home, api, "init")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "[home_exists]" in r.stderr
    assert qos(home, api, "init", "--if-absent").returncode == 0


def test_status_and_block(running) -> None:  # type: ignore[no-untyped-def]
    home, api = running
    r = qos(home, api, "status")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert status["chainId"] == "qos-dev"
    r = qos(home, api, "block", "1")
    assert r.returncode == 0, r.stderr
    block = json.loads(r.stdout)
    assert block["height"] == 1
    assert block["commit"]["signatures"][0]["validator"] == status["validatorAddress"]


def test_tx_send_commits_and_moves_funds(running) -> None:  # type: ignore[no-untyped-def]
    home, api = running
    assert qos(home, api, "keys", "new", "bob", "--no-show-mnemonic").returncode == 0
    bob = qos(home, api, "keys", "show", "bob", "--address").stdout.strip()
    r = qos(home, api, "tx", "send", "--from", "dev", "--to", bob, "--amount", "4242")
    assert r.returncode == 0, r.stderr
    tx = json.loads(r.stdout)
    assert tx["success"] is True
    assert tx["height"] >= 1
    r = qos(home, api, "block", str(tx["height"]))
    hashes = [t["hash"] for t in json.loads(r.stdout)["transactions"]]
    assert tx["hash"] in hashes


def test_errors_are_one_line_with_code(running) -> None:  # type: ignore[no-untyped-def]
    home, api = running
    dev = _dev(home, api)
    ok = qos(home, api, "tx", "send", "--from", "dev", "--to", dev, "--amount", "1")
    assert ok.returncode == 0, ok.stderr  # nonce 0 is certainly used now
    cases = [
        (["tx", "send", "--from", "dev", "--to", "qos1nope", "--amount", "1"], "[invalid_address]"),
        (["tx", "send", "--from", "ghost", "--to", "qos1nope", "--amount", "1"], "["),
        (
            [
                "tx",
                "send",
                "--from",
                "dev",
                "--to",
                _dev(home, api),
                "--amount",
                "1",
                "--nonce",
                "0",
            ],
            "[nonce_too_low]",
        ),
        (["block", "999999"], "[not_found]"),
    ]
    for args, code in cases:
        r = qos(home, api, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert code in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = qos(home, "http://127.0.0.1:9/graphql", "status")
    assert r.returncode == 1
    assert "[api_unreachable]" in r.stderr


def _dev(home: Path, api: str) -> str:
    return qos(home, api, "keys", "show", "dev", "--address").stdout.strip()
