"""`liquid-mandate`: the command line for members and organizers.

It holds the member's key (a seed file that never leaves the machine), signs
statements with it, and talks to a server only through the HTTP API of
docs/SPEC.md section 9. Every receipt the server returns is kept in the
receipts directory as ``<index>.json``, ready for ``verify_cli.py --receipt``.

Exit status: 0 done; 1 the server refused or answered with an error, or a
local problem (key file, arguments the server would refuse); 2 the server
could not be reached, or the command line itself is wrong (argparse).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from ballots.state import assembly_id, code_hash
from ballots.statements import format_time
from client import debate, rollcall
from client.author import Author, new_code
from client.backup import BackupError, is_backup, make_backup, open_backup
from client.http import Client, ServerError, Unreachable
from crypto.checkpoint import split_notes
from crypto.signing import KeyPair

DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_RECEIPTS = "receipts"
EXPORT_PAGE = 1000
# What lives beside an exported log, in sibling files named after it
# (docs/SPEC.md section 13): suffix -> the route that serves the same bytes.
# A server without a route (404, or 400 for one that wants parameters) has
# nothing of that part, and any stale sibling of an earlier export goes.
EXPORT_SIBLINGS = {".texts.jsonl": "/api/texts", ".checkpoints": "/api/checkpoints"}
_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")
_SEED = re.compile(r"\b[0-9a-fA-F]{64}\b")
_RELATIVE = re.compile(r"([+-])((?:[0-9]+[smhdw])+)\Z")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class CliError(Exception):
    """A problem found before anything was sent (key file, time, ...)."""


# -- key files ------------------------------------------------------------------


def write_key_file(path: Path, key: KeyPair) -> None:
    """Write ``key``'s seed to a new file of mode 0600. Raises CliError if the
    file exists: a key file is never overwritten (the old key would be lost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f"# liquid-mandate Ed25519 private seed: keep it secret, keep a copy.\n"
        f"# public key {key.public_hex}\n{key.seed.hex()}\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} already exists; refusing to overwrite a key") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


PASSPHRASE_ENV = "LIQUID_MANDATE_PASSPHRASE"


def passphrase(prompt: str, *, twice: bool = False) -> str:
    """The passphrase of a key backup: $LIQUID_MANDATE_PASSPHRASE (for
    scripts), else asked on the terminal without echo (twice for a new one)."""
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        raise CliError(f"a passphrase is needed: set {PASSPHRASE_ENV} or run on a terminal")
    first = getpass.getpass(prompt)
    if twice and getpass.getpass("again: ") != first:
        raise CliError("the two passphrases differ")
    return first


def read_key_file(path: Path) -> KeyPair:
    """The key in a key file (docs/KEYS.md): a plain seed file (the first
    64-hex-digit word outside comment lines; a `# public key` comment must
    name the same key), or the web UI's encrypted backup, opened with
    passphrase(). Raises CliError when the file is missing or holds no key."""
    try:
        text = path.read_text("utf-8")
    except OSError as err:
        raise CliError(f"cannot read key file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a key file (not text)") from None
    if is_backup(text):
        try:
            return open_backup(text, passphrase(f"passphrase of {path}: "))
        except BackupError as e:
            raise CliError(f"{path}: {e}") from None
    said = re.search(r"^\s*#\s*public key\s+([0-9a-fA-F]{64})\s*$", text, re.M)
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _SEED.search(line)
        if m:
            key = KeyPair.from_seed_hex(m.group(0).lower())
            if said and said.group(1).lower() != key.public_hex:
                raise CliError(f"{path}: its comment names another public key than its seed's")
            return key
    raise CliError(f"{path} holds no 64-hex-digit seed")


def write_backup_file(path: Path, key: KeyPair, secret: str) -> None:
    """The key's encrypted backup (docs/KEYS.md) in a new file of mode 0600."""
    try:
        doc = make_backup(key, secret)
    except BackupError as e:
        raise CliError(str(e)) from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")


# -- argument types -------------------------------------------------------------


