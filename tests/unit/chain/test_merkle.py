"""Tests for qos_chain.merkle: RFC 6962 roots by hand, reference vectors, inclusion proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qos_chain.merkle import EMPTY_ROOT, Proof, inner_hash, leaf_hash, merkle_root, proof, verify


# RFC 6962 §2.1, written out independently of the module under test.
def L(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def I(left: bytes, right: bytes) -> bytes:  # noqa: E743
    return hashlib.sha256(b"\x01" + left + right).digest()


LEAVES = [bytes([i]) * (i + 1) for i in range(40)]  # distinct leaves


def test_leaf_and_inner_hash_definitions() -> None:
    assert leaf_hash(b"abc") == L(b"abc")
    assert inner_hash(b"x" * 32, b"y" * 32) == I(b"x" * 32, b"y" * 32)
    assert leaf_hash(b"") != hashlib.sha256(b"").digest()  # domain separated


def test_empty_root_is_sha256_of_nothing() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert merkle_root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_roots_by_hand() -> None:
    a, b, c, d, e, f, g, h = (x.encode() for x in "abcdefgh")
    assert merkle_root([a]) == L(a)
    assert merkle_root([a, b]) == I(L(a), L(b))
    assert merkle_root([a, b, c]) == I(I(L(a), L(b)), L(c))
    assert merkle_root([a, b, c, d, e]) == I(I(I(L(a), L(b)), I(L(c), L(d))), L(e))
    assert merkle_root([a, b, c, d, e, f, g, h]) == I(
        I(I(L(a), L(b)), I(L(c), L(d))),
        I(I(L(e), L(f)), I(L(g), L(h))),
    )


def test_split_is_the_largest_power_of_two_below_the_count() -> None:
    # 6 leaves split 4 + 2 (not the midpoint 3 + 3); 7 split 4 + 3.
    xs = [bytes([i]) for i in range(7)]
    ls = [L(x) for x in xs]
    four = I(I(ls[0], ls[1]), I(ls[2], ls[3]))
    assert merkle_root(xs[:6]) == I(four, I(ls[4], ls[5]))
    assert merkle_root(xs) == I(four, I(I(ls[4], ls[5]), ls[6]))


# Certificate Transparency reference vectors (transparency-dev/merkle testonly/constants.go).
CT_LEAVES = [
    bytes.fromhex(x)
    for x in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOFS = {
    0: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    5: [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


@pytest.mark.parametrize("n", range(len(CT_ROOTS)))
def test_certificate_transparency_roots(n: int) -> None:
    assert merkle_root(CT_LEAVES[:n]).hex() == CT_ROOTS[n]


@pytest.mark.parametrize("index", sorted(CT_PROOFS))
def test_certificate_transparency_inclusion_proofs(index: int) -> None:
    p = proof(CT_LEAVES, index)
    assert [a.hex() for a in p.aunts] == CT_PROOFS[index]
    assert verify(bytes.fromhex(CT_ROOTS[8]), CT_LEAVES[index], p)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_proof_verifies_and_every_tampering_fails(n: int) -> None:
    leaves = LEAVES[:n]
    root = merkle_root(leaves)
    for i in range(n):
        p = proof(leaves, i)
        assert p.index == i
        assert p.total == n
        assert verify(root, leaves[i], p)
        # tampered leaf
        assert not verify(root, leaves[i] + b"\x00", p)
        assert not verify(root, LEAVES[n], p)
        # wrong index (every other one) and out-of-range indexes
        for j in range(n):
            if j != i:
                assert not verify(root, leaves[i], Proof(j, n, p.aunts)), (n, i, j)
        assert not verify(root, leaves[i], Proof(n, n, p.aunts))
        assert not verify(root, leaves[i], Proof(-1, n, p.aunts))
        # extra aunt at either end, missing aunt
        assert not verify(root, leaves[i], Proof(i, n, (*p.aunts, b"\x00" * 32)))
        assert not verify(root, leaves[i], Proof(i, n, (b"\x00" * 32, *p.aunts)))
        if p.aunts:
            assert not verify(root, leaves[i], Proof(i, n, p.aunts[:-1]))
            assert not verify(root, leaves[i], Proof(i, n, p.aunts[1:]))
            # a flipped bit in any aunt
            for k, aunt in enumerate(p.aunts):
                bad = bytes([aunt[0] ^ 1]) + aunt[1:]
                aunts = (*p.aunts[:k], bad, *p.aunts[k + 1 :])
                assert not verify(root, leaves[i], Proof(i, n, aunts))
        # wrong root
        assert not verify(merkle_root(LEAVES[: n + 1]), leaves[i], p)


def test_proof_of_a_single_leaf_has_no_aunts() -> None:
    p = proof([b"only"], 0)
    assert p == Proof(0, 1, ())
    assert verify(L(b"only"), b"only", p)


def test_proof_index_out_of_range() -> None:
    with pytest.raises(IndexError):
        proof([b"a", b"b"], 2)
    with pytest.raises(IndexError):
        proof([b"a", b"b"], -1)
    with pytest.raises(IndexError):
        proof([], 0)


def test_zero_total_never_verifies() -> None:
    assert not verify(EMPTY_ROOT, b"", Proof(0, 0, ()))


def test_a_leaf_cannot_pose_as_an_inner_node() -> None:
    # With domain separation, the concatenation of two child hashes is not a valid leaf.
    a, b = L(b"a"), L(b"b")
    root = merkle_root([b"a", b"b"])
    assert not verify(root, a + b, Proof(0, 1, ()))


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_random_trees_prove_every_index(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    p = proof(leaves, i)
    assert verify(merkle_root(leaves), leaves[i], p)
    assert len(p.aunts) <= (len(leaves) - 1).bit_length()  # the tree depth


def test_hostile_deep_proof_is_rejected_not_crashing() -> None:
    hostile = Proof(0, 2**2000, (b"\x00" * 32,) * 2000)
    assert not verify(b"\x00" * 32, b"leaf", hostile)
