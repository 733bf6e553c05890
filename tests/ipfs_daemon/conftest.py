"""Fixtures for the tests against a real IPFS daemon (js-ipfs, or Kubo with ``KUBO_BIN``).

One daemon per session. In CI (``CI=true``) a daemon that cannot start FAILS the tests,
with the reason; locally they are skipped with the reason.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ipfs"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from daemon import Daemon, DaemonUnavailable, start_daemon

from qos_ipfs.cid import CID
from qos_ipfs.kubo import KuboClient

# js-ipfs ignores ``offline=true`` and waits for a missing block until ``timeout``.
LOCAL_TIMEOUT = 1.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def ipfs_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    try:
        daemon = start_daemon(tmp_path_factory.mktemp("ipfs-daemon"))
    except DaemonUnavailable as exc:
        message = f"IPFS test daemon unavailable: {exc}"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def daemon_own_blocks(ipfs_daemon: Daemon) -> dict[CID, bytes]:
    """Blocks a fresh daemon keeps through GC: its MFS root, the empty UnixFS directory
    ``QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn``. Removing it makes js-ipfs's next
    ``repo/gc`` wait forever for it, so the wipe between tests keeps it."""
    with KuboClient(ipfs_daemon.api, local_timeout=LOCAL_TIMEOUT, timeout=60.0) as client:
        client.repo_gc()
        return {cid: client.block_get(cid) for cid in client.refs_local()}


def _wipe(client: KuboClient, keep: dict[CID, bytes]) -> None:
    """Leave only the daemon's own blocks: no pins, no other blocks."""
    for info in list(client.pin_ls("recursive")) + list(client.pin_ls("direct")):
        client.pin_rm(info.cid)
    client.repo_gc()
    kept = {cid.multihash for cid in keep}
    for cid in list(client.refs_local()):
        if cid.multihash not in kept:
            client.block_rm(cid)


@pytest.fixture
def kubo_client(ipfs_daemon: Daemon, daemon_own_blocks: dict[CID, bytes]) -> Iterator[KuboClient]:
    client = KuboClient(ipfs_daemon.api, local_timeout=LOCAL_TIMEOUT, timeout=60.0)
    _wipe(client, daemon_own_blocks)
    try:
        yield client
    finally:
        client.close()