def key_arg(value: str) -> str:
    if not _HEX64.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a public key (64 hex digits)")
    return value.lower()


def parse_when(value: str, *, now: datetime) -> str:
    """`now`, a relative time (`+10m`, `+2h`, `+1d12h`, `-30s`; units s m h d w)
    counted from ``now``, or an ISO 8601 time (UTC when it has no offset).
    Raises CliError."""
    v = value.strip()
    if v.lower() == "now":
        return format_time(now)
    m = _RELATIVE.match(v)
    if m:
        delta = timedelta()
        for amount, unit in re.findall(r"([0-9]+)([smhdw])", m.group(2)):
            delta += timedelta(**{_UNIT[unit]: int(amount)})
        return format_time(now + delta if m.group(1) == "+" else now - delta)
    try:
        t = datetime.fromisoformat(v.replace("z", "Z"))
    except ValueError:
        raise CliError(f"{value!r} is not a time: use now, +10m, +2h, +1d or 2026-11-23T10:00:00Z") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return format_time(t)


# -- the session: one server, one receipts directory ----------------------------


@dataclass
class Session:
    client: Client
    receipts: Path
    as_json: bool
    out: TextIO
    err: TextIO

    def say(self, *parts: Any) -> None:
        print(*parts, file=self.out)

    def note(self, *parts: Any) -> None:
        print(*parts, file=self.err)

    def dump(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False, indent=2), file=self.out)

    def author(self, key: KeyPair) -> Author:
        """An author whose next statement carries the server's last seq + 1."""
        return Author(key, self.client.last_seq(key.public_hex))

    def publish(self, author: Author, kind: str, assembly: str, **fields: Any) -> dict[str, Any]:
        receipt = self.client.post_statement(author.sign(kind, assembly, **fields))
        self.keep(receipt)
        return receipt

    def keep(self, receipt: dict[str, Any]) -> Path:
        """Save the receipt as ``<index>.json`` in the receipts directory."""
        index = int(receipt["index"])
        self.receipts.mkdir(parents=True, exist_ok=True)
        path = self.receipts / f"{index}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(receipt, ensure_ascii=False, indent=2) + "\n", "utf-8")
        tmp.replace(path)
        self.note(f"entry {index} accepted; receipt saved to {path}")
        return path

    def sign_one(self, args: argparse.Namespace, kind: str, **fields: Any) -> dict[str, Any]:
        key = read_key_file(Path(args.key))
        assembly = self.client.assembly()
        receipt = self.publish(self.author(key), kind, assembly, **fields)
        if self.as_json:
            self.dump(receipt)
        return receipt


# -- commands -------------------------------------------------------------------


def cmd_key_new(s: Session, args: argparse.Namespace) -> int:
    key = KeyPair.generate()
    write_key_file(Path(args.file), key)
    s.say(key.public_hex)
    return 0


def cmd_key_show(s: Session, args: argparse.Namespace) -> int:
    s.say(read_key_file(Path(args.file)).public_hex)
    return 0


def cmd_key_backup(s: Session, args: argparse.Namespace) -> int:
    key = read_key_file(Path(args.file))
    write_backup_file(Path(args.out), key, passphrase(f"new passphrase for {args.out}: ", twice=True))
    s.say(f"{key.public_hex}: encrypted backup written to {args.out}")
    return 0


def cmd_key_restore(s: Session, args: argparse.Namespace) -> int:
    key = read_key_file(Path(args.backup))
    write_key_file(Path(args.file), key)
    s.say(key.public_hex)
    return 0


def cmd_found(s: Session, args: argparse.Namespace) -> int:
    key = read_key_file(Path(args.key))
    info = s.client.server()
    if info.get("assembly"):
        raise ServerError(409, "Already founded", f"this server holds assembly {info['assembly']}", "already_founded")
    organizers = list(dict.fromkeys([key.public_hex, *args.organizer]))
    founder = Author(key, 0)
    statement_fields = {
        "name": args.name,
        "organizers": organizers,
        "server": info["server_key"],
        "rules": {"method": args.method, "quorum": args.quorum, "no_quorum": args.no_quorum},
    }
    receipt = s.publish(founder, "assembly", "", **statement_fields)
    genesis = receipt["entry"]["statement"]
    assembly = assembly_id(genesis)
    s.dump(receipt) if s.as_json else s.say(assembly)
    return 0


