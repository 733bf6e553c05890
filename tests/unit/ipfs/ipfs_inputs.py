"""Deterministic inputs of the golden UnixFS vectors, generated as a stream.

Input bytes for size n: sha256(b'ipfs-golden' + i.to_bytes(8, 'big')) for i = 0, 1, ...
concatenated, first n bytes (see /work/shared/vectors/unixfs-cids.json).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

VECTORS_PATH = Path("/work/shared/vectors/unixfs-cids.json")
_DIGESTS_PER_PIECE = 2048  # 64 KiB pieces


def golden_stream(size: int) -> Iterator[bytes]:
    """Yield the ``size`` input bytes in 64 KiB pieces, never holding more than one piece."""
    sha256 = hashlib.sha256
    i = 0
    left = size
    while left > 0:
        piece = b"".join(
            sha256(b"ipfs-golden" + j.to_bytes(8, "big")).digest()
            for j in range(i, i + _DIGESTS_PER_PIECE)
        )
        i += _DIGESTS_PER_PIECE
        if len(piece) > left:
            piece = piece[:left]
        left -= len(piece)
        yield piece


def golden_bytes(size: int) -> bytes:
    return b"".join(golden_stream(size))


def load_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())["vectors"]
    return vectors
