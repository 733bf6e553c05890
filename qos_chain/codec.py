"""The one canonical binary encoding of every QOS wire and signed type.

Encoding rules (documented in ``docs/protocol.md``):

* A top-level value is ``uvarint(type_tag) || body``; nested values are ``body`` only.
* A body is the concatenation of its fields in declaration order, no field names.
* ``int``: unsigned LEB128 varint, minimal length, at most 2**64 - 1. Negative ints are
  not encodable (optional values use ``T | None`` instead of sentinels like -1).
* ``SInt`` (a signed int, e.g. proposer priorities): zigzag then as ``int``,
  -2**63 .. 2**63 - 1.
* ``bool``: one byte, 0x00 or 0x01.
* ``bytes``: ``uvarint(len) || raw``; ``str``: the same over UTF-8 (must be valid UTF-8).
* ``tuple[T, ...]``: ``uvarint(count) || item...``.
* ``T | None``: 0x00 for None, or 0x01 followed by ``T``.
* ``IntEnum``: as its int value; decoding refuses unknown members.
* a registered dataclass: its body (fields in order), recursively.

Decoding is strict so that every value has exactly one encoding: non-minimal varints,
booleans other than 0/1, invalid UTF-8, unknown enum values, wrong tags and trailing bytes
are refused with :class:`DecodeError`. Lengths are checked against the remaining input
before any allocation, so hostile input cannot make the decoder allocate more than it reads.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, NewType, TypeVar, cast

from qos_chain.errors import DecodeError, EncodeError

T = TypeVar("T")

MAX_UINT64 = (1 << 64) - 1

SInt = NewType("SInt", int)
"""A signed 64-bit integer field (zigzag-encoded)."""

_TAGS: dict[type, int] = {}
_BY_TAG: dict[int, type] = {}

Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[["Reader"], Any]
_PLANS: dict[type, tuple[Encoder, Decoder]] = {}


# --------------------------------------------------------------------------- primitives


def write_uvarint(out: bytearray, value: int) -> None:
    if value < 0 or value > MAX_UINT64:
        raise EncodeError(f"integer {value} is outside 0..2**64-1")
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def uvarint(value: int) -> bytes:
    out = bytearray()
    write_uvarint(out, value)
    return bytes(out)


class Reader:
    """A cursor over input bytes with strict, bounded reads."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)  # no copy for bytes; slices of bytes are bytes in one step
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def uvarint(self) -> int:
        pos = self._pos
        if pos < len(self._data):
            first = self._data[pos]
            if first < 0x80:  # one byte: always minimal and in range (the common case)
                self._pos = pos + 1
                return first
        result = 0
        shift = 0
        start = self._pos
        while True:
            if self._pos >= len(self._data):
                raise DecodeError("truncated varint")
            byte = self._data[self._pos]
            self._pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 63:
                raise DecodeError("varint longer than 10 bytes")
        if self._pos - start > 1 and byte == 0:
            raise DecodeError("non-minimal varint")
        if result > MAX_UINT64:
            raise DecodeError("varint exceeds 2**64-1")
        return result

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise DecodeError(f"length {n} exceeds the {self.remaining} bytes left")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise DecodeError("truncated input")
        b = self._data[self._pos]
        self._pos += 1
        return b

    def finish(self) -> None:
        if self.remaining:
            raise DecodeError(f"{self.remaining} trailing bytes")


# --------------------------------------------------------------------------- field plans


def _enc_int(out: bytearray, v: Any) -> None:
    if type(v) is not int:
        raise EncodeError(f"expected int, got {type(v).__name__}")
    write_uvarint(out, v)


def _enc_bool(out: bytearray, v: Any) -> None:
    if type(v) is not bool:
        raise EncodeError(f"expected bool, got {type(v).__name__}")
    out.append(1 if v else 0)


def _dec_bool(r: Reader) -> bool:
    b = r.byte()
    if b > 1:
        raise DecodeError(f"invalid bool byte {b}")
    return b == 1


def _enc_bytes(out: bytearray, v: Any) -> None:
    if not isinstance(v, bytes | bytearray):
        raise EncodeError(f"expected bytes, got {type(v).__name__}")
    write_uvarint(out, len(v))
    out += v


def _dec_bytes(r: Reader) -> bytes:
    return r.take(r.uvarint())