def cmd_invite(s: Session, args: argparse.Namespace) -> int:
    if args.count < 1:
        raise CliError("--count must be at least 1")
    key = read_key_file(Path(args.key))
    assembly = s.client.assembly()
    author = s.author(key)
    codes = []
    for _ in range(args.count):
        code = new_code()
        receipt = s.publish(author, "invite", assembly, code_hash=code_hash(code), note=args.note)
        codes.append({"code": code, "index": receipt["index"]})
        if not s.as_json:
            s.say(code)  # printed once, as soon as the server holds its hash
    if s.as_json:
        s.dump({"codes": codes})
    return 0


def cmd_enroll(s: Session, args: argparse.Namespace) -> int:
    receipt = s.sign_one(args, "enroll", code=args.code.strip(), name=args.name)
    if not s.as_json:
        s.say(f"enrolled {receipt['entry']['statement']['author']}")
    return 0


def cmd_topic(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "topic", id=args.id, title=args.title, description=args.description, parent=args.parent)
    if not s.as_json:
        s.say(f"topic {args.id}")
    return 0


def cmd_motion(s: Session, args: argparse.Namespace) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    opens, closes = parse_when(args.opens, now=now), parse_when(args.closes, now=now)
    s.sign_one(
        args,
        "motion",
        id=args.id,
        topic=args.topic,
        title=args.title,
        summary=args.summary,
        url=args.url,
        opens=opens,
        closes=closes,
        quorum=args.quorum,
    )
    if not s.as_json:
        s.say(f"motion {args.id}: open from {opens} to {closes}")
    return 0


def cmd_deputies(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "deputies", roster=list(args.keys))
    if not s.as_json:
        s.say(f"roster of {len(args.keys)} deputies")
    return 0


def cosigner_arg(value: str) -> dict[str, str]:
    """``NAME=KEYHEX@URL``: one cosigner of a witness policy (docs/SPEC.md section 14);
    ``python -m witness key`` prints NAME and KEYHEX."""
    name, sep, rest = value.partition("=")
    key, sep2, url = rest.partition("@")
    if not (sep and sep2 and name and url):
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=KEYHEX@URL")
    return {"name": name, "key": key_arg(key), "url": url}


def cmd_witnesses(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "witnesses", cosigners=list(args.cosigners), quorum=args.quorum, grace=args.grace)
    if not s.as_json:
        s.say(f"witness policy: {args.quorum} of {len(args.cosigners)} cosigners, grace {args.grace} s")
    return 0


def cmd_delegate(s: Session, args: argparse.Namespace) -> int:
    to = {"self": "self", "none": None}.get(args.to.lower(), args.to)
    if to not in ("self", None):
        if not _HEX64.match(args.to):
            raise CliError(f"{args.to!r}: TO is a member's key (64 hex digits), self or none")
        to = args.to.lower()
    s.sign_one(args, "delegate", scope=args.scope, to=to)
    if not s.as_json:
        s.say(f"{args.scope}: " + {None: "delegation removed", "self": "kept for myself"}.get(to, f"delegated to {to}"))
    return 0


def cmd_vote(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "ballot", motion=args.motion, choice=args.choice)
    if not s.as_json:
        s.say(f"{args.motion}: {args.choice}")
    return 0


def cmd_withdraw(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "ballot", motion=args.motion, choice=None)
    if not s.as_json:
        s.say(f"{args.motion}: ballot withdrawn, my delegation applies again")
    return 0


