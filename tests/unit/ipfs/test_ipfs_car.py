from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qos_ipfs import car
from qos_ipfs.blockstore import MemoryBlockstore
from qos_ipfs.car import encode_header, export_car, import_car, iter_car, write_car
from qos_ipfs.cid import CID
from qos_ipfs.dagpb import child_cids
from qos_ipfs.errors import BlockNotFound, MalformedCar
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import KUBO_V0, ImportResult, Profile, import_chunks
from qos_ipfs.pins import reachable
from qos_ipfs.varint import encode_varint

SMALL = Profile("small", 1, raw_leaves=True, chunk_size=4, max_links=3)


def _add(data: bytes, profile: Profile = SMALL) -> tuple[MemoryBlockstore, ImportResult]:
    store = MemoryBlockstore()
    return store, import_chunks([data], profile, store.put)


def test_header_bytes_are_canonical_dag_cbor() -> None:
    root = CID.parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    header = encode_header([root])
    cid_bytes = b"\0" + root.to_bytes()
    assert header == (
        b"\xa2" + b"\x65roots" + b"\x81" + b"\xd8\x2a\x58\x23" + cid_bytes + b"\x67version\x01"
    )
    assert car.decode_header(header) == [root]


def test_export_is_dfs_each_block_once_and_roundtrips() -> None:
    data = bytes(range(60)) + bytes(range(60))  # repeated leaves: emitted once
    store, result = _add(data)
    roots, sections = iter_car(io.BytesIO(b"".join(export_car(store, result.root))))
    blocks = list(sections)
    assert roots == [result.root]
    assert blocks[0][0] == result.root
    assert len({c.multihash for c, _ in blocks}) == len(blocks)
    assert {c.multihash for c, _ in blocks} == reachable(store, [result.root])
    assert [c for c, _ in blocks] == _dfs(store, result.root, set())

    target = MemoryBlockstore()
    out = io.BytesIO()
    write_car(store, result.root, out)
    imported = import_car(io.BytesIO(out.getvalue()), target)
    assert imported.roots == (result.root,)
    assert imported.blocks == len(blocks)
    assert read_all(target, result.root) == data


def _dfs(store: MemoryBlockstore, cid: CID, seen: set[bytes]) -> list[CID]:
    if cid.multihash in seen:
        return []
    seen.add(cid.multihash)
    order = [cid]
    for child in child_cids(cid, store.get(cid)):
        order += _dfs(store, child, seen)
    return order


def test_v0_dag_roundtrip() -> None:
    store, result = _add(bytes(range(256)) * 2100, KUBO_V0)
    target = MemoryBlockstore()
    import_car(io.BytesIO(b"".join(export_car(store, result.root))), target)
    assert read_all(target, result.root) == bytes(range(256)) * 2100


def test_export_missing_block() -> None:
    store, result = _add(bytes(range(40)))
    store.delete(next(c for c in store.iter_cids() if c.multihash != result.root.multihash))
    with pytest.raises(BlockNotFound):
        b"".join(export_car(store, result.root))


def _car(header: bytes, *sections: bytes) -> io.BytesIO:
    body = b"".join(encode_varint(len(s)) + s for s in sections)
    return io.BytesIO(encode_varint(len(header)) + header + body)


GOOD = CID.hash(b"block")
HEADER = encode_header([GOOD])
PREFIX = encode_varint(len(HEADER)) + HEADER


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (io.BytesIO(b""), "no header"),
        (io.BytesIO(b"\x00"), "no header"),
        (io.BytesIO(b"\x80"), "truncated varint"),
        (io.BytesIO(b"\x80\x00"), "bad varint"),
        (io.BytesIO(encode_varint(car.MAX_HEADER_SIZE + 1)), "exceeds"),
        (io.BytesIO(b"\x05\xa0"), "truncated CAR: header"),
        (_car(b"\xa0"), "unsupported CAR version None"),
        (_car(b"\xa1\x67version\x02"), "unsupported CAR version 2"),
        (_car(b"\x80"), "not a map"),
        (_car(b"\xa0\x00"), "trailing bytes"),
        (_car(b"\xa2\x67version\x01\x65roots\x80\x00"), "trailing"),
        (_car(b"\xa2\x67version\x01\x65roots\x81\x01"), "list of CIDs"),
        (_car(b"\xa2\x67version\x01\x67version\x01"), "distinct strings"),
        (_car(b"\xa1\x01\x01"), "distinct strings"),
        (_car(b"\xa1\x62\xff\xfe\x01"), "not UTF-8"),
        (_car(b"\xa1\x67version\x3b" + bytes(8)), "major type 1"),
        (_car(b"\xa1\x67version\x1c"), "additional info 28"),
        (_car(b"\xa1\x67version\x9a\xff\xff\xff\xff"), "longer than the CAR header"),
        (_car(b"\xa1\x65roots\x81\xd8\x2a\x41\x01"), "0x00-prefixed"),
        (_car(b"\xa1\x65roots\x81\xd8\x2a\x42\x00\x01"), "bad root CID"),
        (_car(b"\x81" * 12), "nested too deeply"),
        (_car(HEADER, b"\x01\x55"), "bad CID"),
        (_car(HEADER, GOOD.to_bytes() + b"other"), "does not hash"),
        (io.BytesIO(PREFIX + encode_varint(10) + b"abc"), "section 0"),
        (io.BytesIO(PREFIX + encode_varint(car.MAX_SECTION_SIZE + 1)), "exceeds"),
    ],
)
def test_malformed(stream: io.BytesIO, message: str) -> None:
    with pytest.raises(MalformedCar, match=message):
        import_car(stream, MemoryBlockstore())


def test_too_many_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(car, "MAX_ROOTS", 1)
    with pytest.raises(MalformedCar, match="too many roots"):
        car.decode_header(encode_header([GOOD, GOOD]))


def test_nothing_is_stored_from_a_bad_section() -> None:
    store = MemoryBlockstore()
    ok = GOOD.to_bytes() + b"block"
    bad_cid = CID.hash(b"x")
    with pytest.raises(MalformedCar):
        import_car(_car(HEADER, ok, bad_cid.to_bytes() + b"y"), store)
    assert store.has(GOOD)
    assert not store.has(bad_cid)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(MalformedCar):
        import_car(io.BytesIO(data), MemoryBlockstore())
