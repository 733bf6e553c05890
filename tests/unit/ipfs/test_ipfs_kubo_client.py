"""The Kubo RPC client against a fake transport: verification of fetched blocks, error
translation at the boundary, request parameters, NDJSON parsing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import httpx
import pytest

from qos_ipfs.backend import KuboBackend, KuboBlockstore
from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.car import export_car
from qos_ipfs.cid import CID
from qos_ipfs.errors import (
    BlockNotFound,
    CorruptBlock,
    KuboError,
    KuboUnreachable,
    PinError,
)
from qos_ipfs.importer import KUBO_V0, KUBO_V1, import_chunks
from qos_ipfs.kubo import KuboClient, add_params, api_base_url

DATA = b"a block"
CID_ = CID.hash(DATA)

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> KuboClient:
    return KuboClient("http://daemon:5001", transport=httpx.MockTransport(handler))


def error(message: str, status: int = 500) -> httpx.Response:
    return httpx.Response(status, json={"Message": message, "Code": 0, "Type": "error"})


def test_block_get_verifies_bytes() -> None:
    c = client(lambda req: httpx.Response(200, content=b"not the block"))
    with pytest.raises(CorruptBlock, match="do not hash"):
        c.block_get(CID_)
    with pytest.raises(CorruptBlock):
        KuboBlockstore(c).get(CID_)


def test_block_get_returns_verified_bytes_and_sends_local_options() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, content=DATA)

    assert client(handler).block_get(CID_) == DATA
    req = seen[0]
    assert req.method == "POST"
    assert req.url.path == "/api/v0/block/get"
    assert req.url.params["arg"] == CID_.encode()
    assert req.url.params["offline"] == "true"
    assert req.url.params["timeout"] == "5000ms"


@pytest.mark.parametrize(
    "message",
    [
        "block was not found locally (offline): ipld: could not find bafk...",
        "Failed to get block: request timed out",
    ],
)
def test_not_found_messages(message: str) -> None:
    c = client(lambda req: error(message))
    with pytest.raises(BlockNotFound):
        c.block_get(CID_)
    assert KuboBlockstore(c).has(CID_) is False


def test_daemon_message_is_kept() -> None:
    c = client(lambda req: error("repo is locked", 500))
    with pytest.raises(KuboError, match="block/stat: repo is locked"):
        c.block_stat(CID_)
    c = client(lambda req: httpx.Response(400, content=b"plain text problem"))
    with pytest.raises(KuboError, match="plain text problem"):
        c.version()


def test_unreachable() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=req)

    with pytest.raises(KuboUnreachable, match="no IPFS daemon answers"):
        client(handler).version()


def test_block_put_checks_returned_key() -> None:
    other = CID.hash(b"other")
    c = client(lambda req: httpx.Response(200, json={"Key": other.encode(), "Size": 5}))
    with pytest.raises(CorruptBlock):
        c.block_put(DATA)
    seen: list[httpx.Request] = []

    def ok(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"Key": CID_.encode(), "Size": len(DATA)})

    assert client(ok).block_put(DATA) == CID_
    params = seen[0].url.params
    assert (params["cid-codec"], params["mhtype"], params["format"]) == ("raw", "sha2-256", "raw")
    assert DATA in seen[0].read()


def test_add_params_v1_sends_raw_leaves() -> None:
    v1 = add_params(KUBO_V1)
    assert (v1["cid-version"], v1["raw-leaves"], v1["chunker"]) == ("1", "true", "size-262144")
    v0 = add_params(KUBO_V0, only_hash=True, pin=False)
    assert (v0["cid-version"], v0["raw-leaves"], v0["only-hash"], v0["pin"]) == (
        "0",
        "false",
        "true",
        "false",
    )


def test_add_streams_multipart_and_reads_ndjson() -> None:
    bodies: list[bytes] = []
    root = CID.hash(b"hello")

    def handler(req: httpx.Request) -> httpx.Response:
        bodies.append(req.read())
        assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
        lines = [{"Name": "f", "Bytes": 3}, {"Name": "f", "Hash": root.encode(), "Size": "5"}]
        return httpx.Response(200, content="\n".join(json.dumps(x) for x in lines) + "\n")

    result = client(handler).add(iter([b"hel", b"lo"]), add_params(KUBO_V1), filename="f")
    assert result.cid == root
    assert result.size == 5
    assert b"hello" in bodies[0]
    assert b'name="file"; filename="f"' in bodies[0]


def test_ndjson_error_line() -> None:
    body = json.dumps({"Cid": CID_.encode(), "Type": "recursive"}) + "\n"
    body += json.dumps({"Message": "pinset broken", "Type": "error"}) + "\n"
    c = client(lambda req: httpx.Response(200, content=body))
    pins = c.pin_ls("recursive")
    assert next(pins).cid == CID_
    with pytest.raises(KuboError, match="pinset broken"):
        next(pins)


def test_pin_errors() -> None:
    c = client(lambda req: error(f"{CID_} is not pinned"))
    with pytest.raises(PinError):
        c.pin_rm(CID_)
    c = client(lambda req: error(f"pin: {CID_} already pinned recursively"))
    with pytest.raises(PinError):
        c.pin_add(CID_, recursive=False)


def test_block_rm_lines() -> None:
    line = {"Hash": CID_.encode(), "Error": "cannot remove: pinned: recursive"}
    c = client(lambda req: httpx.Response(200, content=json.dumps(line)))
    with pytest.raises(PinError):
        c.block_rm(CID_)
    line = {"Hash": CID_.encode(), "Error": "blockstore: block not found"}
    c = client(lambda req: httpx.Response(200, content=json.dumps(line)))
    with pytest.raises(BlockNotFound):
        c.block_rm(CID_)


def _car() -> tuple[CID, bytes]:
    store = MemoryBlockstore()
    root = import_chunks([b"y" * 3000], KUBO_V0.__class__("t", 0, False, 1000, 2), store.put)
    return root.root, b"".join(export_car(store, root.root))


def test_dag_export_is_verified() -> None:
    root, car = _car()
    good = client(lambda req: httpx.Response(200, content=car))
    assert b"".join(good.dag_export(root)) == car
    bad = bytearray(car)
    bad[-1] ^= 1
    evil = client(lambda req: httpx.Response(200, content=bytes(bad)))
    with pytest.raises(CorruptBlock, match="does not hash"):
        b"".join(evil.dag_export(root))


def test_backend_cat_verifies_each_block() -> None:
    root, _car_bytes = _car()
    store = MemoryBlockstore()
    import_chunks([b"y" * 3000], KUBO_V0.__class__("t", 0, False, 1000, 2), store.put)

    def handler(req: httpx.Request) -> httpx.Response:
        cid = CID.parse(req.url.params["arg"])
        data = store.get(cid)
        if cid != root:
            data = data[:-1] + b"!"  # every leaf is tampered with
        return httpx.Response(200, content=data)

    backend = KuboBackend(client(handler))
    with pytest.raises(CorruptBlock):
        b"".join(backend.cat(root))


def test_backend_import_car_counts_and_uploads() -> None:
    root, car = _car()
    uploaded: list[bytes] = []

    def handler(req: httpx.Request) -> httpx.Response:
        uploaded.append(req.read())
        assert req.url.params["pin-roots"] == "true"
        return httpx.Response(200, json={"Root": {"Cid": {"/": root.encode()}, "PinErrorMsg": ""}})

    result = KuboBackend(client(handler)).import_car(io.BytesIO(car))
    assert result.roots == (root,)
    assert result.blocks == 4
    assert car in uploaded[0]


@pytest.mark.parametrize(
    ("api", "base"),
    [
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001/api/v0/"),
        ("http://127.0.0.1:5001/api/v0/", "http://127.0.0.1:5001/api/v0/"),
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001/api/v0/"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001/api/v0/"),
    ],
)
def test_api_base_url(api: str, base: str) -> None:
    assert api_base_url(api) == base


@pytest.mark.parametrize("api", ["ftp://x", "/ip4/1.2.3.4/udp/1", "/unix/x"])
def test_api_base_url_refuses(api: str) -> None:
    with pytest.raises(KuboError):
        api_base_url(api)
