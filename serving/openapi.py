"""The OpenAPI 3.1 document of the HTTP API, built from the server's route
table so that it cannot miss a route."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
SIGNED = {
    "type": "object",
    "required": ["statement", "signature"],
    "additionalProperties": False,
    "properties": {
        "statement": {"type": "object"},
        "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
        # A comment's words travel beside its envelope, never in it (docs/SPEC.md 15.2).
        "text": {"type": "string", "minLength": 1},
        "salt": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
}
RECEIPT = {
    "type": "object",
    "required": ["index", "entry_hash", "entry", "checkpoint", "proof"],
    "properties": {
        "index": {"type": "integer"},
        "entry_hash": {"type": "string"},
        "entry": {"type": "object"},
        "checkpoint": {"type": "string"},
        "proof": {"type": "array", "items": {"type": "string"}},
    },
}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TIME_OR_NULL = {"type": ["number", "null"], "description": "POSIX seconds"}
# GET /api/witnesses (docs/SPEC.md section 9, "Witnesses"):
# the submitter's state per witness, the policy in force's first.
WITNESS_STATE = {
    "type": "object",
    "required": ["name", "key", "url", "current", "earlier_policies", "lotteries"],
    "properties": {
        "name": {"type": "string"},
        "key": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "url": {"type": "string"},
        "cosigned_size": _INT_OR_NULL,
        "witness_size": _INT_OR_NULL,
        "last_ok_at": _TIME_OR_NULL,
        "last_error": {"type": ["string", "null"]},
        "last_error_at": _TIME_OR_NULL,
        "consecutive_failures": {"type": "integer"},
        "submissions_ok": {"type": "integer"},
        "submissions_failed": {"type": "integer"},
        "blocked": {"type": "boolean"},
        "current": {"type": "boolean", "description": "a cosigner of the policy in force"},
        "earlier_policies": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "indexes of the earlier `witnesses` entries listing this witness that still "
            "govern a motion or draw whose close is not witnessed yet (docs/SPEC.md 14.2)",
        },
        "lotteries": {
            "type": "array",
            "items": {"type": "string"},
            "description": "those motions and draws (`motion:<id>`, `draw:<id>`)",
        },
    },
}
WITNESSES = {
    "type": "object",
    "required": ["policy", "allowed_hosts", "size", "witnesses"],
    "properties": {
        "policy": {"type": ["object", "null"]},
        "allowed_hosts": {"type": ["array", "null"], "items": {"type": "string"}},
        "size": {"type": "integer"},
        "witnesses": {"type": "array", "items": WITNESS_STATE},
    },
}
# Every path but /healthz, until the box has loaded at start-up (docs/SPEC.md
# section 9, "Start-up"; serving/startup.py): the server listens first.
LOADING = {
    "description": "the server is still loading its state at start-up (problem `loading`): retry after Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": {"application/problem+json": {"schema": PROBLEM}},
}
QUERY = {
    "/api/log": [("from", False), ("limit", False)],
    "/api/proof/inclusion": [("index", True), ("size", False)],
    "/api/proof/consistency": [("from", True), ("to", False)],
    "/api/motions": [("state", False)],
    "/api/checkpoints": [("size", False), ("covering", False), ("from", False), ("limit", False)],
    "/api/graph": [("scope", False)],
    "/api/texts": [("from", False), ("limit", False)],
    "/api/motions/{id}/comments": [("stance", False), ("offset", False), ("limit", False)],
    "/api/proposals/{id}/comments": [("stance", False), ("offset", False), ("limit", False)],
    "/api/members/{key}/comments": [("limit", False)],
    "/api/graph/summary": [("scope", False), ("top", False)],
    "/api/delegates": [("q", False), ("exclude", False), ("limit", False), ("scope", False)],
    "/api/invites": [("after", False), ("limit", False)],
    "/api/members/{key}/feed.atom": [("lang", False)],
    "/api/members": [("after", False), ("limit", False), ("keys", False)],
}
# The response fields with a schema (the rest is docs/SPEC.md section 9).
AS_OF = {
    "type": ["integer", "null"],
    "description": "the index of the `close` entry a closed motion's answer is as of; null: as the log stands now",
}
RESPONSES: dict[str, dict[str, Any]] = {
    path: {
        "type": "object",
        "required": ["scope", "as_of"],
        "properties": {"scope": {"type": "string"}, "as_of": AS_OF},
    }
    for path in ("/api/graph", "/api/graph/summary")
}
RESPONSES["/api/members/{key}/motions/{id}"] = {"type": "object", "required": ["as_of"], "properties": {"as_of": AS_OF}}
RESPONSES["/api/witnesses"] = WITNESSES
STRING_PARAMS = {"state", "scope", "stance", "q", "exclude", "lang", "keys"}
MEDIA = {
    "/api/log": "application/jsonl",
    "/api/texts": "application/jsonl",
    "/api/checkpoint": "text/plain",
    "/api/checkpoints": "text/plain",
    "/metrics": "text/plain",
    "/api/events": "text/event-stream",
    "/api/members/{key}/feed.atom": "application/atom+xml",
}


def _operation(method: str, path: str, handler: Callable[..., Any], summary: str) -> dict[str, Any]:
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in re.findall(r"{(\w+)}", path)
    ]
    params += [
        {
            "name": n,
            "in": "query",
            "required": req,
            "schema": {"type": "string" if n in STRING_PARAMS else "integer"},
        }
        for n, req in QUERY.get(path, [])
    ]
    media = MEDIA.get(path, "application/json")
    ok = "201" if method == "POST" else "200"
    op: dict[str, Any] = {
        "operationId": handler.__name__,
        "summary": summary,
        "responses": {
            ok: {
                "description": "success",
                "content": {media: {"schema": RECEIPT if method == "POST" else RESPONSES.get(path, {})}},
            },
            "4XX": {"description": "refused", "content": {"application/problem+json": {"schema": PROBLEM}}},
        },
    }
    if path != "/healthz":  # which answers from the first moment the server listens
        op["responses"]["503"] = LOADING
    if params:
        op["parameters"] = params
    if method == "POST":
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": SIGNED}}}
    return op


def openapi_document(routes: Sequence[tuple[str, str, Callable[..., Any], str]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler, summary in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, handler, summary)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Liquid Mandate",
            "version": "1",
            "description": "Liquid democracy with verifiable tallies. See docs/SPEC.md.",
        },
        "paths": paths,
    }
