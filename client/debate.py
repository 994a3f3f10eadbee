"""The command line of the deliberation (docs/SPEC.md section 14): argue on
a bill or a proposal, list the arguments (each text checked against its
signed hash), redact, propose and amend, list proposals, support, and turn a
ready proposal into a bill. ``add_commands`` hooks them into client/cli.py's
parser; the Session and the errors are cli.py's."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballots.texts import MAX_TEXT, text_hash
from client.author import comment

if TYPE_CHECKING:
    from client.cli import Session

Cmd = Callable[..., argparse.ArgumentParser]
PERMANENT = "Note: titles, summaries and reasons are on the public log for good; only argument texts can be erased."


def _text(args: argparse.Namespace) -> str:
    from client.cli import CliError

    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CliError(f"cannot read {args.file}: {e}") from None
    else:
        text = args.text or ""
    if not 1 <= len(text) <= MAX_TEXT:
        raise CliError(f"an argument has 1 to {MAX_TEXT} characters, this one {len(text)}")
    return text


def _target(args: argparse.Namespace) -> tuple[str | None, str | None]:
    from client.cli import CliError

    if (args.motion is None) == (args.proposal is None):
        raise CliError("give exactly one of --motion and --proposal")
    return args.motion, args.proposal


def cmd_argue(s: Session, args: argparse.Namespace) -> int:
    from client.cli import read_key_file

    motion, proposal = _target(args)
    text = _text(args)
    author = s.author(read_key_file(Path(args.key)))
    signed = comment(
        author, s.client.assembly(), text, motion=motion, proposal=proposal, stance=args.stance, reply_to=args.reply_to
    )
    receipt = s.client.post_statement(signed)
    s.keep(receipt)
    if s.as_json:
        s.dump(receipt)
    else:
        s.say(f"argument {receipt['index']} ({args.stance}) on {motion or proposal}")
    return 0


def _check(c: dict[str, Any]) -> str:
    """A comment's text as shown, after checking it against its hash."""
    if c["redacted"]:
        return f"[erased by entry {c['redact']}: {c['reason']}]"
    if c["text"] is None or c["salt"] is None:
        return "[text missing]"
    if text_hash(bytes.fromhex(c["salt"]), c["text"]) != c["text_hash"]:
        return "[TEXT DOES NOT MATCH ITS SIGNED HASH] " + c["text"]
    return str(c["text"])


def cmd_arguments(s: Session, args: argparse.Namespace) -> int:
    motion, proposal = _target(args)
    path = f"/api/motions/{motion}/comments" if motion else f"/api/proposals/{proposal}/comments"
    doc = s.client.get_json(path, stance=args.stance, offset=args.offset, limit=args.limit)
    if s.as_json:
        s.dump(doc)
        return 0
    c = doc["counts"]
    s.say(f"{motion or proposal}: {c['for']} for, {c['against']} against, {c['neutral']} neutral")
    for t in doc["threads"]:
        for view in (t["comment"], *t["replies"]):
            who = view["name"] or view["author"][:16]
            s.say(f"{'  ' * view['depth']}#{view['index']} {view['stance']} {who}: {_check(view)}")
        if t["more_replies"]:
            s.say(f"  ... {t['more_replies']} more replies")
    if doc.get("proposal"):
        p = doc["proposal"]
        s.say(f"turned from proposal {p['id']} by {p['name'] or p['author'][:16]}, {p['supporters']} supporters")
    for a in doc.get("amendments", []):
        s.say(f"amendment {a['id']}: {a['title']} ({a['supporters']} supporters)")
    return 0


def cmd_redact(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "redact", entry=args.entry, reason=args.reason)
    if not s.as_json:
        s.say(f"argument {args.entry}: text erased; the log keeps the entry and the reason")
    return 0


def cmd_propose(s: Session, args: argparse.Namespace) -> int:
    s.note(PERMANENT)
    fields = {"topic": args.topic, "title": args.title, "summary": args.summary, "url": args.url}
    s.sign_one(args, "proposal", id=args.id, amends=args.amends, **fields)
    if not s.as_json:
        s.say(f"proposal {args.id}" + (f", amending {args.amends}" if args.amends else ""))
    return 0


def cmd_proposals(s: Session, args: argparse.Namespace) -> int:
    doc = s.client.get_json("/api/proposals")
    if s.as_json:
        s.dump(doc)
        return 0
    s.say(f"{doc['members']} members: a proposal is ready with {doc['needed']} supporters")
    for p in doc["proposals"]:
        state = f"bill {p['motion']}" if p["motion"] else ("ready" if p["ready"] else "")
        amends = f" (amends {p['amends']})" if p["amends"] else ""
        s.say(f"{p['supporters']:>5}  {p['id']}{amends}: {p['title']}  {state}".rstrip())
    return 0


