"""RFC 8785 JSON Canonicalization Scheme (JCS).

``canonicalize(value)`` returns the UTF-8 bytes of the canonical form of a JSON value made
of ``dict`` (str keys), ``list``/``tuple``, ``str``, ``int``, ``float``, ``bool`` and
``None``; anything else (NaN, infinities, non-str keys, lone surrogates, integers outside
the IEEE 754 double's exact range, other types) raises :class:`NotJson`.

* Objects: members sorted by their keys' UTF-16 code units (RFC 8785 3.2.3).
* Strings: only ``"``, ``\\`` and U+0000..U+001F are escaped (``\\b \\t \\n \\f \\r``,
  else ``\\u00xx``, lower-case hex); everything else is literal UTF-8 (3.2.2.2).
* Numbers: the ECMAScript ``Number.prototype.toString`` form of the IEEE 754 double
  (3.2.2.3): shortest round-trip digits, ``-0`` -> ``0``, exponent form outside
  ``1e-7 < |x| < 1e21`` (``1e+21``, ``5e-324``).

``loads(text)`` parses JSON strictly for canonicalization (duplicate keys, NaN and
Infinity refused).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from qos_identity.credentials.errors import InvalidCredential

MAX_SAFE_INTEGER = 2**53
MAX_DEPTH = 64


class NotJson(InvalidCredential):
    """The value cannot be canonicalized as I-JSON (RFC 7493) / RFC 8785."""


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def number_to_string(x: float) -> str:
    """ECMAScript Number::toString(x) for a finite double (ECMA-262 6.1.6.1.20)."""
    if not math.isfinite(x):
        raise NotJson(f"{x!r} is not a JSON number (NaN and infinities are refused)")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() gives the shortest digits that round-trip (as ECMAScript requires)
    t = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    n = len(digits) + int(t.exponent)  # value = 0.<digits> * 10**n
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-")
        body += str(abs(e))
    return sign + body


def _emit(value: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise NotJson(f"nesting deeper than {MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotJson(f"integer {value} is outside the exact range of a double (2^53)")
        out.append(str(value))
    elif isinstance(value, float):
        out.append(number_to_string(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _emit(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotJson("object keys must be strings")
        out.append("{")
        for i, key in enumerate(
            sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        ):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _emit(value[key], out, depth + 1)
        out.append("}")
    else:
        raise NotJson(f"{type(value).__name__} is not a JSON value")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    out: list[str] = []
    _emit(value, out, 0)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotJson("strings must not contain lone surrogates") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise NotJson(f"duplicate object key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise NotJson(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Parse JSON strictly: duplicate keys, NaN and Infinity raise :class:`NotJson`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, NotJson):
            raise
        raise NotJson(f"malformed JSON: {exc}") from exc