def _enc_str(out: bytearray, v: Any) -> None:
    if not isinstance(v, str):
        raise EncodeError(f"expected str, got {type(v).__name__}")
    try:
        raw = v.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodeError("string is not encodable as UTF-8") from exc
    write_uvarint(out, len(raw))
    out += raw


def _dec_str(r: Reader) -> str:
    raw = r.take(r.uvarint())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("string is not valid UTF-8") from exc


def _enc_sint(out: bytearray, v: Any) -> None:
    if type(v) is not int:
        raise EncodeError(f"expected int, got {type(v).__name__}")
    if not -(1 << 63) <= v < (1 << 63):
        raise EncodeError(f"signed integer {v} is outside -2**63..2**63-1")
    write_uvarint(out, (v << 1) ^ (v >> 63))


def _dec_sint(r: Reader) -> int:
    z = r.uvarint()
    return (z >> 1) ^ -(z & 1)


def _plan_for(tp: Any) -> tuple[Encoder, Decoder]:
    """Build (encoder, decoder) for a type annotation."""
    if tp is SInt:
        return _enc_sint, _dec_sint
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:  # typing.NewType
        return _plan_for(supertype)
    if tp is int:
        return _enc_int, Reader.uvarint
    if tp is bool:
        return _enc_bool, _dec_bool
    if tp is bytes:
        return _enc_bytes, _dec_bytes
    if tp is str:
        return _enc_str, _dec_str
    if isinstance(tp, type) and issubclass(tp, enum.IntEnum):
        return _enum_plan(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_plan(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_plan(args[0])
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = args[0] if args[1] is type(None) else args[1]
        return _optional_plan(inner)
    raise TypeError(f"codec: unsupported field type {tp!r}")


def _enum_plan(tp: type[enum.IntEnum]) -> tuple[Encoder, Decoder]:
    def enc(out: bytearray, v: Any) -> None:
        if not isinstance(v, tp):
            raise EncodeError(f"expected {tp.__name__}, got {type(v).__name__}")
        write_uvarint(out, int(v))

    def dec(r: Reader) -> Any:
        raw = r.uvarint()
        try:
            return tp(raw)
        except ValueError as exc:
            raise DecodeError(f"unknown {tp.__name__} value {raw}") from exc

    return enc, dec


def _tuple_plan(item_tp: Any) -> tuple[Encoder, Decoder]:
    item_enc, item_dec = _plan_for(item_tp)

    def enc(out: bytearray, v: Any) -> None:
        if not isinstance(v, tuple):
            raise EncodeError(f"expected tuple, got {type(v).__name__}")
        write_uvarint(out, len(v))
        for item in v:
            item_enc(out, item)

    def dec(r: Reader) -> tuple[Any, ...]:
        count = r.uvarint()
        if count > r.remaining:  # every item takes at least one byte
            raise DecodeError(f"count {count} exceeds the {r.remaining} bytes left")
        return tuple(item_dec(r) for _ in range(count))

    return enc, dec


def _optional_plan(inner_tp: Any) -> tuple[Encoder, Decoder]:
    inner_enc, inner_dec = _plan_for(inner_tp)

    def enc(out: bytearray, v: Any) -> None:
        if v is None:
            out.append(0)
        else:
            out.append(1)
            inner_enc(out, v)

    def dec(r: Reader) -> Any:
        flag = r.byte()
        if flag == 0:
            return None
        if flag == 1:
            return inner_dec(r)
        raise DecodeError(f"invalid option flag {flag}")

    return enc, dec


def _dataclass_plan(cls: type) -> tuple[Encoder, Decoder]:
    cached = _PLANS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    plans = [_plan_for(hints[f.name]) for f in fields]
    enc, dec = _compile_plan(cls, names, [p[0] for p in plans], [p[1] for p in plans])
    _PLANS[cls] = (enc, dec)
    return enc, dec


# A one-byte length or value (< 0x80) is written inline for these field encoders; any other
# value goes through the encoder itself, so the bytes and the errors are the same.
_INLINE_SHORT = {
    "int": "type(x) is int and 0 <= x < 0x80",
    "bytes": "type(x) is bytes and len(x) < 0x80",
    "str": "type(x) is str and len(x) < 0x80 and x.isascii()",
}


def _compile_plan(
    cls: type, names: list[str], encoders: list[Encoder], decoders: list[Decoder]
) -> tuple[Encoder, Decoder]:
    """Build a dataclass's encoder and decoder as straight-line functions: one statement
    per field instead of a loop over (name, encoder) pairs with ``getattr`` (codec time
    is a few % of a loaded validator). Field names are Python identifiers (dataclass
    fields), so the generated source is safe; the result is identical to the generic loop
    (tests/vectors/codec.json and the codec tests hold both to the same bytes)."""
    ns: dict[str, Any] = {
        "cls": cls,
        "EncodeError": EncodeError,
        "DecodeError": DecodeError,
    }
    kinds: dict[Encoder, str] = {_enc_int: "int", _enc_bytes: "bytes", _enc_str: "str"}
    lines = [
        "def enc(out, v):",
        "    if type(v) is not cls:",
        "        raise EncodeError(f'expected {cls.__name__}, got {type(v).__name__}')",
    ]
    for i, (name, field_enc) in enumerate(zip(names, encoders, strict=True)):
        ns[f"e{i}"] = field_enc
        kind = kinds.get(field_enc)
        lines += ["    try:", f"        x = v.{name}"]
        if kind is None:
            lines.append(f"        e{i}(out, x)")
        else:
            lines += [
                f"        if {_INLINE_SHORT[kind]}:",
                "            out.append(len(x))" if kind != "int" else "            out.append(x)",
            ]
            if kind == "bytes":
                lines.append("            out += x")
            elif kind == "str":
                lines.append("            out += x.encode()")
            lines += ["        else:", f"            e{i}(out, x)"]
        lines += [
            "    except EncodeError as exc:",
            f"        raise EncodeError(f'{{cls.__name__}}.{name}: {{exc.message}}') from exc",
        ]
    args = ", ".join(f"a{i}" for i in range(len(names)))
    lines.append("def dec(r):")
    for i, field_dec in enumerate(decoders):
        ns[f"d{i}"] = field_dec
        lines.append(f"    a{i} = d{i}(r)")
    lines += [
        "    try:",
        f"        return cls({args})",
        "    except (ValueError, TypeError) as exc:  # __post_init__ invariants",
        "        raise DecodeError(f'{cls.__name__}: {exc}') from exc",
    ]
    exec("\n".join(lines), ns)  # noqa: S102 - source built above from field names only
    return cast(Encoder, ns["enc"]), cast(Decoder, ns["dec"])


# --------------------------------------------------------------------------- public API


def register(tag: int) -> Callable[[type[T]], type[T]]:
    """Class decorator: give a dataclass a unique top-level type tag."""

    def deco(cls: type[T]) -> type[T]:
        if tag in _BY_TAG and _BY_TAG[tag] is not cls:
            raise TypeError(f"codec tag {tag} already used by {_BY_TAG[tag].__name__}")
        _TAGS[cls] = tag
        _BY_TAG[tag] = cls
        return cls

    return deco


def tag_of(cls: type) -> int:
    try:
        return _TAGS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a registered codec type") from None


def encode_body(value: object) -> bytes:
    """Encode without the type tag (used inside sign bytes and nested structures)."""
    enc, _ = _dataclass_plan(type(value))
    out = bytearray()
    enc(out, value)
    return bytes(out)


def encode(value: object) -> bytes:
    """Canonical top-level encoding: ``uvarint(tag) || body``."""
    out = bytearray()
    write_uvarint(out, tag_of(type(value)))
    enc, _ = _dataclass_plan(type(value))
    enc(out, value)
    return bytes(out)


def decode(cls: type[T], data: bytes) -> T:
    """Strictly decode a top-level value of ``cls``; refuses any non-canonical input."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    r = Reader(bytes(data))
    tag = r.uvarint()
    want = tag_of(cls)
    if tag != want:
        raise DecodeError(f"type tag {tag} is not {cls.__name__} ({want})")
    _, dec = _dataclass_plan(cls)
    value = dec(r)
    r.finish()
    return cast(T, value)


def decode_any(data: bytes) -> object:
    """Decode a top-level value whose type is given by its tag."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    r = Reader(bytes(data))
    tag = r.uvarint()
    cls = _BY_TAG.get(tag)
    if cls is None:
        raise DecodeError(f"unknown type tag {tag}")
    _, dec = _dataclass_plan(cls)
    value: object = dec(r)
    r.finish()
    return value


def registered_types() -> dict[int, type]:
    return dict(_BY_TAG)
