"""FileService: uploads, local pin lifecycle, reference-counted backend pins, the GC lock,
tokens; the streaming multipart parser."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qos_chain.db import open_database
from qos_fs.errors import LocalPinNotFound, MalformedUpload, TokenError, UploadTooLarge
from qos_fs.multipart import MultipartFile, boundary_of
from qos_fs.service import FileService, PinQuery, PinStatus
from qos_fs.times import format_time, parse_time
from qos_ipfs.backend import EmbeddedBackend
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound

OWNER = "did:key:z6MkOwner"


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[FileService]:
    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")
    s = FileService(backend, open_database(tmp_path / "files.db"), max_upload_bytes=1 << 20)
    yield s
    s.close()


def backend_pins(svc: FileService) -> list[CID]:
    return [p.cid for p in svc.backend.pins()]


def test_upload_pins_and_refcounts(svc: FileService) -> None:
    a = svc.add(io.BytesIO(b"alpha"), OWNER, name="a")
    assert (a.status, a.size, a.name) == (PinStatus.PINNED, 5, "a")
    req = svc.process(OWNER, svc.request_pin(OWNER, str(a.cid)).requestid)
    assert req.status is PinStatus.PINNED
    assert backend_pins(svc) == [a.cid]
    svc.on_chain_pin("did:qos:x", a.cid.to_bytes())
    svc.remove_pin(OWNER, a.requestid)
    svc.remove_pin(OWNER, req.requestid)
    assert backend_pins(svc) == [a.cid]  # the on-chain record still needs it
    svc.on_chain_unpin("did:qos:x", a.cid.to_bytes())
    assert backend_pins(svc) == []
    assert svc.gc() > 0
    with pytest.raises(BlockNotFound):
        svc.block(a.cid)
    with pytest.raises(LocalPinNotFound):
        svc.get_pin(OWNER, a.requestid)


def test_status_lifecycle_and_failure(svc: FileService) -> None:
    missing = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco"
    p = svc.request_pin(OWNER, missing, name="n", meta={"a": "b"}, origins=("/p2p/x",))
    assert p.status is PinStatus.QUEUED
    done = svc.process(OWNER, p.requestid)
    assert done.status is PinStatus.FAILED
    assert "not available" in done.details
    assert svc.process(OWNER, p.requestid) == done  # only queued requests are processed
    assert svc.list_pins(OWNER, PinQuery())[0] == 0
    count, pins = svc.list_pins(OWNER, PinQuery(statuses=(PinStatus.FAILED,)))
    assert (count, pins[0].origins, pins[0].meta) == (1, ("/p2p/x",), {"a": "b"})
    with pytest.raises(LocalPinNotFound):
        svc.get_pin("did:key:other", p.requestid)


def test_fetch_hook_is_used_for_missing_content(tmp_path: Path) -> None:
    source = EmbeddedBackend.open(tmp_path / "src", tmp_path / "src.db")
    root = source.add(io.BytesIO(b"remote bytes")).root
    calls: list[tuple[str, ...]] = []

    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")

    def fetch(cid: CID, origins: tuple[str, ...]) -> None:
        calls.append(origins)
        for c in source.blocks.iter_cids():
            backend.blocks.put(c, source.blocks.get(c))

    service = FileService(backend, open_database(tmp_path / "files.db"), fetch=fetch)
    try:
        p = service.request_pin(OWNER, str(root), origins=("/ip4/1.2.3.4/tcp/1/p2p/Qm",))
        assert service.process(OWNER, p.requestid).status is PinStatus.PINNED
        assert calls == [("/ip4/1.2.3.4/tcp/1/p2p/Qm",)]
    finally:
        service.close()
        source.close()


def test_size_limit_and_unique_created(svc: FileService) -> None:
    with pytest.raises(UploadTooLarge):
        svc.add(io.BytesIO(bytes((1 << 20) + 1)), OWNER)
    assert svc.list_pins(OWNER, PinQuery())[0] == 0
    made = [svc.request_pin(OWNER, str(CID.hash(bytes([i])))) for i in range(5)]
    created = [p.created_ns for p in made]
    assert created == sorted(set(created))  # strictly increasing even on a coarse clock
    assert parse_time(format_time(created[0])) == created[0]
    assert parse_time("2026-01-01T01:00:00+01:00") == parse_time("2026-01-01T00:00:00Z")


def test_unpin_during_an_upload_is_deferred(svc: FileService) -> None:
    first = svc.add(io.BytesIO(b"same"), OWNER)
    gate, release = threading.Event(), threading.Event()

    class Slow(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            gate.set()
            release.wait(10)
            return super().read(n)

        def readinto(self, buffer: Any) -> int:  # the pack store reads through this
            gate.set()
            release.wait(10)
            return super().readinto(buffer)

    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(svc.add(Slow(b"same"), OWNER)))
    t.start()
    assert gate.wait(10)
    svc.remove_pin(OWNER, first.requestid)  # the upload in flight may produce this CID
    assert backend_pins(svc) == [first.cid]
    release.set()
    t.join(10)
    assert backend_pins(svc) == [first.cid]  # kept: the new upload's pin names it


def test_tokens(svc: FileService) -> None:
    tid, token = svc.issue_token(OWNER, "ci", b"d1")
    assert svc.authenticate(token) == OWNER
    with pytest.raises(TokenError):
        svc.issue_token(OWNER, "ci", b"d1")  # one signed request, one token
    with pytest.raises(LocalPinNotFound):
        svc.revoke_token("did:key:other", tid)
    svc.revoke_token(OWNER, tid)
    with pytest.raises(TokenError):
        svc.authenticate(token)
    assert [t.revoked_ns is not None for t in svc.tokens(OWNER)] == [True]
    raw = svc.db.conn.execute("SELECT token_hash FROM fs_tokens").fetchone()[0]
    assert token.encode() not in raw  # stored hashed


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 100000])
def test_multipart_parser_streams_the_file_part(piece: int) -> None:
    payload = bytes(range(256)) * 40 + b"\r\n--notquite"
    body = (
        b"preamble\r\n--BB\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue\r\n"
        b"--BB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a b.txt\"\r\n\r\n"
        + payload + b"\r\n--BB--\r\nepilogue"
    )  # fmt: skip
    parser = MultipartFile(boundary_of('multipart/form-data; boundary="BB"'))
    out = b"".join(parser.feed(body[i : i + piece]) for i in range(0, len(body), piece))
    parser.close()
    assert out == payload
    assert parser.filename == "a b.txt"


def test_multipart_parser_errors() -> None:
    with pytest.raises(MalformedUpload):
        boundary_of("multipart/form-data")
    parser = MultipartFile("BB")
    parser.feed(b'--BB\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc')
    with pytest.raises(MalformedUpload):
        parser.close()  # truncated
    parser = MultipartFile("BB")
    parser.feed(b'--BB\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc\r\n--BB--\r\n')
    with pytest.raises(MalformedUpload):
        parser.close()  # no file part
    parser = MultipartFile("BB")
    with pytest.raises(MalformedUpload):
        parser.feed(b"--BB\r\n" + b"X" * 20000)