def cmd_support(s: Session, args: argparse.Namespace) -> int:
    s.sign_one(args, "support", proposal=args.proposal, on=not args.off)
    if not s.as_json:
        s.say(f"{args.proposal}: " + ("support withdrawn" if args.off else "supported"))
    return 0


def cmd_adopt(s: Session, args: argparse.Namespace) -> int:
    """Turn a ready proposal into a bill in one step: a motion with the
    proposal's topic, title and summary and the url `proposal:<id>`."""
    from client.cli import parse_when

    p = s.client.get_json(f"/api/proposals/{args.proposal}")
    now = datetime.now(UTC).replace(microsecond=0)
    opens, closes = parse_when(args.opens, now=now), parse_when(args.closes, now=now)
    motion_id = args.id or p["id"]
    s.sign_one(
        args,
        "motion",
        id=motion_id,
        topic=p["topic"],
        title=p["title"],
        summary=p["summary"],
        url=f"proposal:{p['id']}",
        opens=opens,
        closes=closes,
        quorum=args.quorum,
    )
    if not s.as_json:
        s.say(f"proposal {p['id']} is now bill {motion_id}, open from {opens} to {closes}")
    return 0


def cmd_texts(s: Session, args: argparse.Namespace) -> int:
    """Download the comment texts (GET /api/texts, page by page) as JSON
    Lines, for a backup beside `export` and for ``verify_cli.py --texts``."""
    start, lines = args.start, []
    while True:
        page = [ln for ln in s.client.get_bytes("/api/texts", **{"from": start, "limit": 10_000}).split(b"\n") if ln]
        if not page:
            break
        lines += page
        start = int(json.loads(page[-1])["index"]) + 1
    data = b"".join(ln + b"\n" for ln in lines)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        tmp = Path(args.output + ".part")
        tmp.write_bytes(data)
        tmp.replace(args.output)
    s.note(f"exported {len(lines)} comment texts" + ("" if args.output == "-" else f" to {args.output}"))
    return 0


def add_commands(cmd: Cmd, with_key: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    def target(q: argparse.ArgumentParser) -> None:
        q.add_argument("--motion", metavar="BILL", help="the bill discussed")
        q.add_argument("--proposal", metavar="PROPOSAL", help="or the proposal discussed")

    q = with_key(cmd("argue", cmd_argue, "post a signed argument on a bill or a proposal"))
    target(q)
    q.add_argument("text", nargs="?", metavar="TEXT", help="the argument (1 to 4,000 characters)")
    q.add_argument("--file", metavar="FILE", help="read the argument from a UTF-8 file")
    q.add_argument("--stance", choices=["for", "against", "neutral"], default="neutral")
    q.add_argument("--reply-to", dest="reply_to", type=int, default=None, metavar="ENTRY")

    q = cmd("arguments", cmd_arguments, "list the arguments on a bill or a proposal, strongest first")
    target(q)
    q.add_argument("--stance", choices=["for", "against", "neutral"], default=None)
    q.add_argument("--offset", type=int, default=0)
    q.add_argument("--limit", type=int, default=20)

    q = with_key(
        cmd("redact", cmd_redact, "erase an argument's text (mine, or any as organizer); the reason is public")
    )
    q.add_argument("entry", type=int, metavar="ENTRY")
    q.add_argument("--reason", required=True)

    q = with_key(cmd("propose", cmd_propose, "propose a bill, or an amendment to one (--amends)"))
    q.add_argument("id", metavar="ID")
    q.add_argument("--topic", required=True)
    q.add_argument("--title", required=True)
    q.add_argument("--summary", required=True)
    q.add_argument("--url", default="")
    q.add_argument("--amends", default=None, metavar="BILL")

    cmd("proposals", cmd_proposals, "list the proposals, the most supported first")

    q = with_key(cmd("support", cmd_support, "support a proposal (or withdraw my support with --off)"))
    q.add_argument("proposal", metavar="PROPOSAL")
    q.add_argument("--off", action="store_true")

    q = with_key(cmd("adopt", cmd_adopt, "turn a ready proposal into a bill (organizer)"))
    q.add_argument("proposal", metavar="PROPOSAL")
    q.add_argument("--id", default=None, help="the bill's id (default: the proposal's)")
    q.add_argument("--opens", required=True, metavar="TIME")
    q.add_argument("--closes", required=True, metavar="TIME")
    q.add_argument("--quorum", type=int, default=None, metavar="PERCENT")

    q = cmd("texts", cmd_texts, "download the comment texts as JSON Lines (for verify_cli.py --texts)")
    q.add_argument("--from", dest="start", type=int, default=0, metavar="I")
    q.add_argument("-o", "--output", default="-", metavar="FILE", help="default: standard output")
