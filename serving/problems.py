"""Problem codes as HTTP: the one table from code to status, and the
RFC 9457 ``application/problem+json`` body (docs/SPEC.md section 9).

The ballot box raises precise exceptions that know nothing of HTTP (their
``code`` is a rule of docs/SPEC.md section 4); this module alone decides what
status each code travels with, so that a new rule without a status fails the
test that walks ``ballots.errors.ALL_REFUSALS`` instead of shipping a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aiohttp import web

from ballots import errors as E
from ballots.statements import Malformed
from crypto.canonical import CanonicalError

PROBLEM_BASE = "https://liquid-mandate.org/problems/"
MAX_BODY = 64 * 1024  # one statement; the largest honest one (a result with a big roster) fits

# code -> HTTP status. 403: the author may not do this (signature, role);
# 409: it conflicts with what the log already holds (seq, ids, state of a
# motion); 422: well-formed but refers to something wrong or missing.
STATUS: Mapping[str, int] = MappingProxyType(
    {
        # docs/SPEC.md section 4, the rules of acceptance
        "bad_signature": 403,
        "not_genesis": 409,
        "already_founded": 409,
        "wrong_server": 422,
        "wrong_assembly": 422,
        "replayed_seq": 409,
        "not_organizer": 403,
        "not_server": 403,
        "not_member": 403,
        "duplicate_invite": 409,
        "unknown_invite": 422,
        "invite_used": 409,
        "already_member": 409,
        "unknown_member": 422,
        "duplicate_topic": 409,
        "unknown_topic": 422,
        "duplicate_motion": 409,
        "unknown_motion": 422,
        "bad_window": 422,
        "bad_roster": 422,
        "self_delegation": 422,
        "motion_not_open": 409,
        "motion_closed": 409,
        "too_early": 409,
        "bad_result": 422,
        "not_instructed": 422,
        "duplicate_draw": 409,
        "unknown_draw": 422,
        "draw_not_open": 409,
        "draw_closed": 409,
        "draw_opened": 409,
        "bad_drawn": 422,
        "bad_witnesses": 422,
        "quorum_not_majority": 422,
        # docs/SPEC.md section 15, deliberation
        "unknown_proposal": 422,
        "duplicate_proposal": 409,
        "proposal_not_ready": 409,
        "proposal_adopted": 409,
        "bad_reply": 422,
        "unknown_comment": 422,
        "already_redacted": 409,
        "not_redactor": 403,
        "bad_text_length": 422,
        "text_hash_mismatch": 422,
        "rate_limited": 429,  # the server's policy (SPEC 15.3): try again later
        "bad_commit": 422,
        "bad_reveal": 422,
        "name_taken": 409,  # server policy (ballots.policy), not a rule of the log
        "refused": 422,  # a Refused without a rule of its own
        # docs/SPEC.md section 9, the HTTP API's own codes
        "malformed": 400,
        "bad_request": 400,
        "not_found": 404,
        "not_founded": 404,
        "not_witnessed": 404,
        "method_not_allowed": 405,
        "timeout": 408,
        "too_large": 413,
        "unsupported_media_type": 415,
        "internal": 500,
        "loading": 503,  # the box is still loading at start-up (serving.startup): retry after Retry-After
    }
)


class Problem(Exception):
    """An HTTP-level failure (not found, bad query, ...): a code of ``STATUS``
    and a detail for the human reading the problem+json."""

    def __init__(self, code: str, detail: str) -> None:
        if code not in STATUS:
            raise KeyError(f"no HTTP status for problem code {code!r}")
        super().__init__(detail)
        self.code, self.detail = code, detail


# What the error middleware turns into problem+json; anything else is a 500.
# (BoxError: both of the box's families, malformed and refused.)
KNOWN: tuple[type[BaseException], ...] = (
    E.BoxError,
    CanonicalError,
    Problem,
    web.HTTPRequestEntityTooLarge,
    web.HTTPNotFound,
    web.HTTPMethodNotAllowed,
)


def problem_for(exc: BaseException) -> tuple[int, str, str, str]:
    """(status, code, title, detail) of one of the ``KNOWN`` exceptions.
    Raises TypeError for any other."""
    match exc:
        case E.Refused():
            return STATUS[exc.code], exc.code, (exc.__doc__ or exc.code).strip(), exc.detail
        case Malformed():
            return STATUS["malformed"], "malformed", "The statement is malformed.", str(exc)
        case CanonicalError():
            return STATUS["malformed"], "malformed", "The body is not strict JSON.", str(exc)
        case Problem():
            return STATUS[exc.code], exc.code, exc.code.replace("_", " ").capitalize() + ".", exc.detail
        case web.HTTPRequestEntityTooLarge():
            return STATUS["too_large"], "too_large", "The request body is too large.", f"at most {MAX_BODY} bytes"
        case web.HTTPNotFound():
            return STATUS["not_found"], "not_found", "No such resource.", "no route matches this path"
        case web.HTTPMethodNotAllowed():
            return STATUS["method_not_allowed"], "method_not_allowed", "Method not allowed.", str(exc.reason)
    raise TypeError(type(exc).__name__)


def _response(status: int, code: str, title: str, detail: str) -> web.Response:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


def problem_response(exc: BaseException) -> web.Response:
    """The problem+json answer to one of the ``KNOWN`` exceptions (with
    ``Allow`` on a 405, as RFC 9110 asks)."""
    resp = _response(*problem_for(exc))
    allowed = getattr(exc, "allowed", None)
    if isinstance(allowed, list):
        resp.headers["Allow"] = ", ".join(allowed)
    elif isinstance(exc, web.HTTPMethodNotAllowed):
        resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    return resp


def problem_of(code: str, detail: str) -> web.Response:
    """The problem+json answer for ``code`` (a key of ``STATUS``)."""
    return problem_response(Problem(code, detail))


def internal_error() -> web.Response:
    """The answer to a failure we did not foresee (logged by the caller)."""
    return _response(STATUS["internal"], "internal", "Internal error.", "the server failed; nothing was written")
