"""The server's logs: plain text for a terminal, or JSON lines
(``--log-format json``) for a log collector, one object per record with
``time``, ``level``, ``logger``, ``message`` and any ``extra`` fields
(the access log adds ``client``, ``method``, ``path``, ``status``,
``ms``). The access log (``--access-log``) names the client by
``serving.client_address`` (docs/SPEC.md section 13.5)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from serving.client_address import client_address

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; nothing in a record breaks the line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False, default=str, separators=(",", ":"))


def setup_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Configure the root logger once, for ``server.py``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class AccessLogger(AbstractAccessLogger):
    """One line per request, naming the client as the rate limits do."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        client = client_address(request)
        self.logger.info(
            "%s %s %s %s %.1fms",
            client,
            request.method,
            request.path_qs,
            response.status,
            time * 1000,
            extra={
                "client": client,
                "method": request.method,
                "path": request.path_qs,
                "status": response.status,
                "ms": round(time * 1000, 3),
            },
        )
