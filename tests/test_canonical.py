"""crypto/canonical.py: the RFC 8785 vectors, its two traps, every refusal of
``parse``, and hypothesis round trips."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import MAX_SAFE_INT, CanonicalError, canonical_bytes, parse, parse_canonical

JCS = Path(__file__).resolve().parent / "vectors" / "jcs"
NAMES = sorted(p.stem for p in (JCS / "input").glob("*.json"))
WITHOUT_FLOATS = [n for n in NAMES if n != "structures"]


def _pair(name: str) -> tuple[bytes, bytes]:
    return (JCS / "input" / f"{name}.json").read_bytes(), (JCS / "output" / f"{name}.json").read_bytes()


def test_vectors_are_there() -> None:
    assert {"arrays", "french", "structures", "unicode", "weird"} <= set(NAMES)


@pytest.mark.parametrize("name", WITHOUT_FLOATS)
def test_jcs_vector(name: str) -> None:
    given_bytes, want = _pair(name)
    value = parse(given_bytes)
    assert canonical_bytes(value) == want
    assert parse_canonical(want) == value


def test_weird_orders_keys_by_utf16_code_units() -> None:
    given_bytes, want = _pair("weird")
    value = parse(given_bytes)
    # Python's sort_keys orders by code point: U+FB33 before U+1F602. JCS orders
    # by UTF-16 code units, where U+1F602 is 0xD83D 0xDE02 and comes first.
    naive = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert naive != want
    assert canonical_bytes(value) == want
    keys = list(json.loads(want))
    assert keys.index("\U0001f602") < keys.index("\ufb33")


def test_structures_float_is_refused_though_jcs_would_write_56() -> None:
    given_bytes, want = _pair("structures")
    assert b"56.0" in given_bytes
    with pytest.raises(CanonicalError, match="56.0 is not an integer"):
        parse(given_bytes)
    with pytest.raises(CanonicalError, match="float 56.0 not allowed"):
        canonical_bytes(json.loads(given_bytes))
    # With the float read as the integer JCS turns it into, the rest matches.
    assert canonical_bytes(json.loads(given_bytes, parse_float=lambda s: int(float(s)))) == want


@pytest.mark.parametrize(
    "data,match",
    [
        (b"1.0", "number 1.0 is not an integer"),
        (b"-0.0", "is not an integer"),
        (b"1e3", "number 1e3 is not an integer"),
        (b"1E+3", "is not an integer"),
        (b'{"a":[0.5]}', "is not an integer"),
        (b'{"a":1,"a":2}', "duplicate key 'a'"),
        (b'{"x":{"b":1,"b":1}}', "duplicate key 'b'"),
        (str(MAX_SAFE_INT + 1).encode(), "outside"),
        (str(-MAX_SAFE_INT - 1).encode(), "outside"),
        (b"[" + str(2**64).encode() + b"]", "outside"),
        (b'"\\ud800"', "lone surrogate"),
        (b'"a\\udc00b"', "lone surrogate"),
        (b'{"\\ud83d":1}', "lone surrogate"),
        (b'"\xed\xa0\x80"', "invalid UTF-8"),  # a raw surrogate encoded in "UTF-8"
        ('"\ud800"', "lone surrogate"),  # a raw lone surrogate in a str
        (b"{} x", "trailing data"),
        (b"1 2", "trailing data"),
        (b'{"a":1}{}', "trailing data"),
        (b'"\xff"', "invalid UTF-8 at byte 1"),
        (b'"\xc3"', "invalid UTF-8"),
        (b"NaN", "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b"-Infinity", "is not JSON"),
        (b"01", "trailing data|invalid JSON"),
        (b'"tab\there"', "invalid JSON"),  # a raw control character in a string
        (b"", "invalid JSON"),
        (b"[1,]", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "too deep|deeper"),
    ],
)
def test_parse_refusals(data: bytes | str, match: str) -> None:
    with pytest.raises(CanonicalError, match=match):
        parse(data)


def test_parse_accepts_the_limits_and_whitespace() -> None:
    assert parse(f"[{MAX_SAFE_INT},{-MAX_SAFE_INT}]".encode()) == [MAX_SAFE_INT, -MAX_SAFE_INT]
    assert parse(b' \n{"a" : [ true , null ] }\r\n\t') == {"a": [True, None]}
    assert parse(b'"\\ud83d\\ude02"') == "\U0001f602"  # a surrogate pair is fine


@pytest.mark.parametrize(
    "data,match",
    [
        (b'{"b":1,"a":2}', "not in canonical form"),
        (b'{"a": 1}', "not in canonical form"),
        (b"-0", "not in canonical form"),
        (b'"\\u0041"', "not in canonical form"),
        (b"[1] ", "not in canonical form"),
    ],
)
def test_parse_canonical_demands_the_exact_bytes(data: bytes, match: str) -> None:
    parse(data)
    with pytest.raises(CanonicalError, match=match):
        parse_canonical(data)


@pytest.mark.parametrize(
    "value,match",
    [
        (1.5, "float 1.5 not allowed"),
        ({"a": [2.0]}, "float 2.0 not allowed"),
        (MAX_SAFE_INT + 1, "outside"),
        ({1: "x"}, "object key 1 is not a string"),
        ("\udfff", "lone surrogate"),
        ({"\ud800": 1}, "lone surrogate"),
        (b"bytes", "type bytes has no canonical JSON form"),
        ({1, 2}, "type set"),
    ],
)
def test_canonical_bytes_refusals(value: object, match: str) -> None:
    with pytest.raises(CanonicalError, match=match):
        canonical_bytes(value)


def test_escapes_and_literals() -> None:
    assert canonical_bytes(['\u0000\u001f\b\f\n\r\t"\\/\u007f\u2028']) == (
        b'["\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/\x7f\xe2\x80\xa8"]'
    )
    assert canonical_bytes([True, False, None, 0, -1, MAX_SAFE_INT]) == b"[true,false,null,0,-1,9007199254740991]"
    assert canonical_bytes(("a",)) == b'["a"]'


# --- Hypothesis: random JSON values without floats. ---

ints = st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
scalars = st.none() | st.booleans() | ints | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=30
)


def _same(a: object, b: object) -> bool:
    """Equality that tells True from 1, as canonical bytes do."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[union-attr,index]
    return a == b


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip_and_idempotence(value: object) -> None:
    data = canonical_bytes(value)
    back = parse(data)
    assert _same(back, value)
    assert canonical_bytes(back) == data
    assert _same(parse_canonical(data), value)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=8), st.randoms(use_true_random=False))
def test_key_order_does_not_matter(obj: dict, rnd: random.Random) -> None:
    items = list(obj.items())
    rnd.shuffle(items)
    assert canonical_bytes(dict(items)) == canonical_bytes(obj)


bmp_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)))
bmp_values = st.recursive(
    st.none() | st.booleans() | ints | bmp_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(bmp_text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(bmp_values)
def test_matches_the_stdlib_where_code_point_order_is_utf16_order(value: object) -> None:
    # Below U+10000 code points and UTF-16 code units order alike, and the
    # stdlib escapes exactly what RFC 8785 escapes, so it is a fair reference.
    want = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert canonical_bytes(value) == want
