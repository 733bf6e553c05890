"""Issue 5: "Status change costs the same with 1,000,000 credentials per issuer".

Structural check with the real ``IdentityModule`` and ``CredentialModule``: the state keys a
status change reads and writes (how many, which kind, how large) do not depend on how many
credentials the issuer has. Issuers: ``tiny`` (10 credentials), ``thousand`` (1,000) and
``big`` (20,000 anchored with module-assigned indexes, spanning two 2 KiB chunks, plus one
anchored at status index 999,999, so its lists span 1,000,000 indexes). Every anchor is
signed by the issuer's key and applied by the module. The timing side is
``python -m bench --only status`` (``bench/status_bench.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from qos_app.context import CacheKV, Ctx
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.module import CredentialModule
from qos_identity.credentials.ops import MsgAnchorCredential, StatusAction, sign_vc_op
from qos_identity.credentials.state import (
    CHUNK_BITS,
    LIST_BITS,
    IssuerRecord,
    Purpose,
    load_issuer,
)
from qos_identity.method import OpProof
from qos_identity.module import IdentityModule

CHAIN_ID = "qos-test"
BIG = 20_000
FAR = 999_999
T0 = 1_767_225_600 * 10**9


@dataclass
class Iss:
    did: str
    seed: bytes

    @property
    def key(self) -> str:
        return f"{self.did}#key-1"


@dataclass
class World:
    base: CacheKV
    tiny: Iss
    thousand: Iss
    big: Iss


def _ctx(kv: CacheKV, height: int = 2) -> Ctx:
    return Ctx(kv, CHAIN_ID, height, T0 + height * 10**9, bytes(20))


def _issuer(kv: CacheKV, n: int) -> Iss:
    seed = bytes([n]) * 32
    did, create = idc.create_did(CHAIN_ID, seed, bytes([n + 100]) * 32)
    ident = IdentityModule()
    ident.validate(create)
    ident.handle(_ctx(kv, 1), create)
    return Iss(did, seed)


def _anchor(kv: CacheKV, iss: Iss, count: int, index: int | None = None, salt: int = 0) -> None:
    module = CredentialModule()
    for j in range(count):
        op = MsgAnchorCredential(
            hashlib.sha256(f"{iss.did}:{salt}:{j}".encode()).digest(), iss.did,
            f"did:key:subject{j}", "", ("VerifiableCredential",), None, None, index, "",
            OpProof("", b""),
        )  # fmt: skip
        signed = sign_vc_op(op, CHAIN_ID, iss.seed, iss.key)
        module.validate(signed)
        module.handle(_ctx(kv), signed)


@pytest.fixture(scope="module")
def world() -> World:
    base = CacheKV(lambda _k: None)
    w = World(base, _issuer(base, 1), _issuer(base, 2), _issuer(base, 3))
    _anchor(base, w.tiny, 10)
    _anchor(base, w.thousand, 1000)
    _anchor(base, w.big, BIG)
    _anchor(base, w.big, 1, index=FAR, salt=1)
    return w


Shape = list[tuple[bytes, int]]


def _shape(keys: dict[bytes, bytes | None] | list[bytes], did: str) -> Shape:
    """Each key as (key with the issuer's DID removed, value length) -- for reads, -1."""
    token = did.encode()
    if isinstance(keys, dict):
        return sorted((k.replace(token, b"<issuer>"), len(v or b"")) for k, v in keys.items())
    return sorted((k.replace(token, b"<issuer>"), -1) for k in keys)


def _change(
    layer: CacheKV, iss: Iss, action: StatusAction, idxs: Sequence[int]
) -> tuple[Shape, Shape]:
    """Apply one signed status change on ``layer``; (writes shape, reads shape)."""
    reads: list[bytes] = []

    def get(key: bytes) -> bytes | None:
        reads.append(key)
        return layer.get(key)

    seq = load_issuer(layer.get, iss.did).sequence
    op = vc.change_status_op(CHAIN_ID, iss.did, seq, action, idxs, seed=iss.seed, signer=iss.key)
    module = CredentialModule()
    module.validate(op)
    tx = CacheKV(get)
    module.handle(_ctx(tx, 3), op)
    tx.write_into(layer)
    # positions differ between issuers only in the list / chunk numbers and index keys
    return _shape(tx.writes, iss.did), _shape(reads, iss.did)


def _kinds(shape: Shape) -> list[tuple[bytes, int]]:
    """Key kind (up to the issuer) and value length: what a change costs. The issuer
    record's length is left out: its varints (next index, count) grow by a few bytes."""
    kinds = [(k.partition(b"<issuer>")[0], n) for k, n in shape]
    return sorted((k, -2 if k == b"vc/issuer/" else n) for k, n in kinds)


ACTIONS = (StatusAction.SUSPEND, StatusAction.UNSUSPEND, StatusAction.REVOKE)


def test_the_big_issuer_has_its_credentials(world: World) -> None:
    rec = load_issuer(world.base.get, world.big.did)
    assert (rec.anchored, rec.next_index) == (BIG + 1, FAR + 1)
    assert -(-rec.next_index // LIST_BITS) == 8  # the issuer's indexes span 8 lists
    assert load_issuer(world.base.get, world.tiny.did).anchored == 10


@pytest.mark.parametrize(
    "big_index",
    [3, BIG // 2, BIG - 1, CHUNK_BITS, FAR],
    ids=["low", "mid", "high", "chunk1", "far"],
)
def test_one_index_reads_and_writes_the_same_keys_for_10_and_20000_credentials(
    world: World, big_index: int
) -> None:
    small, big = CacheKV(world.base.get), CacheKV(world.base.get)
    for action in ACTIONS:
        s_writes, s_reads = _change(small, world.tiny, action, [3])
        b_writes, b_reads = _change(big, world.big, action, [big_index])
        assert _kinds(b_writes) == _kinds(s_writes), action
        assert len(b_reads) == len(s_reads), action
        assert _kinds(b_reads) == _kinds(s_reads), action
        if big_index == 3:  # same index: the very same keys
            assert [k for k, _n in b_writes] == [k for k, _n in s_writes]
            assert b_reads == s_reads
    # steady state: the chunk written, its list's meta, the issuer record
    s_writes, _ = _change(small, world.tiny, StatusAction.REVOKE, [4])
    assert [k.partition(b"<issuer>")[0] for k, _n in s_writes] == [
        b"vc/issuer/", b"vc/sl/", b"vc/slmeta/"
    ]  # fmt: skip
    assert [n for _k, n in s_writes][1] == CHUNK_BITS // 8


@pytest.mark.parametrize("start", [0, BIG - 1000, CHUNK_BITS + 100], ids=["low", "high", "chunk1"])
def test_a_thousand_indexes_in_one_op_cost_the_same_for_1000_and_20000_credentials(
    world: World, start: int
) -> None:
    small, big = CacheKV(world.base.get), CacheKV(world.base.get)
    run = range(start, start + 1000)
    assert run[0] // CHUNK_BITS == run[-1] // CHUNK_BITS  # one chunk on both sides
    for action in ACTIONS:
        s_writes, s_reads = _change(small, world.thousand, action, range(1000))
        b_writes, b_reads = _change(big, world.big, action, run)
        assert _kinds(b_writes) == _kinds(s_writes), action
        assert len(b_writes) <= 5
        assert len(b_reads) == len(s_reads), action
        assert _kinds(b_reads) == _kinds(s_reads), action
    assert load_issuer(big.get, world.big.did) == IssuerRecord(FAR + 1, 3, BIG + 1)


def test_rows_written_grow_with_chunks_touched_not_with_credentials(world: World) -> None:
    """1,000 indexes spread over the 20,000 credentials (2 chunks) write 2 chunks."""
    big = CacheKV(world.base.get)
    spread = list(range(0, BIG, BIG // 1000))
    writes, reads = _change(big, world.big, StatusAction.REVOKE, spread)
    chunks = {i // CHUNK_BITS for i in spread}
    assert len(chunks) == 2
    assert sorted(k.partition(b"<issuer>")[0] for k, _n in writes) == sorted(
        [b"vc/sl/"] * len(chunks) + [b"vc/slmeta/", b"vc/issuer/"]
    )
    # reads: the issuer's DID state, its record, one index key per index, one per chunk
    assert sum(k.startswith(b"vc/index/") for k, _n in reads) == len(spread)
    assert sum(k.startswith(b"vc/sl/") for k, _n in reads) == 2 * len(chunks)


def test_a_first_suspension_in_a_chunk_leaves_the_revocation_list_untouched(
    world: World,
) -> None:
    """Only the lists whose bits change are written: a suspension never writes the (absent)
    revocation chunk as zeros nor moves the revocation list's validFrom."""
    layer = CacheKV(world.base.get)
    for action in (StatusAction.SUSPEND, StatusAction.UNSUSPEND):
        writes, _reads = _change(layer, world.big, action, [CHUNK_BITS + 7])
        kinds = [k.partition(b"<issuer>")[0] for k, _n in writes]
        assert kinds == [b"vc/issuer/", b"vc/sl/", b"vc/slmeta/"], action
        purposes = {k.partition(b"<issuer>\x00")[2][0] for k, _n in writes if b"/sl" in k}
        assert purposes == {Purpose.SUSPENSION}, action