def cmd_status(s: Session, args: argparse.Namespace) -> int:
    me = read_key_file(Path(args.key)).public_hex
    member = s.client.get_json(f"/api/members/{me}")
    path = s.client.get_json(f"/api/members/{me}/motions/{args.motion}") if args.motion else None
    if s.as_json:
        s.dump({"member": member, "motion": path})
        return 0
    names = {m["key"]: m.get("name") or "" for m in s.client.get_json("/api/members").get("members", [])}

    def who(key: str) -> str:
        return f"{key} ({names[key]})" if names.get(key) else key

    flags = [f for f in ("active", "organizer", "deputy") if member.get(f)]
    if member.get("member") is False:
        flags = ["organizer"] if member.get("organizer") else ["not a member of this assembly"]
    elif not member.get("active"):
        flags.insert(0, "expelled")
    s.say(f"{who(member.get('key', me))}: " + ", ".join(flags))
    delegations = member.get("delegations") or []
    if not delegations:
        s.say("  no delegation: I keep every vote")
    for d in delegations:
        to = d.get("to")
        s.say(f"  delegation {d.get('scope')} -> {'myself' if to == 'self' else who(to)}")
    for d in member.get("delegated_by") or []:
        s.say(f"  trusted by {who(d.get('member'))} for {', '.join(d.get('scopes') or [])}")
    if path is not None:
        reason = f" ({path['reason']})" if path.get("reason") else ""
        if path.get("as_of") is not None:  # a closed motion: as of its close entry (SPEC 9, Vote paths)
            s.say(
                f"motion {args.motion}: at the close (entry {path['as_of']}) my vote counted as {path.get('outcome')}{reason}"
            )
        else:
            s.say(f"motion {args.motion}: my vote counts as {path.get('outcome')}{reason}")
        s.say("  path: " + " -> ".join(who(k) for k in (path.get("path") or [me])))
        carried = path.get("carried") or []
        s.say(f"  weight: {path.get('weight')}" + (f", carrying the votes of {len(carried)} others" if carried else ""))
        for k in carried:
            s.say(f"    {who(k)}")
    return 0


def cmd_export(s: Session, args: argparse.Namespace) -> int:
    start, count = args.start, 0
    out = sys.stdout.buffer if args.output == "-" else None
    tmp = None if out is not None else Path(args.output + ".part")
    sink = out if out is not None else open(tmp, "wb")  # noqa: SIM115 (closed below)
    try:
        while True:
            page = s.client.get_bytes("/api/log", **{"from": start + count, "limit": EXPORT_PAGE})
            lines = [ln for ln in page.split(b"\n") if ln]
            if not lines:
                break
            for ln in lines:
                sink.write(ln + b"\n")
            count += len(lines)
    finally:
        if out is None:
            sink.close()
    if tmp is not None:
        tmp.replace(args.output)
    else:
        out.flush()
    parts = [] if out is not None or start else _export_siblings(s, Path(args.output))
    s.note(
        f"exported {count} entries from index {start}"
        + ("" if args.output == "-" else f" to {args.output}")
        + "".join(f", {p}" for p in parts)
    )
    return 0


def _all_texts(client: Client) -> bytes:
    """Every record of GET /api/texts, page after page (SPEC 15.2: the next
    page starts after the last index; an empty page ends the list)."""
    out, start = b"", 0
    while True:
        page = client.get_bytes("/api/texts", **{"from": start, "limit": 10_000})
        lines = [ln for ln in page.split(b"\n") if ln]
        if not lines:
            return out
        out += b"".join(ln + b"\n" for ln in lines)
        start = int(json.loads(lines[-1])["index"]) + 1


def _all_checkpoints(client: Client) -> bytes:
    """Every cosigned checkpoint of GET /api/checkpoints, page after page
    (SPEC 13.1: notes in ascending size, a blank line between two; the next
    page starts after the last size; an empty page ends the list)."""
    notes: list[str] = []
    start = 1
    while True:
        page = split_notes(client.get_bytes("/api/checkpoints", **{"from": start, "limit": 1000}).decode("utf-8"))
        if not page:
            return "\n".join(notes).encode("utf-8")
        notes += page
        start = int(page[-1].split("\n", 2)[1]) + 1


