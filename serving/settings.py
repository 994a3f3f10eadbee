"""The server's configuration: read once, from flags and the environment,
into one frozen ``Settings`` (flags win over ``LIQUID_MANDATE_*`` variables)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from serving.limits import Limits

_D = Limits()  # the documented defaults


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration, read once from flags and environment (``settings_from``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    db_url: str | None = None
    demo: str = "off"  # "off" | "always" | "if-empty"
    full_check: bool = False  # at start-up, check every entry's bytes, not only the stored hashes
    close_interval: float = 0.5
    target: str | None = None  # restore: the export, backup copy or URL; backup: DEST
    ignore_unreachable_witnesses: bool = False  # restore: go on when a policy witness cannot be asked
    # The hosts the server may post checkpoints to (docs/SPEC.md section 14); None: any.
    witness_hosts: tuple[str, ...] | None = None
    behind_proxy: bool = False  # the client's address is the last X-Forwarded-For entry (serving.client_address)
    log_format: str = "text"  # "text" | "json" (serving.logging_setup)
    access_log: bool = False  # one log line per request, naming the client
    verify_processes: int = 0  # signature checks in this many worker processes (0: inline, on the event loop)
    # At most (count, seconds) comments per member, the server's policy (docs/SPEC.md 15.3); None: no limit.
    comment_rate: tuple[int, int] | None = (6, 60)
    # The HTTP edge's limits (serving.limits, docs/SECURITY.md "HTTP edge").
    header_timeout: float = _D.header_timeout
    body_timeout: float = _D.body_timeout
    keepalive_timeout: float = _D.keepalive_timeout
    max_connections: int = _D.max_connections
    post_rate: float = _D.post_rate
    post_burst: int = _D.post_burst

    @property
    def limits(self) -> Limits:
        return Limits(
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            keepalive_timeout=self.keepalive_timeout,
            max_connections=self.max_connections,
            post_rate=self.post_rate,
            post_burst=self.post_burst,
        )

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite+aiosqlite:///{(self.data_dir / 'liquid-mandate.db').resolve()}"


_UINT = re.compile(r"[0-9]{1,9}\Z")
_UREAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?\Z")


def _count(text: str) -> int:
    """A non-negative integer in ASCII digits (``int`` would also take ``"٣"``)."""
    if not _UINT.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number in ASCII digits")
    return int(text)


def _seconds(text: str) -> float:
    """A non-negative decimal in ASCII digits (``float`` also takes ``"1e9"``, ``"nan"``, ``"٣"``)."""
    if not _UREAL.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number in ASCII digits")
    return float(text)


def settings_from(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> tuple[str, Settings]:
    """(command, settings) from the command line ``argv`` and ``environ``
    (default: ``sys.argv`` and ``os.environ``). The command is ``serve``,
    ``rebuild``, ``restore`` or ``backup``. Exits through argparse on a bad command line."""
    env = os.environ if environ is None else environ
    p = argparse.ArgumentParser(prog="server.py", description="Liquid Mandate server")
    p.add_argument("command", nargs="?", choices=["serve", "rebuild", "restore", "backup"], default="serve")
    p.add_argument(
        "target",
        nargs="?",
        help="restore: an export (log file), a backup copy or a server URL; backup: the copy to write",
    )
    p.add_argument(
        "--ignore-unreachable-witnesses",
        action="store_true",
        help="restore: go on when a witness of the policy cannot be asked the size it cosigned",
    )
    p.add_argument("--host", default=env.get("LIQUID_MANDATE_HOST", "127.0.0.1"))
    p.add_argument("--port", type=_count, default=env.get("LIQUID_MANDATE_PORT", "8080"))
    p.add_argument("--data-dir", type=Path, default=Path(env.get("LIQUID_MANDATE_DATA_DIR", "data")))
    p.add_argument(
        "--db-url",
        default=env.get("LIQUID_MANDATE_DB_URL"),
        help="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db (default: SQLite in the data dir)",
    )
    p.add_argument(
        "--full-check",
        action="store_true",
        default=env.get("LIQUID_MANDATE_FULL_CHECK") == "1",
        help="at start-up, re-hash every entry and check every prev link (O(n) bytes read)",
    )
    p.add_argument(
        "--witness-hosts",
        default=env.get("LIQUID_MANDATE_WITNESS_HOSTS"),
        metavar="HOST,HOST",
        help="the only hosts witness URLs may name (comma-separated; default: any host of the policy)",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        default=env.get("LIQUID_MANDATE_BEHIND_PROXY") == "1",
        help="behind a reverse proxy (deploy/): rate limits and logs take the client's address "
        "from the last X-Forwarded-For entry; never set it when clients reach the server directly",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=env.get("LIQUID_MANDATE_LOG_FORMAT", "text"),
        help="json: one JSON object per line, for a log collector",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        default=env.get("LIQUID_MANDATE_ACCESS_LOG") == "1",
        help="log one line per request with the client's address (off by default: addresses are personal data)",
    )
    p.add_argument(
        "--verify-processes",
        type=int,
        default=int(env.get("LIQUID_MANDATE_VERIFY_PROCESSES", "0")),
        help="check signatures in N worker processes beside the event loop; 0: inline",
    )
    p.add_argument(
        "--comment-rate",
        default=env.get("LIQUID_MANDATE_COMMENT_RATE", "6/60"),
        metavar="COUNT/SECONDS",
        help="at most COUNT comments per member in any SECONDS (default 6/60); off: no limit (docs/SPEC.md 15.3)",
    )
    edge = p.add_argument_group("HTTP edge limits (docs/SECURITY.md; 0 turns a rate or a cap off)")
    for flag, kind, default, what in (
        ("header-timeout", _seconds, _D.header_timeout, "seconds from a request's first byte to its last header"),
        ("body-timeout", _seconds, _D.body_timeout, "seconds to receive a whole request body"),
        ("keepalive-timeout", _seconds, _D.keepalive_timeout, "seconds an idle connection stays open"),
        ("max-connections", _count, _D.max_connections, "concurrent connections per client address"),
        ("post-rate", _seconds, _D.post_rate, "POSTs per second per client address, sustained"),
        ("post-burst", _count, _D.post_burst, "POSTs one client address may send back to back"),
    ):
        var = "LIQUID_MANDATE_" + flag.upper().replace("-", "_")
        # argparse runs ``type`` on a string default too, so a bad variable is refused like a bad flag.
        edge.add_argument(
            "--" + flag,
            type=kind,
            default=env.get(var, str(default)),
            metavar="N",
            help=f"{what} (default {default}; {var})",
        )
    demo = p.add_mutually_exclusive_group()
    demo.add_argument(
        "--demo",
        action="store_const",
        dest="demo",
        const="always",
        help="seed a demo assembly (the data directory must be empty)",
    )
    demo.add_argument(
        "--demo-if-empty",
        action="store_const",
        dest="demo",
        const="if-empty",
        help="seed the demo assembly only when the log is empty",
    )
    a = p.parse_intermixed_args(argv)  # restore --data-dir D SOURCE: options between the positionals
    if a.command in ("restore", "backup") and a.target is None:
        p.error(f"{a.command} needs a {'source' if a.command == 'restore' else 'destination'}")
    if a.command not in ("restore", "backup") and a.target is not None:
        p.error(f"unexpected argument {a.target!r}")
    hosts = (
        None if a.witness_hosts is None else tuple(h.strip().lower() for h in a.witness_hosts.split(",") if h.strip())
    )
    if a.verify_processes < 0:
        p.error("--verify-processes must be 0 or more")
    try:
        comment_rate = parse_comment_rate(a.comment_rate)
    except ValueError as e:
        p.error(str(e))
    return a.command, Settings(
        host=a.host,
        port=a.port,
        data_dir=a.data_dir,
        db_url=a.db_url,
        demo=a.demo or "off",
        full_check=a.full_check,
        target=a.target,
        ignore_unreachable_witnesses=a.ignore_unreachable_witnesses,
        witness_hosts=hosts,
        behind_proxy=a.behind_proxy,
        log_format=a.log_format,
        access_log=a.access_log,
        verify_processes=a.verify_processes,
        comment_rate=comment_rate,
        header_timeout=a.header_timeout,
        body_timeout=a.body_timeout,
        keepalive_timeout=a.keepalive_timeout,
        max_connections=a.max_connections,
        post_rate=a.post_rate,
        post_burst=a.post_burst,
    )


def parse_comment_rate(raw: str) -> tuple[int, int] | None:
    """``COUNT/SECONDS`` (both whole numbers, at least 1) or ``off``, as
    --comment-rate takes it (docs/SPEC.md 15.3). Raises ValueError saying
    what is wrong."""
    text = raw.strip().lower()
    if text == "off":
        return None
    count, sep, seconds = text.partition("/")
    if not sep or not count.isdigit() or not seconds.isdigit() or len(count) > 9 or len(seconds) > 9:
        raise ValueError(f"--comment-rate must be COUNT/SECONDS (like 6/60) or off, not {raw!r}")
    if int(count) < 1 or int(seconds) < 1:
        raise ValueError(f"--comment-rate needs a COUNT and SECONDS of at least 1 (or off), not {raw!r}")
    return int(count), int(seconds)
