"""Integers from the outside world (query strings, path segments): ASCII
decimal digits only, bounded in length before ``int()`` ever sees them
(docs/SPEC.md section 9).

``str.isdigit`` and ``int`` accept other scripts' digits (``"٣"``,
``"²"``), and ``int`` refuses more than 4,300 digits with a ValueError: both
used to end as a 500. Here they are a 400 ``bad_request``.
"""

from __future__ import annotations

import re

from serving.problems import Problem

MAX_DIGITS = 16  # 2^53 - 1 has 16 digits: every index or size of a log fits
_ASCII_DECIMAL = re.compile(r"[0-9]{1,16}\Z")


def ascii_int(raw: str, name: str) -> int:
    """The non-negative integer spelled ``raw`` in at most 16 ASCII digits.
    Raises Problem ``bad_request`` otherwise."""
    if not _ASCII_DECIMAL.match(raw):
        raise Problem("bad_request", f"{name} must be a non-negative integer of at most {MAX_DIGITS} ASCII digits")
    return int(raw)
