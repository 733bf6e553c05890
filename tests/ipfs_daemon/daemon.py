"""Start and stop a real IPFS daemon for the tests: js-ipfs 0.66.1 from npm, or Kubo.

js-ipfs (``scripts/ipfs-daemon``, installed with ``npm ci --prefix scripts/ipfs-daemon``)
needs two fixes on Node 20: ``NODE_OPTIONS=--require scripts/ipfs-daemon/polyfill.js``
(``Promise.withResolvers``) and ``Addresses.Swarm = []``. When ``KUBO_BIN`` names a Kubo
binary, that daemon is started instead (``ipfs init --profile test``), same config.

Each daemon gets a fresh repo (``IPFS_PATH`` in a temp dir), the API on a free 127.0.0.1
port, the gateway (and js-ipfs's gRPC) on other free ports, no swarm listeners, no
bootstrap peers, no MDNS, and runs ``--offline``. We wait for ``/api/v0/version`` with a
deadline (polling between short waits on the process, so a crash is seen at once) and stop
it by pid (SIGTERM, then SIGKILL after a deadline).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DAEMON_DIR = ROOT / "scripts" / "ipfs-daemon"
JSIPFS = DAEMON_DIR / "node_modules" / ".bin" / "jsipfs"
POLYFILL = DAEMON_DIR / "polyfill.js"
START_DEADLINE = 90.0
STOP_DEADLINE = 15.0


class DaemonUnavailable(Exception):
    """No daemon could be started; the message says why and how to fix it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Daemon:
    kind: str
    api: str
    repo: Path
    log: Path
    process: subprocess.Popen[bytes]
    started_in: float = 0.0
    version: dict[str, object] = field(default_factory=dict)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self.process
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_DEADLINE)


def _command() -> tuple[str, list[str], list[str], dict[str, str]]:
    env = dict(os.environ)
    kubo = os.environ.get("KUBO_BIN")
    if kubo:
        if not Path(kubo).is_file():
            raise DaemonUnavailable(f"KUBO_BIN={kubo} is not a file")
        return (
            "kubo",
            [kubo, "init", "--profile", "test", "--empty-repo"],
            [kubo, "daemon", "--offline"],
            env,
        )
    if shutil.which("node") is None:
        raise DaemonUnavailable("node is not installed (needed for the js-ipfs test daemon)")
    if not JSIPFS.exists():
        raise DaemonUnavailable(
            f"{JSIPFS.relative_to(ROOT)} is missing: run `npm ci --prefix scripts/ipfs-daemon`"
        )
    env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + f" --require {POLYFILL}").strip()
    return (
        "js-ipfs",
        [str(JSIPFS), "init", "--emptyRepo"],
        [str(JSIPFS), "daemon", "--offline", "--enable-preload=false"],
        env,
    )


def _configure(repo: Path, api_port: int) -> None:
    path = repo / "config"
    config = json.loads(path.read_text())
    addresses = config.setdefault("Addresses", {})
    addresses["API"] = f"/ip4/127.0.0.1/tcp/{api_port}"
    addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
    addresses["Swarm"] = []
    if "RPC" in addresses:  # js-ipfs's gRPC-over-websockets endpoint
        addresses["RPC"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
    if "Delegates" in addresses:
        addresses["Delegates"] = []
    config["Bootstrap"] = []
    discovery = config.setdefault("Discovery", {})
    discovery.setdefault("MDNS", {})["Enabled"] = False
    if "webRTCStar" in discovery:
        discovery["webRTCStar"]["Enabled"] = False
    path.write_text(json.dumps(config, indent=2))


def start_daemon(workdir: Path, deadline: float = START_DEADLINE) -> Daemon:
    kind, init, run, env = _command()
    repo = workdir / "repo"
    env["IPFS_PATH"] = str(repo)
    log = workdir / "daemon.log"
    began = time.monotonic()
    try:
        done = subprocess.run(
            init, env=env, capture_output=True, timeout=deadline, check=False, cwd=workdir
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DaemonUnavailable(f"{kind} init failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise DaemonUnavailable(f"{kind} init exited {done.returncode}: {output}")
    api_port = free_port()
    _configure(repo, api_port)
    api = f"http://127.0.0.1:{api_port}"
    with log.open("wb") as out:
        process = subprocess.Popen(run, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    daemon = Daemon(kind, api, repo, log, process)
    end = began + deadline
    with httpx.Client(timeout=2.0) as http:
        while True:
            if process.poll() is not None:
                raise DaemonUnavailable(
                    f"{kind} daemon exited with {process.returncode}:\n{daemon.log_tail()}"
                )
            try:
                resp = http.post(f"{api}/api/v0/version")
                if resp.status_code == 200:
                    daemon.version = resp.json()
                    daemon.started_in = time.monotonic() - began
                    return daemon
            except httpx.HTTPError:
                pass
            if time.monotonic() > end:
                daemon.stop()
                raise DaemonUnavailable(
                    f"{kind} daemon did not answer /api/v0/version within {deadline:.0f} s:\n"
                    f"{daemon.log_tail()}"
                )
            # a bounded wait on the process itself: returns at once if it dies
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
