"""``qos ipfs`` on the embedded store, through click's CliRunner."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import qos_node.cli.ipfs  # noqa: F401  (registers the ``ipfs`` group)
from qos_ipfs.cid import CID, RAW
from qos_ipfs.importer import KUBO_V1, import_chunks
from qos_node.cli import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ipfs"))
from ipfs_inputs import golden_bytes, load_vectors


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    full_env: dict[str, str | None] = {"QOS_IPFS_API": None}
    full_env.update(env or {})
    return CliRunner().invoke(
        cli, ["--home", str(home), "ipfs", *args], env=full_env, catch_exceptions=False
    )


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_one_line_error(result: Result, code: str, message: str = "") -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert lines[0].endswith(f"[{code}]")


def _small_vectors() -> list[Any]:
    return [
        pytest.param(vec, column, id=f"{vec['name']}-{column}")
        for vec in load_vectors()
        if vec.get("size", 0) <= 1_100_000
        for column in ("kubo_v0", "kubo_v1", "unixfs_v1_2025")
        if column in vec
    ]


def _write(path: Path, vec: dict[str, Any]) -> Path:
    if "bytes_utf8" in vec:
        path.write_bytes(vec["bytes_utf8"].encode())
    else:
        path.write_bytes(golden_bytes(vec["size"]))
    return path


ARGS = {
    "kubo_v0": [],
    "kubo_v1": ["--cid-version", "1"],
    "unixfs_v1_2025": ["--profile", "unixfs-v1-2025"],
}


@pytest.mark.parametrize(("vec", "column"), _small_vectors())
def test_add_prints_vector_cids(
    home: Path, tmp_path: Path, vec: dict[str, Any], column: str
) -> None:
    path = _write(tmp_path / "input", vec)
    out = ok(run(home, "add", *ARGS[column], str(path)))
    assert out == vec[column] + "\n"
    assert run(home, "cat", vec[column]).stdout_bytes == path.read_bytes()


def test_add_several_files_one_cid_each(home: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"hello world\n")
    b.write_bytes(b"")
    out = ok(run(home, "add", str(a), str(b))).splitlines()
    assert out == [
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
    ]
    pins = ok(run(home, "pin", "ls")).splitlines()
    assert sorted(pins) == sorted(f"{c} recursive" for c in out)
    assert (home / "data" / "ipfs.db").is_file()
    assert (home / "data" / "ipfs" / "packs" / "index.db").is_file()


def test_only_hash_writes_nothing(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(golden_bytes(300_000))
    out = ok(run(home, "add", "--only-hash", "--cid-version", "1", str(path)))
    assert out == import_chunks([golden_bytes(300_000)], KUBO_V1).root.encode() + "\n"
    assert not home.exists()


def test_profile_and_cid_version_must_agree(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    result = run(home, "add", "--cid-version", "0", "--profile", "kubo-v1", str(path))
    assert_one_line_error(result, "usage_error", "contradicts")
    assert_one_line_error(
        run(home, "add", "--profile", "nope", str(path)), "unknown_profile", "nope"
    )


def test_cat_ranges_and_get(home: Path, tmp_path: Path) -> None:
    data = golden_bytes(700_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    cid = ok(run(home, "add", str(path))).strip()
    assert run(home, "cat", cid).stdout_bytes == data
    part = run(home, "cat", cid, "--offset", "262000", "--length", "1000")
    assert part.stdout_bytes == data[262000:263000]
    assert run(home, "cat", cid, "--offset", "699990").stdout_bytes == data[699990:]
    assert run(home, "cat", cid, "--offset", "900000").stdout_bytes == b""
    out = tmp_path / "copy"
    ok(run(home, "get", cid, "-o", str(out)))
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_errors_are_one_line(home: Path) -> None:
    assert_one_line_error(run(home, "cat", "not-a-cid"), "invalid_cid")
    missing = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert_one_line_error(run(home, "cat", missing), "block_not_found")
    assert_one_line_error(run(home, "pin", "rm", missing), "pin_error")
    assert_one_line_error(run(home, "pin", "add", missing), "block_not_found")


def test_pin_and_gc(home: Path, tmp_path: Path) -> None:
    keep, drop = tmp_path / "keep", tmp_path / "drop"
    keep.write_bytes(golden_bytes(600_000))
    drop.write_bytes(b"temporary")
    kept = ok(run(home, "add", str(keep))).strip()
    dropped = ok(run(home, "add", "--no-pin", str(drop))).strip()
    assert ok(run(home, "pin", "ls")) == f"{kept} recursive\n"
    gc = run(home, "gc")
    assert gc.exit_code == 0
    assert gc.stdout == f"removed {CID(1, RAW, CID.parse(dropped).multihash)}\n"
    assert "removed 1 blocks" in gc.stderr
    assert run(home, "cat", kept).stdout_bytes == keep.read_bytes()
    assert_one_line_error(run(home, "cat", dropped), "block_not_found")
    # a direct pin keeps one block; unpinning lets GC take the file
    ok(run(home, "pin", "rm", kept))
    ok(run(home, "add", "--no-pin", str(drop)))
    ok(run(home, "pin", "add", "--direct", dropped))
    ok(run(home, "gc"))
    assert run(home, "cat", dropped).stdout_bytes == b"temporary"
    assert_one_line_error(run(home, "cat", kept), "block_not_found")
    assert ok(run(home, "pin", "ls")) == f"{dropped} direct\n"


def test_car_round_trip(home: Path, tmp_path: Path) -> None:
    data = golden_bytes(1_048_577)
    path = tmp_path / "f"
    path.write_bytes(data)
    cid = ok(run(home, "add", str(path))).strip()
    car = tmp_path / "f.car"
    ok(run(home, "car", "export", cid, "-o", str(car)))
    other = tmp_path / "other-home"
    result = run(other, "car", "import", str(car))
    assert ok(result) == cid + "\n"
    assert "imported 6 blocks" in result.stderr
    assert run(other, "cat", cid).stdout_bytes == data
    assert ok(run(other, "pin", "ls")) == f"{cid} recursive\n"
    again = tmp_path / "again.car"
    ok(run(other, "car", "export", cid, "-o", str(again)))
    assert again.read_bytes() == car.read_bytes()


def test_car_import_refuses_corrupt(home: Path, tmp_path: Path) -> None:
    car = tmp_path / "bad.car"
    car.write_bytes(b"\x05hello")
    assert_one_line_error(run(home, "car", "import", str(car)), "malformed_car")


def test_unreachable_daemon(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    result = run(home, "--ipfs-api", "http://127.0.0.1:1", "add", str(path))
    assert_one_line_error(result, "kubo_unreachable", "no IPFS daemon answers")
    result = run(home, "pin", "ls", env={"QOS_IPFS_API": "ftp://nowhere"})
    assert_one_line_error(result, "kubo_error")
