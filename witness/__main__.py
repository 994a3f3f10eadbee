"""Command line of the witness (witness/README.md):

    python -m witness --data-dir DIR --port P --name NAME [--host H]
    python -m witness add-log --data-dir DIR ORIGIN KEYHEX
    python -m witness key --data-dir DIR
    python -m witness logs --data-dir DIR

Exit codes: 0 done, 2 bad arguments or a data directory that does not fit
(another name, an unreadable key); the message says which.
"""

from __future__ import annotations

import argparse
import base64
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from witness.app import create_app, key_lines
from witness.keys import DB_FILE, KeyFileError, load_key, load_or_create_key
from witness.store import StoreError, WitnessStore, parse_key_hex

COMMANDS = ("add-log", "key", "logs")


def _serve(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m witness", description="Run a C2SP tlog-witness.")
    p.add_argument("--data-dir", type=Path, required=True, help="key and state (created on first start)")
    p.add_argument("--name", required=True, help="the witness's key name, e.g. witness.example.org/w1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    args = p.parse_args(argv)
    key = load_or_create_key(args.data_dir)
    store = WitnessStore.open(args.data_dir / DB_FILE)
    try:
        name = store.init_name(args.name)
    except StoreError:
        store.close()
        raise
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("witness").info("witness %s key %s on http://%s:%d", name, key.public_hex, args.host, args.port)
    web.run_app(create_app(store, key, name), host=args.host, port=args.port, print=None, access_log=None)
    return 0


def _open_existing(data_dir: Path) -> WitnessStore:
    if not (data_dir / DB_FILE).exists():
        raise StoreError(f"{data_dir / DB_FILE} does not exist: start the witness once with --name")
    return WitnessStore.open(data_dir / DB_FILE)


def _command(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m witness")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-log", help="accept checkpoints of a log")
    add.add_argument("--data-dir", type=Path, required=True)
    add.add_argument("origin", help="the log's origin, which is also its signed-note key name")
    add.add_argument("key_hex", metavar="KEYHEX", help="the log's Ed25519 public key, 64 hex digits")
    k = sub.add_parser("key", help="print NAME KEYHEX, then the C2SP verifier key")
    k.add_argument("--data-dir", type=Path, required=True)
    ls = sub.add_parser("logs", help="list the accepted logs and the latest size cosigned for each")
    ls.add_argument("--data-dir", type=Path, required=True)
    args = p.parse_args(argv)
    if args.command == "add-log":
        key = parse_key_hex(args.key_hex)
        store = WitnessStore.open(args.data_dir / DB_FILE) if args.data_dir.is_dir() else _open_existing(args.data_dir)
        try:
            added = store.add_log(args.origin, key)
        finally:
            store.close()
        print(f"{'added' if added else 'already accepted'}: {args.origin} {args.key_hex}")
        return 0
    store = _open_existing(args.data_dir)
    try:
        if args.command == "key":
            name = store.name()
            if name is None:
                raise StoreError("the witness has no name yet: start it once with --name")
            sys.stdout.write(key_lines(name, load_key(args.data_dir)))
        else:
            for origin, key, latest in store.logs():
                size = "-" if latest is None else f"{latest.size} {base64.b64encode(latest.root).decode()}"
                print(f"{origin} {key.hex()} {size}")
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return _command(argv)
        return _serve(argv)
    except (StoreError, KeyFileError) as e:
        print(f"witness: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