def _export_siblings(s: Session, log_path: Path) -> list[str]:
    """Write each part the server has beside the log; return their file names."""
    written = []
    for suffix in EXPORT_SIBLINGS:
        path = log_path.with_name(log_path.name + suffix)
        try:
            body = {".texts.jsonl": _all_texts, ".checkpoints": _all_checkpoints}[suffix](s.client)
        except ServerError as e:
            if e.status not in (400, 404):
                raise
            path.unlink(missing_ok=True)
            continue
        part = path.with_name(path.name + ".part")
        part.write_bytes(body)
        part.replace(path)
        written.append(path.name)
    return written


def cmd_instructions(s: Session, args: argparse.Namespace) -> int:
    doc = s.client.get_json(f"/api/deputies/{args.deputy}/instructions")
    if s.as_json:
        s.dump(doc)
        return 0
    items = doc.get("instructions") or []
    if not items:
        s.say(f"no instruction yet for deputy {args.deputy}")
    for it in items:
        seats = it.get("seats") or {}
        s.say(
            f"{it.get('motion')}: vote {str(it.get('choice')).upper()}"
            f"  (members {it.get('members')}: yes {it.get('yes')}, no {it.get('no')}, abstain {it.get('abstain')};"
            f" seats {seats.get('yes')}/{seats.get('no')}/{seats.get('abstain')}; result entry {it.get('result_index')})"
        )
    return 0


def cmd_draw(s: Session, args: argparse.Namespace) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    opens, closes = parse_when(args.opens, now=now), parse_when(args.closes, now=now)
    s.sign_one(
        args,
        "draw",
        id=args.id,
        title=args.title,
        seats=args.seats,
        opens=opens,
        closes=closes,
        certified=args.certified,
    )
    if not s.as_json:
        s.say(f"draw {args.id}: {args.seats} seats, volunteers from {opens} to {closes}")
    return 0


def cmd_volunteer(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "volunteer", draw=args.draw, standing=not args.withdraw)
    if not s.as_json:
        s.say(f"{args.draw}: " + ("withdrawn" if args.withdraw else "I volunteer"))
    return 0


def cmd_certify(s: Session, args: argparse.Namespace) -> int:
    key = read_key_file(Path(args.key))
    assembly = s.client.assembly()
    for member in args.members:
        s.publish(s.author(key), "certify", assembly, draw=args.draw, member=member)
    if not s.as_json:
        s.say(f"{args.draw}: {len(args.members)} certified")
    return 0


def cmd_draws(s: Session, args: argparse.Namespace) -> int:
    doc = s.client.get_json(f"/api/draws/{args.draw}" if args.draw else "/api/draws")
    if s.as_json:
        s.dump(doc)
        return 0
    if not args.draw:
        for d in doc["draws"]:
            s.say(f"{d['id']}: {d['state']}, {d['seats']} seats, pool {d['pool']} ({d['opens']} to {d['closes']})")
        return 0
    d = doc["draw"]
    s.say(f"{d['id']}: {d['state']}, {d['seats']} seats, pool {d['pool']}")
    for p in doc["people"]:
        marks = ", ".join(m for m, on in (("standing", p["standing"]), ("certified", p["certified"])) if on)
        s.say(f"  {p['name'] or '-'} {p['key']}: {marks or 'withdrawn'}{'' if p['in_pool'] else ' (not in the pool)'}")
    if doc["drawn"]:
        s.say(f"drawn at entry {d['drawn_index']}, seed {doc['drawn']['seed']}:")
        for i, k in enumerate(doc["drawn"]["chosen"], 1):
            s.say(f"  {i}. {k}")
    return 0


def cmd_roster_from_draw(s: Session, args: argparse.Namespace) -> int:
    doc = s.client.get_json(f"/api/draws/{args.draw}")
    if not doc.get("drawn"):
        raise CliError(f"draw {args.draw} has not been drawn yet")
    chosen = list(doc["drawn"]["chosen"])
    s.sign_one(args, "deputies", roster=chosen)
    if not s.as_json:
        s.say(f"roster of {len(chosen)} deputies, drawn in {args.draw}")
    return 0


