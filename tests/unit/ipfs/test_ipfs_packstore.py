"""PackBlockstore: batches, durability across SIGKILL, corruption, compaction, concurrency,
the O_DIRECT fallback and the move of an old flatfs store.

The conformance suite runs against it in test_ipfs_blockstore.py (three variants)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import random
import selectors
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from blockstore_suite import TMPFS

from qos_chain.db import memory_database
from qos_ipfs.backend import EmbeddedBackend
from qos_ipfs.blockstore import FileBlockstore
from qos_ipfs.cid import CID, RAW
from qos_ipfs.errors import BlockNotFound, BlockstoreError, CorruptBlock, HashMismatch
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import KUBO_V0, KUBO_V1, import_chunks, import_file
from qos_ipfs.packstore import (
    ALIGN,
    BUFFER_BYTES,
    CompactResult,
    PackBlockstore,
    open_embedded_blockstore,
)
from qos_ipfs.pins import PinStore


def blocks(n: int, size: int, seed: int = 0) -> list[tuple[CID, bytes]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        data = rng.randbytes(size)
        out.append((CID.hash(data, version=1, codec=RAW), data))
    return out


def index_rows(store: PackBlockstore) -> list[tuple[int, int, int]]:
    return [
        (int(s), int(o), int(n)) for s, o, n in store._query("SELECT seg, off, len FROM blocks")
    ]


def test_batch_is_invisible_until_commit(tmp_path: Path) -> None:
    with PackBlockstore(tmp_path) as store:
        items = blocks(10, 5000)
        with store.batch() as batch:
            for cid, data in items:
                batch.put(cid, data)
            assert not any(store.has(cid) for cid, _ in items)  # not durable yet
            with PackBlockstore(tmp_path) as other:  # nor visible to another opener
                assert list(other.iter_cids()) == []
            batch.commit()
            assert all(store.get(cid) == data for cid, data in items)
        with pytest.raises(HashMismatch), store.batch() as batch:
            batch.put(items[0][0], b"not it")
        with pytest.raises(BlockstoreError, match="closed"):
            batch.put(*items[0])


def test_batch_keeps_verified_blocks_when_the_caller_fails(tmp_path: Path) -> None:
    items = blocks(3, 100)
    with PackBlockstore(tmp_path) as store:

        def failing_import() -> None:
            with store.batch() as batch:
                for cid, data in items:
                    batch.put(cid, data)
                raise RuntimeError("stream broke")

        with pytest.raises(RuntimeError):
            failing_import()
        assert all(store.get(cid) == data for cid, data in items)


def test_large_batches_roll_segments_and_commit_on_the_way(tmp_path: Path) -> None:
    items = blocks(60, 70_000, seed=1)  # 4.2 MB: several commits, several segments
    with PackBlockstore(tmp_path, segment_bytes=1 << 20, commit_bytes=300_000) as store:
        with store.batch() as batch:
            for i, (cid, data) in enumerate(items):
                batch.put(cid, data)
                if i == 10:  # commit_bytes passed: the first blocks are already durable
                    assert store.has(items[0][0])
        segs = {seg for seg, _, _ in index_rows(store)}
        assert len(segs) >= 4
    with PackBlockstore(tmp_path) as again:
        assert {c.multihash for c in again.iter_cids()} == {c.multihash for c, _ in items}
        assert all(again.get(cid) == data for cid, data in items)
        for path in again.segments_dir.iterdir():  # sealed at close: no bytes past the index
            seg = int(path.name[:-5])
            ends = [o + n for s, o, n in index_rows(again) if s == seg]
            assert path.stat().st_size == -(-max(ends, default=0) // ALIGN) * ALIGN or (
                path.stat().st_size == max(ends, default=0)
            )


class _Trickle(io.RawIOBase):
    """A pipe-like stream: ``readinto`` returns at most ``step`` bytes at a time."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = memoryview(data)
        self.step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.step, len(self.data))
        buffer[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


class _ReadOnly:
    """A stream with ``read`` only (no ``readinto``)."""

    def __init__(self, data: bytes) -> None:
        self.f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self.f.read(n)


@pytest.mark.parametrize("source", ["file", "trickle", "read-only"])
def test_importer_blocks_are_stored_byte_exact(tmp_path: Path, source: str) -> None:
    data = random.Random(5).randbytes(5 * 262144)
    data += data[:262144] + b"tail" * 300  # a repeated chunk (deduplicated), a short leaf
    for profile in (KUBO_V0, KUBO_V1):
        store = PackBlockstore(tmp_path / profile.name / source)
        backend = EmbeddedBackend(store, PinStore(memory_database()))
        stream: Any
        if source == "file":
            stream = io.BytesIO(data)
        elif source == "trickle":
            stream = io.BufferedReader(_Trickle(data, 100_000), 4096)
        else:
            stream = _ReadOnly(data)
        try:
            result = backend.add(stream, profile)
            assert result.root == import_file(io.BytesIO(data), profile).root
            assert b"".join(backend.cat(result.root)) == data
            for cid in backend.blocks.iter_cids():
                backend.blocks.get(cid)  # every stored block verifies
            heads = store._query("SELECT COUNT(*) FROM blocks WHERE head IS NOT NULL")[0][0]
            if source == "file" and profile is KUBO_V0:  # leaves read in place: no copy
                assert heads == 5
            elif source == "read-only":
                assert heads == 0
            body = sum(int(r[0]) for r in store._query("SELECT len FROM blocks"))
            assert body <= len(data) - 262144 + 4096  # the repeat was not stored twice
        finally:
            backend.close()
        with PackBlockstore(tmp_path / profile.name / source) as again:
            assert read_all(again, result.root) == data


def test_corruption_is_reported_never_served(tmp_path: Path) -> None:
    items = blocks(5, 10_000, seed=2)
    with PackBlockstore(tmp_path) as store:
        store.put_many(items)
        seg, off, size = next(r for r in index_rows(store))
        victim = next(
            cid for cid, data in items if (store._locate(cid) or ())[:3] == (seg, off, size)
        )
        path = store.segment_path(seg)
        with path.open("r+b") as f:  # flip one bit in the middle of the victim
            f.seek(off + size // 2)
            byte = f.read(1)[0]
            f.seek(off + size // 2)
            f.write(bytes([byte ^ 1]))
        with pytest.raises(CorruptBlock):
            store.get(victim)
        for cid, data in items:
            if cid != victim:
                assert store.get(cid) == data
        # a segment cut short: CorruptBlock too, not a short block
        os.truncate(path, off + size - 1)
        with pytest.raises(CorruptBlock):
            store.get(victim)


def test_gc_compaction_frees_space_and_keeps_pinned_blocks(tmp_path: Path) -> None:
    store = PackBlockstore(tmp_path / "packs", segment_bytes=4 << 20)
    backend = EmbeddedBackend(store, PinStore(memory_database()))
    try:
        keep = random.Random(3).randbytes(3 << 20)
        kept = backend.add(io.BytesIO(keep), KUBO_V1)
        drop = [random.Random(10 + i).randbytes(2 << 20) for i in range(6)]
        dropped = [backend.add(io.BytesIO(d), KUBO_V1, pin=False) for d in drop]
        store.close()  # seal every segment (a running store's own open ones are not compacted)
        store = PackBlockstore(tmp_path / "packs", segment_bytes=4 << 20)
        backend = EmbeddedBackend(store, backend.pin_store)
        before = store.disk_bytes()
        assert before >= 15 << 20
        result = backend.gc()
        assert {c.multihash for c in result.removed} == {
            c.multihash for r in dropped for c in _dag(r.root, drop)
        }
        assert isinstance(result.compaction, CompactResult)
        assert result.compaction.segments_removed >= 3
        after = store.disk_bytes()
        assert after <= (3 << 20) + (1 << 20)  # the pinned file (plus at most its copies)
        assert after < before - (10 << 20)
        assert b"".join(backend.cat(kept.root)) == keep
        for r in dropped:
            assert not store.has(r.root)
        # the reclaimed store still takes writes and survives a reopen
        again = backend.add(io.BytesIO(drop[0]), KUBO_V1)
        assert again.root == dropped[0].root
    finally:
        backend.close()
    with PackBlockstore(tmp_path / "packs") as reopened:
        assert read_all(reopened, kept.root) == keep
        assert read_all(reopened, dropped[0].root) == drop[0]


def _dag(root: CID, datas: list[bytes]) -> list[CID]:
    """Every block of the KUBO_V1 import whose root is ``root``."""
    for data in datas:
        seen: dict[CID, bytes] = {}
        res = import_chunks([data], KUBO_V1, seen.__setitem__)
        if res.root == root:
            return list(seen)
    raise AssertionError(root)


def test_concurrent_readers_while_writing_and_compacting(tmp_path: Path) -> None:
    with PackBlockstore(tmp_path, segment_bytes=1 << 20) as store:
        first = blocks(40, 30_000, seed=4)
        store.put_many(first)
        later = blocks(120, 30_000, seed=5)
        stop = threading.Event()
        errors: list[BaseException] = []
        reads = [0]
        acknowledged: list[tuple[CID, bytes]] = list(first)

        def reader() -> None:
            rng = random.Random()
            try:
                while not stop.is_set():
                    cid, data = acknowledged[rng.randrange(len(acknowledged))]
                    assert store.get(cid) == data
                    reads[0] += 1
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for i in range(0, len(later), 10):
                store.put_many(later[i : i + 10])
                acknowledged.extend(later[i : i + 10])
                if i == 60:  # delete half of the first blocks and compact under the readers
                    dead = first[::2]
                    for cid, _ in dead:
                        acknowledged.remove((cid, store.get(cid)))
                    store.delete_many(c for c, _ in dead)
            store.compact(min_dead_fraction=0.0)
            deadline = time.monotonic() + 30
            while reads[0] < 500 and not errors:
                assert time.monotonic() < deadline, "readers made no progress"
                time.sleep(0.005)  # sleep-ok: poll interval of a deadline wait
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors, errors[0]
        assert all(store.get(cid) == data for cid, data in acknowledged)


def test_o_direct_refused_at_write_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwrite
    refused = [0]

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0):
            refused[0] += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    items = blocks(30, 100_000, seed=6)  # > BUFFER_BYTES: background writes too
    assert sum(len(d) for _, d in items) > BUFFER_BYTES
    with PackBlockstore(tmp_path) as store:
        store.put_many(items)
        store.put_many(blocks(3, 10, seed=7))
        assert all(store.get(cid) == data for cid, data in items)
    if getattr(os, "O_DIRECT", 0):
        assert refused[0] >= 1


def test_o_direct_refused_at_open_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.open
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        pytest.skip("no O_DIRECT on this platform")

    def open_(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if flags & direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(path, flags, mode)

    monkeypatch.setattr(os, "open", open_)
    items = blocks(5, 50_000, seed=11)
    with PackBlockstore(tmp_path) as store:
        store.put_many(items)
        assert all(store.get(cid) == data for cid, data in items)
    monkeypatch.undo()
    with PackBlockstore(tmp_path) as store:
        assert all(store.get(cid) == data for cid, data in items)


@pytest.mark.skipif(not TMPFS.is_dir(), reason="no tmpfs at /dev/shm")
def test_tmpfs_refuses_o_direct_and_the_store_works(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=TMPFS) as tmp, PackBlockstore(tmp) as store:
        items = blocks(20, 100_000, seed=8)
        store.put_many(items)
        assert all(store.get(cid) == data for cid, data in items)


def test_old_flatfs_store_is_moved_into_the_pack_store(tmp_path: Path) -> None:
    old = FileBlockstore(tmp_path / "blocks")
    items = blocks(10, 1000, seed=9)
    for cid, data in items:
        old.put(cid, data)
    rotten_cid, _ = items[0]
    old.path_for(rotten_cid).write_bytes(b"bit rot")
    with open_embedded_blockstore(tmp_path) as store:
        assert not store.has(rotten_cid)
        assert all(store.get(cid) == data for cid, data in items[1:])
    assert [p.name for p in (tmp_path / "blocks").rglob("*.data")] == [
        old.path_for(rotten_cid).name
    ]  # the rotten one is left for the operator, reported in the log
    old.path_for(rotten_cid).unlink()
    with open_embedded_blockstore(tmp_path) as store:  # idempotent; an empty old dir goes
        assert len(list(store.iter_cids())) == 9
    assert not (tmp_path / "blocks").exists()


def test_file_blockstore_sweeps_stale_temp_files_only(tmp_path: Path) -> None:
    store = FileBlockstore(tmp_path)
    cid, data = blocks(1, 10)[0]
    store.put(cid, data)
    shard = store.path_for(cid).parent
    stale = shard / f".{store.path_for(cid).name}.dead.tmp"
    stale.write_bytes(b"half")
    live = shard / ".OTHER.data.live.tmp"
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a live writer holds its temp file's lock
        FileBlockstore(tmp_path)  # sweep at open
        assert not stale.exists()
        assert live.exists()
    finally:
        os.close(fd)
    assert store.compact() == 1  # and in gc, once its writer is gone
    assert sorted(p.name for p in shard.iterdir()) == [store.path_for(cid).name]


# ------------------------------------------------------------------ kill -9

CHILD = textwrap.dedent(
    """
    import random, sys
    from qos_ipfs.cid import CID, RAW
    from qos_ipfs.packstore import PackBlockstore

    root, mode = sys.argv[1], sys.argv[2]
    store = PackBlockstore(root, segment_bytes=8 << 20)
    rng = random.Random(int(sys.argv[3]))
    out = sys.stdout
    n = 0
    while True:
        with store.batch() as batch:
            for _ in range(rng.randrange(1, 40)):
                data = rng.randbytes(rng.randrange(1, 300_000))
                cid = CID.hash(data, version=1, codec=RAW)
                batch.put_verified(cid, data)
            batch.commit()
            # acknowledged: durable and indexed
            out.write("ack " + str(n) + "\\n")
            out.flush()
            n += 1
            if mode == "mid" and n == 5:
                for _ in range(30):  # > BUFFER_BYTES of unindexed bytes reach the file
                    data = rng.randbytes(100_000)
                    pending = CID.hash(data, version=1, codec=RAW)
                    batch.put_verified(pending, data)
                out.write("mid " + pending.encode() + "\\n")
                out.flush()
                sys.stdin.read()  # killed here, inside the batch
        if mode == "ten" and n == 10:
            store.close()
            break
    """
)


def _replay(seed: int, acks: int) -> list[tuple[CID, bytes]]:
    """The blocks the child acknowledged in its first ``acks`` batches (same RNG)."""
    rng = random.Random(seed)
    out = []
    for _ in range(acks):
        for _ in range(rng.randrange(1, 40)):
            data = rng.randbytes(rng.randrange(1, 300_000))
            out.append((CID.hash(data, version=1, codec=RAW), data))
    return out


def _read_lines(proc: subprocess.Popen[bytes], until: str, deadline: float) -> list[str]:
    """Complete lines from the child up to the first one starting with ``until``."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    try:
        while True:
            lines = buf.decode().split("\n")[:-1]
            if any(line.startswith(until) for line in lines):
                return lines
            left = deadline - time.monotonic()
            assert left > 0, f"child printed no {until!r} in time: {buf[-200:]!r}"
            if sel.select(timeout=left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"child exited: {proc.wait()} {buf[-200:]!r}"
                buf += chunk
    finally:
        sel.close()


def _segment_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "segments").glob("*.pack"))


def _kill_child(
    tmp_path: Path, mode: str, seed: int, until: str
) -> tuple[Path, list[str], list[tuple[CID, bytes]], int]:
    """Run the writer, SIGKILL it after the line ``until``; (root, lines, acknowledged
    blocks, segment bytes on disk at the kill)."""
    root = tmp_path / "packs"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), mode, str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        lines = _read_lines(proc, until, deadline)
        acknowledged = _replay(seed, sum(1 for line in lines if line.startswith("ack ")))
        if mode == "mid":  # wait until the open batch's unindexed bytes reach the file
            floor = sum(len(d) for _, d in acknowledged) + (1 << 20)
            while _segment_bytes(root) < floor:
                assert time.monotonic() < deadline, "the open batch wrote nothing"
                time.sleep(0.005)  # sleep-ok: poll interval of a deadline wait
        on_disk = _segment_bytes(root)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
    return root, lines, acknowledged, on_disk


@pytest.mark.parametrize("mode", ["mid", "racing"])
def test_sigkill_in_a_batch_loses_nothing_acknowledged(tmp_path: Path, mode: str) -> None:
    seed = 1234 if mode == "mid" else 99
    until = "mid " if mode == "mid" else "ack 8"
    root, lines, acknowledged, on_disk = _kill_child(tmp_path, mode, seed, until)
    with PackBlockstore(root) as store:
        listed = {c.multihash for c in store.iter_cids()}
        for cid, data in acknowledged:
            assert store.get(cid) == data  # present and verifying
        for cid in store.iter_cids():
            store.get(cid)  # every visible block verifies: no partial block
        want = {c.multihash for c, _ in acknowledged}
        assert want <= listed
        if mode == "mid":
            assert listed == want  # the killed batch's blocks are not visible
            pending = CID.parse(next(x for x in lines if x.startswith("mid ")).split()[1])
            assert not store.has(pending)
            ends = max(o + n for _, o, n in index_rows(store))
            assert on_disk > sum(len(d) for _, d in acknowledged)  # the tail was on disk
            assert _segment_bytes(root) < on_disk  # and recovery truncated it
            assert ends <= _segment_bytes(root)
        # the recovered store takes new writes
        cid, data = blocks(1, 5000, seed=77)[0]
        store.put(cid, data)
    with PackBlockstore(root) as store:
        assert store.get(cid) == data
        assert all(store.get(c) == d for c, d in acknowledged)
        assert hashlib.sha256(store.get(cid)).digest() == cid.multihash_digest
        with pytest.raises(BlockNotFound):
            store.get(blocks(1, 5001, seed=78)[0][0])


def test_two_processes_write_one_store_at_once(tmp_path: Path) -> None:
    root = tmp_path / "packs"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), "ten", str(seed)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        for seed in (5, 6)
    ]
    outs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            outs.append((proc.returncode, out.decode()))
    finally:
        for proc in procs:  # a failure must not leave a writer running into the next test
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for code, out in outs:
        assert code == 0
        assert out.count("ack ") == 10
    with PackBlockstore(root) as store:
        expected = _replay(5, 10) + _replay(6, 10)
        assert all(store.get(cid) == data for cid, data in expected)
        assert {c.multihash for c in store.iter_cids()} == {c.multihash for c, _ in expected}
        assert len({seg for seg, _, _ in index_rows(store)}) >= 2  # a segment per writer


def test_iter_cids_reads_in_pages_and_misses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qos_ipfs.packstore._CID_PAGE", 3)
    items = blocks(10, 100, seed=7)
    with PackBlockstore(tmp_path) as store:
        store.put_many(items)
        listed = list(store.iter_cids())
    assert [c.multihash for c in listed] == sorted(c.multihash for c, _ in items)


OPEN_ONLY = (
    "import sys; from qos_ipfs.packstore import PackBlockstore; PackBlockstore(sys.argv[1]).close()"
)


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Each opener switches a new index to WAL; without serialising that, SQLite refused
    one in ~40 ("database is locked") instead of waiting."""
    failures = []
    for round_ in range(8):
        root = tmp_path / f"store{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_ONLY, str(root)],
                stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode:
                failures.append(err.decode()[-200:])
    assert failures == []
