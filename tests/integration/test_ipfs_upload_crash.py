"""``kill -9`` during ``qos ipfs add`` (embedded store): nothing acknowledged is lost and no
half block is visible.

A real ``python -m qos_node ipfs add SMALL BIG`` process is SIGKILLed while it writes BIG's
blocks into the pack store (``data/ipfs/packs``: segment files + SQLite index), after it
acknowledged SMALL (printed its CID), once BIG's unindexed bytes are in a segment file. Then:
- every indexed block verifies (a torn or unsynced one would not), and the segment files hold
  no bytes past the index once the store has been reopened (recovery truncates them);
- a file added and pinned before, and SMALL, are pinned and read back intact;
- ``qos ipfs gc`` succeeds and removes only the orphans of the killed import;
- adding BIG again completes with the CID ``--only-hash`` computes, and reads back intact.
"""

from __future__ import annotations

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

from qos_ipfs.importer import KUBO_V0, import_file
from qos_ipfs.packstore import PackBlockstore

pytestmark = pytest.mark.slow

BIG = 256 << 20  # 1024 leaves of 256 KiB: the import takes a while even at disk speed
KILL_AFTER_BYTES = 8 << 20  # of BIG's bytes in the segment files before the kill


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


def segment_bytes(packs: Path) -> int:
    return sum(p.stat().st_size for p in (packs / "segments").glob("*.pack"))


def indexed(packs: Path) -> int:
    with PackBlockstore(packs) as store:
        return sum(1 for _ in store.iter_cids())


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


def assert_store_consistent(packs: Path) -> int:
    """Every indexed block verifies; no segment holds bytes past its last indexed block
    (rounded up to the O_DIRECT page); returns the number of blocks."""
    with PackBlockstore(packs) as store:  # opening recovers the killed writer's segment
        listed = list(store.iter_cids())
        for cid in listed:
            store.get(cid)  # re-hashes; CorruptBlock if not intact
        ends: dict[int, int] = {}
        for seg, off, size in store._query("SELECT seg, off, len FROM blocks"):
            ends[int(seg)] = max(ends.get(int(seg), 0), int(off) + int(size))
        for path in store.segments_dir.glob("*.pack"):
            end = ends.get(int(path.name[:-5]), 0)
            assert path.stat().st_size <= -(-end // 4096) * 4096, path
    return len(listed)


def test_kill_9_during_add_loses_nothing_acknowledged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    packs = home / "data" / "ipfs" / "packs"
    earlier, small, big = tmp_path / "earlier.bin", tmp_path / "small.bin", tmp_path / "big.bin"
    earlier_sha = write_random(earlier, 3 << 20, 1)
    small_sha = write_random(small, 700_000, 2)
    big_sha = write_random(big, BIG, 3)
    with big.open("rb") as f:
        big_cid = import_file(f, KUBO_V0).root.encode()
    assert run(home, "add", "--only-hash", str(big)).strip() == big_cid

    earlier_cid = run(home, "add", str(earlier)).strip()
    before = indexed(packs)

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
        after_small = indexed(packs)
        floor = segment_bytes(packs) + KILL_AFTER_BYTES
        while segment_bytes(packs) < floor:
            assert time.monotonic() < deadline, "the big import wrote nothing in time"
            try:
                proc.wait(timeout=0.002)  # the poll interval; the add must still be running
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

    assert after_small > before
    on_disk = segment_bytes(packs)
    stored = assert_store_consistent(packs)
    assert stored >= after_small
    assert segment_bytes(packs) < on_disk  # the unindexed tail was cut at reopen

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
    assert assert_store_consistent(packs) == after_small

    assert run(home, "add", str(big)).strip() == big_cid
    out = tmp_path / "big.out"
    run(home, "get", big_cid, "-o", str(out))
    assert file_sha(out) == big_sha
    assert run(home, "gc").count("removed ") == 0
    assert_store_consistent(packs)
