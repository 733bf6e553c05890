"""Binary Merkle trees over ordered leaves (RFC 6962 hashing, as CometBFT's ``merkle``).

``leaf = SHA-256(0x00 || data)``, ``inner = SHA-256(0x01 || left || right)``; the split
point is the largest power of two smaller than the leaf count. The root of no leaves is
SHA-256 of the empty string. Domain separation makes a leaf unforgeable as an inner node.
Inclusion proofs (for light clients) come with ``proof``/``verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

_LEAF = b"\x00"
_INNER = b"\x01"


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    return _h(_LEAF + data)


def inner_hash(left: bytes, right: bytes) -> bytes:
    return _h(_INNER + left + right)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 1:
        return hashes[0]
    k = _split(n)
    return inner_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


EMPTY_ROOT = _h(b"")


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    return _root_of_hashes([leaf_hash(x) for x in leaves])


@dataclass(frozen=True, slots=True)
class Proof:
    index: int
    total: int
    aunts: tuple[bytes, ...]  # sibling hashes from the leaf up


def proof(leaves: Sequence[bytes], index: int) -> Proof:
    if not 0 <= index < len(leaves):
        raise IndexError("leaf index out of range")
    aunts: list[bytes] = []
    hashes = [leaf_hash(x) for x in leaves]

    def walk(lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = _split(n)
        if index < lo + k:
            walk(lo, lo + k)
            aunts.append(_root_of_hashes(hashes[lo + k : hi]))
        else:
            walk(lo + k, hi)
            aunts.append(_root_of_hashes(hashes[lo : lo + k]))

    walk(0, len(hashes))
    return Proof(index, len(leaves), tuple(aunts))


def verify(root: bytes, leaf: bytes, p: Proof) -> bool:
    """Check ``leaf`` is at ``p.index`` of a tree of ``p.total`` leaves with ``root``.

    Iterative (a hostile proof cannot exhaust the stack). Callers must also check that
    ``p.total`` is the leaf count they expect.
    """
    if not 0 <= p.index < p.total:
        return False
    # Walk down from the root to find, level by level, which side the leaf is on.
    sides: list[bool] = []  # True: our subtree is the left child
    index, total = p.index, p.total
    while total > 1:
        k = _split(total)
        if index < k:
            sides.append(True)
            total = k
        else:
            sides.append(False)
            index -= k
            total -= k
    if len(sides) != len(p.aunts):
        return False
    h = leaf_hash(leaf)
    for is_left, aunt in zip(reversed(sides), p.aunts, strict=True):
        h = inner_hash(h, aunt) if is_left else inner_hash(aunt, h)
    return h == root
