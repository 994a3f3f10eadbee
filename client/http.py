"""A small synchronous client for the HTTP API of docs/SPEC.md section 9.

Standard library only (urllib), so that the command line runs anywhere the
crypto package does. Two failures matter to a caller: the server answered
with an error (``ServerError``, usually an RFC 9457 problem), or there was no
answer at all (``Unreachable``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

PROBLEM_PREFIX = "https://liquid-mandate.org/problems/"


class ServerError(Exception):
    """The server answered with an error status. ``code`` is the problem type's
    last segment (``replayed_seq``, ``motion_closed``...), or ``http_<status>``
    when the answer was not a problem document."""

    def __init__(self, status: int, title: str, detail: str, code: str) -> None:
        title = title.rstrip(".")
        super().__init__(f"{title}: {detail} ({code})" if detail else f"{title} ({code})")
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code

    def one_line(self) -> str:
        """The error on one readable line (newlines of the detail folded)."""
        return " ".join(str(self).split())


class Unreachable(Exception):
    """No HTTP answer: connection refused, DNS failure, timeout."""


class Client:
    """``Client("http://127.0.0.1:8080")``; every method raises ServerError or
    Unreachable."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = ""
        if params:
            query = "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.base_url + path + query

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        data = None
        headers = {"Accept": "application/json, application/problem+json, */*"}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url(path, params), data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            raw = err.read()
            err.close()
            raise _server_error(err.code, raw) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise Unreachable(f"cannot reach the server at {self.base_url}: {reason}") from None

    def get_json(self, path: str, **params: Any) -> Any:
        _, raw = self.request("GET", path, params=params)
        return _json(raw)

    def get_bytes(self, path: str, **params: Any) -> bytes:
        return self.request("GET", path, params=params)[1]

    def post_json(self, path: str, body: Any) -> Any:
        _, raw = self.request("POST", path, body=body)
        return _json(raw)

    # -- the calls the command line makes ------------------------------------

    def server(self) -> dict[str, Any]:
        return self.get_json("/api/server")

    def assembly(self) -> str:
        """The assembly id; ServerError ``not_founded`` when there is none yet."""
        info = self.server()
        if not info.get("assembly"):
            raise ServerError(409, "Not founded", "this server has no assembly yet; run `found` first", "not_founded")
        return str(info["assembly"])

    def last_seq(self, key: str) -> int:
        return int(self.get_json(f"/api/seq/{key}")["seq"])

    def post_statement(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST one signed statement; its receipt."""
        return self.post_json("/api/statements", envelope)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ServerError(502, "Bad answer", "the server's answer is not JSON", "bad_answer") from None


def _server_error(status: int, raw: bytes) -> ServerError:
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and ("type" in doc or "title" in doc):
        type_ = str(doc.get("type") or "about:blank")
        code = type_[len(PROBLEM_PREFIX) :] if type_.startswith(PROBLEM_PREFIX) else type_.rsplit("/", 1)[-1]
        return ServerError(
            status, str(doc.get("title") or f"HTTP {status}"), str(doc.get("detail") or ""), code or f"http_{status}"
        )
    text = raw.decode("utf-8", "replace").strip()[:200]
    return ServerError(status, f"HTTP {status}", text, f"http_{status}")
