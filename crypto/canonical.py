"""Canonical JSON (RFC 8785, JCS) for the value types statements allow.

Statements carry strings, integers, booleans, null, arrays and objects, never
floats. ``canonical_bytes`` is the one encoder for everything that is signed or
hashed; ``parse`` is the strict reader for everything that arrives from outside.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_SAFE_INT = 2**53 - 1  # RFC 8785 section 3.2.2.3 / I-JSON: integers an IEEE double holds exactly


class CanonicalError(ValueError):
    """The value or text is not canonical-JSON material (float, duplicate key, ...)."""


# JSON string escaping per RFC 8785 section 3.2.2.2: only '"', '\\' and the
# C0 controls are escaped, with the short forms where JSON has them.
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _SHORT.get(ch) or f"\\u{ord(ch):04x}"


def _utf16_key(key: str) -> bytes:
    # JCS orders object members by UTF-16 code units, not code points: a
    # character above U+FFFF sorts by its high surrogate (0xD8xx), before U+E000.
    return key.encode("utf-16-be")


def _string(s: str, out: list[str]) -> None:
    if not s.isascii() and _LONE_SURROGATE.search(s):  # ASCII (most of a log) cannot hold one
        raise CanonicalError("string holds a lone surrogate")
    out.append('"')
    out.append(_NEEDS_ESCAPE.sub(_escape, s))
    out.append('"')


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > 64:
        raise CanonicalError("nesting deeper than 64 levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise CanonicalError(f"integer {value} outside ±(2^53-1)")
        out.append(str(int(value)))
    elif isinstance(value, str):
        _string(value, out)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        keys = list(value)
        ascii_only = True
        for k in keys:
            if not isinstance(k, str):
                raise CanonicalError(f"object key {k!r} is not a string")
            if not k.isascii():
                ascii_only = False
                if _LONE_SURROGATE.search(k):  # before sorting: utf-16 cannot encode it
                    raise CanonicalError("key holds a lone surrogate")
        # For ASCII keys code point order is UTF-16 order: skip the re-encoding.
        for i, k in enumerate(sorted(keys) if ascii_only else sorted(keys, key=_utf16_key)):
            if i:
                out.append(",")
            _string(k, out)
            out.append(":")
            _encode(value[k], out, depth + 1)
        out.append("}")
    elif isinstance(value, float):
        raise CanonicalError(f"float {value!r} not allowed: statements carry integers only")
    else:
        raise CanonicalError(f"type {type(value).__name__} has no canonical JSON form")


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``. Raises CanonicalError for floats, integers
    outside ±(2^53-1), non-string keys, lone surrogates, or other types."""
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out).encode("utf-8")


def _no_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer: floats are not allowed")


def _no_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


def _int(text: str) -> int:
    # Before int(): a number of thousands of digits would hit Python's digit
    # limit (a ValueError, not a JSON error) or cost quadratic time. 2^53-1
    # has 16 digits, so anything longer is outside the range anyway.
    if len(text) > 17 or len(text.lstrip("-")) > 16:
        raise CanonicalError(f"integer of {len(text.lstrip('-'))} digits outside ±(2^53-1)")
    return int(text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        if k in obj:
            raise CanonicalError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def _check(value: Any) -> None:
    # Iterative walk: the stdlib decoder already bounds depth by recursion.
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if _LONE_SURROGATE.search(v):
                raise CanonicalError("string holds a lone surrogate")
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int):
            if not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                raise CanonicalError(f"integer {v} outside ±(2^53-1)")
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, item in v.items():
                if _LONE_SURROGATE.search(k):
                    raise CanonicalError("key holds a lone surrogate")
                stack.append(item)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=_no_float, parse_int=_int, parse_constant=_no_constant, strict=True
)


def parse(data: bytes | str) -> Any:
    """Strictly parse one JSON value. Refuses floats (``1.0``, ``1e3``),
    duplicate keys, integers outside ±(2^53-1), lone surrogates (raw or
    ``\\ud800`` escapes), NaN/Infinity, invalid UTF-8 and trailing data.
    Leading and trailing whitespace is allowed; use ``parse_canonical`` to
    demand the exact canonical form."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CanonicalError(f"invalid UTF-8 at byte {e.start}") from None
    else:
        text = data
    try:
        value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    except CanonicalError:
        raise
    except json.JSONDecodeError as e:
        raise CanonicalError(f"invalid JSON: {e.msg} at position {e.pos}") from None
    except RecursionError:
        raise CanonicalError("nesting too deep") from None
    if _skip_ws(text, end) != len(text):
        raise CanonicalError(f"trailing data at position {end}")
    _check(value)
    return value


def parse_canonical(data: bytes) -> Any:
    """Parse ``data`` and require that it is exactly the canonical encoding of its value."""
    value = parse(data)
    if canonical_bytes(value) != bytes(data):
        raise CanonicalError("bytes are valid JSON but not in canonical form")
    return value


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n\r":
        i += 1
    return i


def join_members(members: dict[str, bytes]) -> bytes:
    """Canonical bytes of an object whose member values are already canonical
    bytes: lets a caller wrap a large canonical value (a statement inside its
    log entry) without encoding it twice. Same ordering rule as ``canonical_bytes``."""
    parts = []
    for k in sorted(members, key=_utf16_key):
        out: list[str] = []
        _string(k, out)
        parts.append("".join(out).encode("utf-8") + b":" + members[k])
    return b"{" + b",".join(parts) + b"}"
