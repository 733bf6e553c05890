"""Relay cursor pagination over blocks (newest first).

A cursor is opaque to clients: ``base64("block:<height>")``. ``after`` a cursor means
"heights below that block's height". ``first`` is 0..MAX_FIRST.
"""

from __future__ import annotations

import base64
import binascii
import re

from qos_api.errors import ApiError

DEFAULT_FIRST = 20
MAX_FIRST = 100
_PREFIX = "block:"
_CURSOR = re.compile(r"^block:([1-9][0-9]{0,17})$")  # < 10**18: fits SQLite INTEGER


def encode_cursor(height: int) -> str:
    return base64.b64encode(f"{_PREFIX}{height}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    m = _CURSOR.match(text)
    if m is None:
        raise ApiError(
            "invalid cursor: pass an endCursor or edge cursor from a previous page",
            code="invalid_cursor",
        )
    return int(m.group(1))


def check_first(first: int) -> int:
    if first < 0 or first > MAX_FIRST:
        raise ApiError(f"first must be between 0 and {MAX_FIRST}, got {first}")
    return first
