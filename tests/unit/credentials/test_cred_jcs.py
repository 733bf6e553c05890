"""RFC 8785 (JCS) vectors: number serialization (3.2.2.3, Appendix B), the sample of
3.2.2 and the key sorting of 3.2.3; refusals of non-JSON values."""

from __future__ import annotations

import math
import struct

import pytest

from qos_identity.credentials.jcs import NotJson, canonicalize, loads, number_to_string

# RFC 8785 Appendix B: IEEE 754 bits -> ECMAScript string
NUMBERS = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize(("bits", "expected"), NUMBERS.items())
def test_rfc8785_numbers(bits: str, expected: str) -> None:
    (x,) = struct.unpack(">d", bytes.fromhex(bits))
    assert number_to_string(x) == expected


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinity_refused(bits: str) -> None:
    (x,) = struct.unpack(">d", bytes.fromhex(bits))
    with pytest.raises(NotJson):
        canonicalize([x])


def test_rfc8785_sample() -> None:
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(loads(text)).decode() == expected


def test_rfc8785_sorting_by_utf16_code_units() -> None:
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    out = canonicalize(obj).decode()
    keys = [v for v in obj.values()]
    order = sorted(keys, key=out.index)
    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    assert out.startswith('{"\\r":"Carriage Return","1":"One"')


def test_integers_and_literals() -> None:
    assert (
        canonicalize({"b": [1, -2, 0, 2**53], "a": None})
        == b'{"a":null,"b":[1,-2,0,9007199254740992]}'
    )
    assert canonicalize([1.0, -0.0, 100.0, 1e21]) == b"[1,0,100,1e+21]"


@pytest.mark.parametrize(
    "value",
    [{1: "x"}, {"a": {1, 2}}, [b"bytes"], [2**53 + 1], [math.nan], ["\ud800"], object()],
)
def test_non_json_values_refused(value: object) -> None:
    with pytest.raises(NotJson):
        canonicalize(value)


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', "[NaN]", "[Infinity]", "{", "[1,]"])
def test_strict_parse(text: str) -> None:
    with pytest.raises(NotJson):
        loads(text)


def test_deep_nesting_refused() -> None:
    v: object = []
    for _ in range(100):
        v = [v]
    with pytest.raises(NotJson, match="nesting"):
        canonicalize(v)