def cmd_report(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "report", motion=args.motion, voted=args.voted, source=args.source, note=args.note)
    if not s.as_json:
        s.say(f"{args.motion}: reported {args.voted}")
    return 0


def cmd_record(s: Session, args: argparse.Namespace) -> int:
    """Sign one `record` per line of a records CSV, or per mapped deputy of a
    scrutin file; deputies the motion's result does not instruct are skipped
    (the server would refuse them) and said so."""
    try:
        text = Path(args.file).read_text(encoding="utf-8")
        if args.scrutin:
            if not args.motion or not args.ids:
                raise CliError("--scrutin needs --motion and --ids (the CSV of official ids)")
            ids = rollcall.official_ids(Path(args.ids).read_text(encoding="utf-8"))
            records = rollcall.records_from_scrutin(text, motion=args.motion, ids=ids)
        else:
            records = rollcall.records_from_csv(text)
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read {e.filename or args.file}: {e}") from None
    except rollcall.RollCallError as e:
        raise CliError(str(e)) from None
    key = read_key_file(Path(args.key))
    assembly = s.client.assembly()
    instructed: dict[str, set[str]] = {}
    done = 0
    for r in records:
        if r.motion not in instructed:
            rows = s.client.get_json(f"/api/compliance?motion={r.motion}").get("rows") or []
            instructed[r.motion] = {row["deputy"] for row in rows}
        if r.deputy not in instructed[r.motion]:
            s.note(f"{r.motion}: {r.deputy[:16]}... has no instruction in its result: skipped")
            continue
        s.publish(s.author(key), "record", assembly, **r.fields())
        done += 1
    if not s.as_json:
        s.say(f"{done} records signed, {len(records) - done} skipped")
    return 0


def cmd_compliance(s: Session, args: argparse.Namespace) -> int:
    query = f"?deputy={args.deputy}" if args.deputy else (f"?motion={args.motion}" if args.motion else "")
    doc = s.client.get_json(f"/api/compliance{query}")
    if s.as_json:
        s.dump(doc)
        return 0
    if "deputies" in doc:
        for d in doc["deputies"]:
            s.say(
                f"{d['name'] or d['deputy'][:16]}: {d['agrees']}/{d['instructed']} agree, {d['deviates']} deviate, "
                f"{d['unknown']} unknown, {d['conflicts']} report/record conflicts"
            )
        return 0
    for r in doc["rows"]:
        rep = (r["report"] or {}).get("voted", "-")
        rec = (r["record"] or {}).get("voted", "-")
        who = r["name"] or r["deputy"][:16]
        s.say(f"{r['motion']} {who}: told {r['instruction']}, reported {rep}, recorded {rec}: {r['status']}")
    return 0


