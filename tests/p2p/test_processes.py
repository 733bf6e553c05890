"""Three `python -m qos_p2p.demo` processes exchange consensus messages and txs over libp2p."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
import trio

pytestmark = pytest.mark.slow

N_MSGS = 50


def _read_event(out: IO[str], event: str) -> dict[str, Any]:
    for line in out:
        data: dict[str, Any] = json.loads(line)
        if data["event"] == event:
            return data
    raise AssertionError(f"process ended before {event!r}")


def test_three_processes_exchange_consensus_and_txs(tmp_path: Path) -> None:
    procs: list[subprocess.Popen[str]] = []
    try:
        addrs: list[str] = []
        for i in range(3):
            cmd = [sys.executable, "-m", "qos_p2p.demo", "--home", str(tmp_path / f"n{i}")]
            cmd += ["--expect-peers", "2", "--consensus", str(N_MSGS), "--txs", str(N_MSGS)]
            for addr in addrs:
                cmd += ["--peer", addr]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
            procs.append(proc)
            assert proc.stdout is not None
            addrs.append(_read_event(proc.stdout, "ready")["addrs"][0])

        async def wait_done() -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = []
            with trio.fail_after(45):
                for proc in procs:
                    assert proc.stdout is not None
                    out = proc.stdout
                    results.append(await trio.to_thread.run_sync(_read_event, out, "done"))
            return results

        for done in trio.run(wait_done):
            assert done["consensus"] == 2 * N_MSGS
            assert done["txs"] == 2 * N_MSGS
        key = json.loads((tmp_path / "n0" / "config" / "node_key.json").read_text())
        assert key["peer_id"] in addrs[0]
        assert (tmp_path / "n0" / "config" / "node_key.json").stat().st_mode & 0o777 == 0o600
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
