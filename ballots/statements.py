"""The signed statements of docs/SPEC.md section 3: one typed value per kind, parsed
from and written to canonical JSON, with structural validation.

Only the rules that need no state live here (fields, types, hex lengths,
slugs, times, choices). The rules that need the log's state (membership, seq,
motion windows) belong to ``ballots.rules``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from ballots.errors import BadValue, Malformed, MissingField, UnknownField, WrongType
from crypto.canonical import MAX_SAFE_INT
from vocabulary import CHOICES as _CHOICES
from vocabulary import (
    LOTTERY_PREFIXES,
    MOTION_PREFIX,
    NO_QUORUM,
    PROPOSAL_PREFIX,
    SCOPE_ALL,
    SELF,
    TOPIC_PREFIX,
    VOTED,
    Kind,
    Method,
    Stance,
)

CHOICES = tuple(c.value for c in _CHOICES)
METHODS = tuple(m.value for m in Method)
MAX_STR = 10_000
MAX_LIST = 10_000


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\Z")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX128 = re.compile(r"[0-9a-f]{128}\Z")
# ASCII digits only: ``\d`` also matches other scripts' digits (Arabic-Indic,
# Devanagari, ...), which ``int()`` then reads (docs/SPEC.md section 3).
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z\Z")
MAX_NAME = 64  # code points of a member's name (docs/SPEC.md section 3)
URL_SCHEMES = ("https://", "http://")
# Cc (C0, DEL, C1) and the bidirectional controls that can disguise a name.
_NAME_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def parse_time(value: str) -> datetime:
    """An RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` as an aware datetime.
    Raises ValueError for anything else (offsets, leap seconds, bad dates)."""
    m = _TIME.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not a UTC time YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
    y, mo, d, h, mi, s, frac = m.groups()
    micro = int((frac or "0").ljust(6, "0"))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)


def format_time(t: datetime) -> str:
    """The log's `received` form: always six fractional digits, UTC, `Z`."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- field checkers: each returns the value or raises Malformed -------------

Check = Callable[[str, Any], Any]


def _url(empty: bool = True) -> Check:
    """A URL field: empty (where allowed) or an http(s) address (docs/SPEC.md
    section 3), never a `javascript:` or other scheme a page could follow."""
    text = _str(empty=empty)

    def check(name: str, v: Any) -> str:
        s: str = text(name, v)
        if s and not is_url(s):
            raise BadValue(name, "want an https:// or http:// URL")
        return s

    return check


def _str(empty: bool = False) -> Check:
    def check(name: str, v: Any) -> str:
        if not isinstance(v, str):
            raise WrongType(name, "want a string")
        if not empty and not v:
            raise BadValue(name, "must not be empty")
        if len(v) > MAX_STR:
            raise BadValue(name, f"has {len(v)} characters, at most {MAX_STR}")
        return v

    return check


def _int(lo: int, hi: int) -> Check:
    def check(name: str, v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise WrongType(name, "want an integer")
        if not lo <= v <= hi:
            raise BadValue(name, f"{v} not in {lo}..{hi}")
        return v

    return check


def _bool(name: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise WrongType(name, "want true or false")
    return v


def _key(name: str, v: Any) -> str:
    if not isinstance(v, str) or not _HEX64.match(v):
        raise BadValue(name, "want 64 lowercase hex digits")
    return v


def _slug(name: str, v: Any) -> str:
    if not isinstance(v, str) or not _SLUG.match(v):
        raise BadValue(name, "want a slug [a-z0-9][a-z0-9-]{0,63}")
    return v


def is_url(value: str) -> bool:
    """docs/SPEC.md section 3: a `url` is empty or starts with ``https://`` or
    ``http://`` (so no ``javascript:`` or ``data:`` link ever reaches a page).
    The one place that says which URLs a statement may carry (``_url`` reads
    it for every url field)."""
    return value == "" or value.startswith(URL_SCHEMES)


def _name(name: str, v: Any) -> str:
    """docs/SPEC.md section 3: a member's name, at most 64 code points, no
    control character (Cc) and no bidirectional control."""
    text: str = _str(empty=True)(name, v)
    if len(text) > MAX_NAME:
        raise BadValue(name, f"has {len(text)} characters, at most {MAX_NAME}")
    bad = _NAME_FORBIDDEN.search(text)
    if bad:
        raise BadValue(name, f"holds the control character U+{ord(bad.group(0)):04X}")
    return text


def _nullable(inner: Check) -> Check:
    return lambda name, v: None if v is None else inner(name, v)


def _time(name: str, v: Any) -> str:
    try:
        parse_time(v)
    except ValueError as e:
        raise BadValue(name, str(e)) from None
    return str(v)  # parse_time accepted it, so it is a str


def _motion_url(name: str, v: Any) -> str:
    """A motion's `url` may also be `proposal:<slug>`: the proposal it was
    turned from (docs/SPEC.md section 15; that the proposal exists is a rule
    of ``ballots.rules``)."""
    if isinstance(v, str) and v.startswith(PROPOSAL_PREFIX):
        _slug(name, v[len(PROPOSAL_PREFIX) :])
        return v
    url: str = _url()(name, v)
    return url


def _one_of(*allowed: Any) -> Check:
    def check(name: str, v: Any) -> Any:
        if v not in allowed or isinstance(v, bool):
            raise BadValue(name, f"want one of {', '.join(map(repr, allowed))}")
        return v

    return check


def _keys(name: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or len(v) > MAX_LIST:
        raise WrongType(name, f"want a list of at most {MAX_LIST} keys")
    return tuple(_key(f"{name}[{i}]", k) for i, k in enumerate(v))


def _object(spec: dict[str, Check]) -> Check:
    def check(name: str, v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise WrongType(name, "want an object")
        _exact_keys(name, v, spec)
        return {k: c(f"{name}.{k}", v[k]) for k, c in spec.items()}

    return check


def _scope(name: str, v: Any) -> str:
    if v == SCOPE_ALL:
        return SCOPE_ALL
    if isinstance(v, str) and v.startswith((TOPIC_PREFIX, MOTION_PREFIX)):
        _slug(name, v.split(":", 1)[1])
        return v
    raise BadValue(name, "want '*', 'topic:<slug>' or 'motion:<slug>'")


def _lottery(name: str, v: Any) -> str:
    """A lottery's name: `motion:<slug>` or `draw:<slug>` (SPEC section 16)."""
    if isinstance(v, str) and v.startswith(LOTTERY_PREFIXES):
        _slug(name, v.split(":", 1)[1])
        return v
    raise BadValue(name, "want 'motion:<slug>' or 'draw:<slug>'")


def _target(name: str, v: Any) -> str | None:
    if v is None:
        return None
    if v == SELF:
        return SELF
    return _key(name, v)


def _instructions(name: str, v: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(v, list) or len(v) > MAX_LIST:
        raise WrongType(name, "want a list of instructions")
    spec = {"deputy": _key, "choice": _one_of(*CHOICES)}
    return tuple(_object(spec)(f"{name}[{i}]", x) for i, x in enumerate(v))


def _cosigners(name: str, v: Any) -> tuple[dict[str, str], ...]:
    """A `witnesses` statement's list of {name, key, url}: the form only; the
    names, distinctness and URLs are rules (``ballots.rules``, SPEC 4)."""
    if not isinstance(v, list) or len(v) > MAX_LIST:
        raise WrongType(name, f"want a list of at most {MAX_LIST} cosigners")
    spec = {"name": _str(), "key": _key, "url": _str()}
    return tuple(_object(spec)(f"{name}[{i}]", x) for i, x in enumerate(v))


def _exact_keys(name: str, obj: dict[str, Any], spec: dict[str, Any]) -> None:
    missing = [k for k in spec if k not in obj]
    if missing:
        raise MissingField(name, f"missing field {missing[0]!r}")
    unknown = sorted(k for k in obj if k not in spec)
    if unknown:
        raise UnknownField(name, f"unknown field {unknown[0]!r}")


_COUNT = _int(0, MAX_SAFE_INT)
HEADER: dict[str, Check] = {
    "v": _one_of(1),
    "assembly": lambda n, v: v if v == "" else _key(n, v),
    "kind": _one_of(*Kind),
    "author": _key,
    "seq": _int(1, MAX_SAFE_INT),
}

BODIES: dict[Kind, dict[str, Check]] = {
    Kind.ASSEMBLY: {
        "name": _str(),
        "organizers": _keys,
        "server": _key,
        "rules": _object(
            {"method": _one_of(*METHODS), "quorum": _int(0, 100), "no_quorum": _one_of(*(c.value for c in NO_QUORUM))}
        ),
    },
    Kind.INVITE: {"code_hash": _key, "note": _str(empty=True)},
    Kind.ENROLL: {"code": _str(), "name": _name},
    Kind.EXPEL: {"member": _key, "reason": _str()},
    Kind.TOPIC: {"id": _slug, "title": _str(), "description": _str(empty=True), "parent": _nullable(_slug)},
    Kind.MOTION: {
        "id": _slug,
        "topic": _slug,
        "title": _str(),
        "summary": _str(),
        "url": _motion_url,
        "opens": _time,
        "closes": _time,
        "quorum": _nullable(_int(0, 100)),
    },
    Kind.DEPUTIES: {"roster": _keys},
    Kind.DELEGATE: {"scope": _scope, "to": _target},
    Kind.BALLOT: {"motion": _slug, "choice": _nullable(_one_of(*CHOICES))},
    Kind.CLOSE: {"motion": _slug, "reveal": _key},
    # Deliberation (docs/SPEC.md section 15)
    Kind.COMMENT: {
        "motion": _nullable(_slug),
        "proposal": _nullable(_slug),
        "stance": _one_of(*(s.value for s in Stance)),
        "reply_to": _nullable(_int(0, MAX_SAFE_INT)),
        "text_hash": _key,
    },
    Kind.REDACT: {"entry": _int(0, MAX_SAFE_INT), "reason": _str()},
    Kind.PROPOSAL: {
        "id": _slug,
        "topic": _slug,
        "title": _str(),
        "summary": _str(),
        "url": _url(),
        "amends": _nullable(_slug),
    },
    Kind.SUPPORT: {"proposal": _slug, "on": _bool},
    Kind.RESULT: {
        "motion": _slug,
        "close": _key,
        "seed": _key,
        "members": _COUNT,
        "yes": _COUNT,
        "no": _COUNT,
        "abstain": _COUNT,
        "direct": _COUNT,
        "delegated": _COUNT,
        "dead_end": _COUNT,
        "cycle": _COUNT,
        "absent": _COUNT,
        "quorum": _object({"required": _int(0, 100), "met": _bool}),
        "method": _one_of(*METHODS),
        "seats": _object({"yes": _COUNT, "no": _COUNT, "abstain": _COUNT}),
        "instructions": _instructions,
    },
    Kind.REPORT: {"motion": _slug, "voted": _one_of(*VOTED), "source": _url(), "note": _str(empty=True)},
    Kind.RECORD: {"motion": _slug, "deputy": _key, "voted": _one_of(*VOTED), "source": _url(empty=False)},
    Kind.DRAW: {
        "id": _slug,
        "title": _str(),
        "seats": _int(1, MAX_LIST),
        "opens": _time,
        "closes": _time,
        "certified": _bool,
    },
    Kind.VOLUNTEER: {"draw": _slug, "standing": _bool},
    Kind.CERTIFY: {"draw": _slug, "member": _key},
    Kind.DRAWN: {"draw": _slug, "reveal": _key, "seed": _key, "pool": _COUNT, "chosen": _keys},
    Kind.WITNESSES: {"cosigners": _cosigners, "quorum": _COUNT, "grace": _int(1, 60)},
    Kind.COMMIT: {"lottery": _lottery, "hash": _key},
}


@dataclass(frozen=True, slots=True)
class Statement:
    """A structurally valid statement. ``body`` holds the kind's own fields,
    checked; ``raw`` is the statement object exactly as signed."""

    v: int
    assembly: str
    kind: Kind
    author: str
    seq: int
    body: dict[str, Any]
    raw: dict[str, Any]

    def __getitem__(self, field: str) -> Any:
        return self.body[field]


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed envelope whose statement is structurally valid."""

    statement: Statement
    signature: str

    ENVELOPE: ClassVar[tuple[str, ...]] = ("statement", "signature")

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement.raw, "signature": self.signature}


def parse_statement(obj: Any) -> Statement:
    """Check one statement object. Raises Malformed naming the first bad field."""
    if not isinstance(obj, dict):
        raise WrongType("statement", "want an object")
    for name, check in HEADER.items():
        if name not in obj:
            raise MissingField("statement", f"missing field {name!r}")
        check(name, obj[name])
    kind = Kind(obj["kind"])
    body_spec = BODIES[kind]
    _exact_keys("statement", obj, {**HEADER, **body_spec})
    if (obj["assembly"] == "") != (kind is Kind.ASSEMBLY):
        raise BadValue("assembly", "is '' in the genesis statement only")
    body = {name: check(name, obj[name]) for name, check in body_spec.items()}
    if kind is Kind.ASSEMBLY:
        _check_organizers(obj["author"], body["organizers"])
    if kind is Kind.COMMENT and (body["motion"] is None) == (body["proposal"] is None):
        raise BadValue("motion", "a comment names exactly one of motion and proposal, the other null")
    return Statement(obj["v"], obj["assembly"], kind, obj["author"], obj["seq"], body, obj)


def _check_organizers(author: str, organizers: tuple[str, ...]) -> None:
    if not organizers:
        raise BadValue("organizers", "must not be empty")
    if len(set(organizers)) != len(organizers):
        raise BadValue("organizers", "lists a key twice")
    if author not in organizers:
        raise BadValue("organizers", "must include the founding author")


def parse_signed(obj: Any) -> Signed:
    """Check a signed envelope ``{"statement", "signature"}`` (structure only:
    the signature itself is checked by the ballot box)."""
    if not isinstance(obj, dict):
        raise WrongType("envelope", "want an object")
    _exact_keys("envelope", obj, dict.fromkeys(Signed.ENVELOPE))
    sig = obj["signature"]
    if not isinstance(sig, str) or not _HEX128.match(sig):
        raise BadValue("signature", "want 128 lowercase hex digits")
    return Signed(parse_statement(obj["statement"]), sig)


__all__ = [
    "CHOICES",
    "METHODS",
    "Kind",
    "BadValue",
    "Malformed",
    "MissingField",
    "UnknownField",
    "WrongType",
    "Signed",
    "Statement",
    "format_time",
    "is_url",
    "parse_signed",
    "parse_statement",
    "parse_time",
]