# -- the parser -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # Global options may come before or after the command: the subparsers share
    # them with SUPPRESS defaults so that an option given first is not reset.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server", default=argparse.SUPPRESS, help=f"server URL (env LIQUID_MANDATE_SERVER, default {DEFAULT_SERVER})"
    )
    common.add_argument(
        "--receipts",
        default=argparse.SUPPRESS,
        help=f"where receipts are saved (env LIQUID_MANDATE_RECEIPTS, default ./{DEFAULT_RECEIPTS})",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the server's JSON answers instead of text"
    )

    p = argparse.ArgumentParser(
        prog="liquid-mandate", parents=[common], description="Vote, delegate and organize in a Liquid Mandate assembly."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(
        name: str, func: Callable[[Session, argparse.Namespace], int], help: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        q = parent.add_parser(name, parents=[common], help=help, description=help)
        q.set_defaults(func=func)
        return q

    def with_key(q: argparse.ArgumentParser) -> argparse.ArgumentParser:
        q.add_argument(
            "--key",
            required=True,
            metavar="FILE",
            help="my key file: a seed file or an encrypted backup (docs/KEYS.md)",
        )
        return q

    key = sub.add_parser("key", help="create or show a key file")
    keysub = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    cmd("new", cmd_key_new, "create a new Ed25519 key file (mode 0600) and print its public key", keysub).add_argument(
        "file", metavar="FILE"
    )
    cmd("show", cmd_key_show, "print the public key of a key file or backup", keysub).add_argument(
        "file", metavar="FILE"
    )
    q = cmd(
        "backup",
        cmd_key_backup,
        "write the encrypted backup of a key file, in the web UI's format (docs/KEYS.md)",
        keysub,
    )
    q.add_argument("file", metavar="FILE")
    q.add_argument("--out", required=True, metavar="BACKUP", help="the new backup file (JSON)")
    q = cmd(
        "restore", cmd_key_restore, "write a plain key file from an encrypted backup (the web UI's or ours)", keysub
    )
    q.add_argument("backup", metavar="BACKUP")
    q.add_argument("file", metavar="FILE")

    q = with_key(cmd("found", cmd_found, "sign the genesis statement of a new assembly on this server"))
    q.add_argument("--name", required=True, help="the assembly's name")
    q.add_argument(
        "--organizer",
        action="append",
        default=[],
        type=key_arg,
        metavar="KEY",
        help="another organizer's public key (repeat); I am always one",
    )
    q.add_argument("--method", default="largest_remainder", choices=["largest_remainder", "dhondt", "sainte_lague"])
    q.add_argument("--quorum", type=int, default=0, metavar="PERCENT", help="default quorum, 0-100")
    q.add_argument(
        "--no-quorum",
        dest="no_quorum",
        default="abstain",
        choices=["abstain", "no"],
        help="what deputies are told when the quorum fails",
    )

    q = with_key(cmd("invite", cmd_invite, "create invitation codes (only their hashes are published)"))
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--note", default="", help="a public note on the invitation")

    q = with_key(cmd("enroll", cmd_enroll, "join the assembly with an invitation code"))
    q.add_argument("--code", required=True)
    q.add_argument("--name", default="", metavar="PSEUDONYM")

    q = with_key(cmd("topic", cmd_topic, "create a topic"))
    q.add_argument("id", metavar="ID")
    q.add_argument("--title", required=True)
    q.add_argument("--description", default="")
    q.add_argument("--parent", default=None, metavar="TOPIC")

    q = with_key(cmd("motion", cmd_motion, "put a motion (bill) to the vote"))
    q.add_argument("id", metavar="ID")
    q.add_argument("--topic", required=True)
    q.add_argument("--title", required=True)
    q.add_argument("--summary", required=True)
    q.add_argument("--url", default="")
    q.add_argument("--opens", required=True, metavar="TIME", help="now, +10m, +2h, +1d or 2026-11-23T10:00:00Z")
    q.add_argument("--closes", required=True, metavar="TIME")
    q.add_argument("--quorum", type=int, default=None, metavar="PERCENT", help="default: the assembly's")

    q = with_key(cmd("deputies", cmd_deputies, "set the deputies' roster (replaces the previous one)"))
    q.add_argument("keys", nargs="+", type=key_arg, metavar="KEY")

    q = with_key(cmd("witnesses", cmd_witnesses, "set the witness policy (replaces the previous one)"))
    q.add_argument("cosigners", nargs="+", type=cosigner_arg, metavar="NAME=KEYHEX@URL")
    q.add_argument("--quorum", type=int, required=True, help="cosigners needed: a majority of them")
    q.add_argument("--grace", type=int, default=10, metavar="SECONDS", help="1-60, default 10")

    q = with_key(cmd("delegate", cmd_delegate, "delegate my vote for a scope"))
    q.add_argument("scope", metavar="SCOPE", help="*, topic:<id> or motion:<id>")
    q.add_argument("to", metavar="TO", help="a member's key, self (keep my vote) or none (remove)")

    q = with_key(cmd("vote", cmd_vote, "vote on a motion"))
    q.add_argument("motion", metavar="MOTION")
    q.add_argument("choice", choices=["yes", "no", "abstain"])

    q = with_key(cmd("withdraw", cmd_withdraw, "withdraw my ballot: my delegation counts again"))
    q.add_argument("motion", metavar="MOTION")

    q = with_key(cmd("status", cmd_status, "my membership, my delegations, and where my vote goes"))
    q.add_argument("motion", nargs="?", metavar="MOTION")

    q = with_key(cmd("draw", cmd_draw, "as an organizer, announce a draw by lot among volunteers"))
    q.add_argument("id", metavar="ID")
    q.add_argument("--title", required=True)
    q.add_argument("--seats", type=int, required=True)
    q.add_argument("--opens", required=True, metavar="TIME", help="volunteers from; now, +10m, +1d or a time")
    q.add_argument("--closes", required=True, metavar="TIME", help="the draw happens at this time")
    q.add_argument("--certified", action="store_true", help="only members certified before it opens enter the pool")

    q = with_key(cmd("volunteer", cmd_volunteer, "stand as a volunteer in a draw (or --withdraw)"))
    q.add_argument("draw", metavar="DRAW")
    q.add_argument("--withdraw", action="store_true")

    q = with_key(cmd("certify", cmd_certify, "as an organizer, certify members for a draw (before it opens)"))
    q.add_argument("draw", metavar="DRAW")
    q.add_argument("members", nargs="+", type=key_arg, metavar="KEY")

    q = cmd("draws", cmd_draws, "list the draws, or show one: its pool and, once drawn, the chosen")
    q.add_argument("draw", nargs="?", metavar="DRAW")

    q = with_key(cmd("roster-from-draw", cmd_roster_from_draw, "as an organizer, make a draw's chosen the roster"))
    q.add_argument("draw", metavar="DRAW")

    q = with_key(cmd("report", cmd_report, "as a deputy, report what I voted in the assembly on a closed motion"))
    q.add_argument("motion", metavar="MOTION")
    q.add_argument("voted", choices=["yes", "no", "abstain", "absent"])
    q.add_argument("--source", default="", metavar="URL", help="the official record of the vote")
    q.add_argument("--note", default="", help="a public note (why I deviated, for instance)")

    q = with_key(
        cmd("record", cmd_record, "as an organizer, sign the official roll call: a records CSV or a scrutin file")
    )
    q.add_argument("file", metavar="FILE", help="CSV motion,deputy,voted,source; or with --scrutin an AN scrutin JSON")
    q.add_argument("--scrutin", action="store_true", help="FILE is an Assemblée nationale open-data scrutin (JSON)")
    q.add_argument("--motion", metavar="MOTION", help="with --scrutin: the motion the scrutin voted on")
    q.add_argument("--ids", metavar="CSV", help="with --scrutin: CSV official_id,deputy mapping official ids to keys")

    q = cmd("compliance", cmd_compliance, "did the deputies vote as instructed? (all, one deputy, or one motion)")
    q.add_argument("--deputy", type=key_arg, metavar="KEY")
    q.add_argument("--motion", metavar="MOTION")

    q = cmd("export", cmd_export, "download the log as JSON Lines, and the parts beside it (SPEC section 13)")
    q.add_argument("--from", dest="start", type=int, default=0, metavar="I")
    q.add_argument("-o", "--output", default="-", metavar="FILE", help="default: standard output")

    q = cmd("instructions", cmd_instructions, "a deputy's binding instructions")
    q.add_argument("deputy", type=key_arg, metavar="KEY")
    debate.add_commands(cmd, with_key)
    return p


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command; the exit status (0, 1 or 2, see the module docstring)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    server = getattr(args, "server", None) or os.environ.get("LIQUID_MANDATE_SERVER") or DEFAULT_SERVER
    receipts = getattr(args, "receipts", None) or os.environ.get("LIQUID_MANDATE_RECEIPTS") or DEFAULT_RECEIPTS
    session = Session(Client(server), Path(receipts), bool(getattr(args, "json", False)), out, err)
    try:
        return int(args.func(session, args))
    except ServerError as e:
        print(f"error: {e.one_line()}", file=err)
        return 1
    except CliError as e:
        print(f"error: {e}", file=err)
        return 1
    except Unreachable as e:
        print(f"error: {e}", file=err)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130


if __name__ == "__main__":
    sys.exit(main())
