"""``kill -9`` during ``qos ipfs add`` (embedded store): nothing acknowledged is lost and no
half block is visible.

A real ``python -m qos_node ipfs add SMALL BIG`` process is SIGKILLed while it writes BIG's
blocks, after it acknowledged SMALL (printed its CID). Then:
- every ``.data`` file of the store hashes to the multihash its name encodes (a torn write
  would not), and the store lists exactly those (temp files are outside the key space);
- a file added and pinned before, and SMALL, are pinned and read back intact;
- ``qos ipfs gc`` succeeds and removes only the orphans of the killed import;
- adding BIG again completes with the CID ``--only-hash`` computes, and reads back intact.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qos_ipfs.blockstore import FileBlockstore
from qos_ipfs.cid import SHA2_256, SHA2_256_LEN
from qos_ipfs.importer import KUBO_V0, import_file

pytestmark = pytest.mark.slow

BIG = 128 << 20  # 512 leaves of 256 KiB; each block is fsync'd, so this takes seconds
KILL_AFTER_BLOCKS = 40


def qos(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "qos_node", "--home", str(home), "ipfs", *args]


def run(home: Path, *args: str) -> str:
    env = {**os.environ, "QOS_IPFS_API": ""}
    r = subprocess.run(
        qos(home, *args), capture_output=True, text=True, timeout=240, env=env, check=False
    )
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def write_random(path: Path, size: int, seed: int) -> str:
    rng = random.Random(seed)
    h = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            piece = rng.randbytes(min(left, 1 << 20))
            f.write(piece)
            h.update(piece)
            left -= len(piece)
    return h.hexdigest()


def file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(1 << 20):
            h.update(piece)
    return h.hexdigest()


def data_files(blocks: Path) -> list[Path]:
    return [p for p in blocks.rglob("*") if p.is_file() and p.name.endswith(".data")]


def read_first_line(proc: subprocess.Popen[bytes], deadline: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, "no CID printed for the small file in time"
        if sel.select(timeout=left):
            chunk = os.read(fd, 1)
            assert chunk, "add exited before acknowledging the small file"
            line += chunk
    sel.close()
    return line.decode().strip()


def assert_store_consistent(blocks: Path) -> int:
    """Every keyed file verifies against its key; the store lists exactly the keyed files."""
    files = data_files(blocks)
    for path in files:
        key = path.name[: -len(".data")]
        mh = base64.b32decode(key + "=" * (-len(key) % 8))
        assert mh[:2] == bytes((SHA2_256, SHA2_256_LEN)), path
        assert hashlib.sha256(path.read_bytes()).digest() == mh[2:], f"torn block {path}"
        assert path.parent.name == key[-3:-1]
    others = [p for p in blocks.rglob("*") if p.is_file() and not p.name.endswith(".data")]
    for p in others:  # at most the temp file being written when the process died
        assert p.name.startswith("."), p
        assert p.name.endswith(".tmp"), p
    store = FileBlockstore(blocks)
    listed = list(store.iter_cids())
    assert len(listed) == len(files)
    for cid in listed:
        store.get(cid)  # re-hashes; CorruptBlock if not intact
    return len(files)


def test_kill_9_during_add_loses_nothing_acknowledged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    blocks = home / "data" / "ipfs" / "blocks"
    earlier, small, big = tmp_path / "earlier.bin", tmp_path / "small.bin", tmp_path / "big.bin"
    earlier_sha = write_random(earlier, 3 << 20, 1)
    small_sha = write_random(small, 700_000, 2)
    big_sha = write_random(big, BIG, 3)
    with big.open("rb") as f:
        big_cid = import_file(f, KUBO_V0).root.encode()
    assert run(home, "add", "--only-hash", str(big)).strip() == big_cid

    earlier_cid = run(home, "add", str(earlier)).strip()
    before = len(data_files(blocks))

    env = {**os.environ, "QOS_IPFS_API": ""}
    proc = subprocess.Popen(
        qos(home, "add", str(small), str(big)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        small_cid = read_first_line(proc, deadline)  # acknowledged
        after_small = len(data_files(blocks))
        while len(data_files(blocks)) < after_small + KILL_AFTER_BLOCKS:
            assert time.monotonic() < deadline, "the big import wrote no blocks in time"
            try:
                proc.wait(timeout=0.01)  # the poll interval; the add must still be running
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"add finished before the kill: {proc.returncode}")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()

    stored = assert_store_consistent(blocks)
    assert stored >= after_small + KILL_AFTER_BLOCKS > before

    pins = run(home, "pin", "ls")
    assert f"{earlier_cid} recursive" in pins
    assert f"{small_cid} recursive" in pins
    assert big_cid not in pins
    for cid, sha in ((earlier_cid, earlier_sha), (small_cid, small_sha)):
        out = tmp_path / f"out-{cid}"
        run(home, "get", cid, "-o", str(out))
        assert file_sha(out) == sha

    gc_out = run(home, "gc")
    removed = gc_out.count("removed ")
    assert removed == stored - after_small  # exactly the orphans of the killed import
    assert_store_consistent(blocks)
    assert len(data_files(blocks)) == after_small

    assert run(home, "add", str(big)).strip() == big_cid
    out = tmp_path / "big.out"
    run(home, "get", big_cid, "-o", str(out))
    assert file_sha(out) == big_sha
    assert run(home, "gc").count("removed ") == 0
    assert_store_consistent(blocks)
