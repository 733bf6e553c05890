"""Run a node as a separate OS process (tests, benchmarks, and later ``qos devnet``).

The process is started with ``python -m qos_node --home H node --api-port P`` and stopped
by its process id (SIGTERM for a graceful stop, SIGKILL to simulate a crash).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    def __init__(
        self,
        home: Path,
        api_port: int,
        log_path: Path | None = None,
        *,
        p2p_listen: str | None = "/ip4/127.0.0.1/tcp/0",
        peers: tuple[str, ...] = (),
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.extra_args = extra_args
        self.home = home
        self.api_port = api_port
        self.p2p_listen = p2p_listen
        self.peers = peers
        self.log_path = log_path or home / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("node process already running")
        log = self.log_path.open("ab")
        cmd = [
            sys.executable,
            "-m",
            "qos_node",
            "--home",
            str(self.home),
            "node",
            "--api-port",
            str(self.api_port),
        ]
        if self.p2p_listen is not None:
            cmd += ["--p2p-listen", self.p2p_listen]
        for peer in self.peers:
            cmd += ["--peer", peer]
        cmd += list(self.extra_args)
        self.proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def wait_ready(self, timeout: float = 30.0) -> int:
        """Wait until ``/health`` answers; returns the height it reports."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.tail()}")
            try:
                r = httpx.get(f"{self.url}/health", timeout=1.0)
                if r.status_code == 200:
                    return int(r.json()["height"])
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # poll interval of a deadline-bounded wait
        raise TimeoutError(f"node not ready within {timeout}s: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""
