"""The trustless gateway: bytes, ranges, raw blocks, CAR round trip, errors, HEAD."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_api_files_support import Env, files_env

from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.car import import_car
from qos_ipfs.cid import CID
from qos_ipfs.exporter import read_all
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

DATA = bytes(i % 251 for i in range(700_000))  # three 256 KiB chunks: a real DAG


@pytest.fixture
async def env(tnode: TestNode, tmp_path: Path) -> AsyncIterator[Env]:
    async with files_env(tnode, tmp_path) as e:
        yield e


async def put(env: Env, data: bytes) -> str:
    r = await env.client.post("/files", content=data, headers=env.auth)
    assert r.status_code == 201, r.text
    cid: str = r.json()["cid"]
    return cid


async def test_file_bytes_and_headers(env: Env) -> None:
    cid = await put(env, DATA)
    r = await env.client.get(f"/ipfs/{cid}")
    assert r.status_code == 200
    assert r.content == DATA
    h = r.headers
    assert h["etag"] == f'"{cid}"'
    assert "immutable" in h["cache-control"]
    assert h["x-ipfs-path"] == f"/ipfs/{cid}"
    assert h["accept-ranges"] == "bytes"
    assert h["content-type"] == "application/octet-stream"
    assert int(h["content-length"]) == len(DATA)
    r = await env.client.get(f"/ipfs/{cid}", headers={"If-None-Match": f'"{cid}"'})
    assert r.status_code == 304
    text = await put(env, b"hello, gateway\n")
    r = await env.client.get(f"/ipfs/{text}")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    png = await put(env, b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert (await env.client.get(f"/ipfs/{png}")).headers["content-type"] == "image/png"


async def test_ranges(env: Env) -> None:
    cid = await put(env, DATA)
    n = len(DATA)
    for header, (start, end) in {
        "bytes=0-99": (0, 100),
        "bytes=262100-262200": (262100, 262201),  # across a chunk boundary
        "bytes=600000-": (600000, n),
        "bytes=-10": (n - 10, n),
        f"bytes=5-{n + 100}": (5, n),
    }.items():
        r = await env.client.get(f"/ipfs/{cid}", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.content == DATA[start:end], header
        assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{n}"
    for header in (f"bytes={n}-", "bytes=10-5", "bytes=-0"):
        r = await env.client.get(f"/ipfs/{cid}", headers={"Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{n}"
    r = await env.client.get(f"/ipfs/{cid}", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200  # multiple ranges: the whole file
    assert len(r.content) == n


async def test_raw_and_car(env: Env) -> None:
    cid = await put(env, DATA)
    for req in ({"params": {"format": "raw"}}, {"headers": {"Accept": "application/vnd.ipld.raw"}}):
        r = await env.client.get(f"/ipfs/{cid}", **req)  # type: ignore[arg-type]
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.ipld.raw"
        assert r.headers["etag"] == f'"{cid}.raw"'
        assert CID.hash(r.content, version=0, codec=CID.parse(cid).codec) == CID.parse(cid)
    for req in ({"params": {"format": "car"}}, {"headers": {"Accept": "application/vnd.ipld.car"}}):
        r = await env.client.get(f"/ipfs/{cid}", **req)  # type: ignore[arg-type]
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.ipld.car")
        store = MemoryBlockstore()
        result = import_car(io.BytesIO(r.content), store)
        assert [str(c) for c in result.roots] == [cid]
        assert read_all(store, CID.parse(cid)) == DATA


async def test_errors_and_head(env: Env) -> None:
    cid = await put(env, DATA)
    r = await env.client.get("/ipfs/not-a-cid")
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "BAD_REQUEST"
    missing = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco"
    for fmt in ("", "?format=raw", "?format=car"):
        assert (await env.client.get(f"/ipfs/{missing}{fmt}")).status_code == 404, fmt
    assert (await env.client.get(f"/ipfs/{cid}?format=tar")).status_code == 400
    r = await env.client.head(f"/ipfs/{cid}")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) == len(DATA)
    r = await env.client.head(f"/ipfs/{cid}", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206
    assert r.headers["content-length"] == "10"
    r = await env.client.head(f"/ipfs/{cid}?format=raw")
    assert r.status_code == 200
    assert r.content == b""
