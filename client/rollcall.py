"""Official roll calls, read into `record` statements (docs/SPEC.md section 4,
"Deputies' votes on record"): a documented CSV, and the French Assemblée
nationale's open-data "scrutins" JSON, one file per vote, mapped to deputy
keys through a CSV of official ids.

Pure parsing: plain text in, plain records out; ``client/cli.py`` signs and
posts them. Every malformation raises RollCallError naming the line or field.

CSV of records (UTF-8, a header row, one vote per line):

    motion,deputy,voted,source
    housing-bill,3b6a...e1,yes,https://www.assemblee-nationale.fr/dyn/17/scrutins/123

CSV of official ids (UTF-8, a header row):

    official_id,deputy
    PA1008,3b6a...e1

In a scrutin, a deputy is `yes` in `pours`/`pour`, `no` in `contres`/`contre`,
`abstain` in `abstentions`/`abstention`, and `absent` in `nonVotants`,
`nonVotantsVolontaires`, or when not listed at all (the official list is
complete: whoever it does not name did not vote). The AN writes each list
either as one object or as an array, and either key spelling; both are read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VOTED = ("yes", "no", "abstain", "absent")
_KEY = re.compile(r"[0-9a-f]{64}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")

# decompteNominatif keys -> what the deputy voted
_BUCKETS = {
    "pours": "yes",
    "pour": "yes",
    "contres": "no",
    "contre": "no",
    "abstentions": "abstain",
    "abstention": "abstain",
    "nonVotants": "absent",
    "nonVotant": "absent",
    "nonVotantsVolontaires": "absent",
}


class RollCallError(ValueError):
    """A roll-call file that cannot be read; the message says where."""


@dataclass(frozen=True, slots=True)
class Record:
    motion: str
    deputy: str
    voted: str
    source: str

    def fields(self) -> dict[str, str]:
        return {"motion": self.motion, "deputy": self.deputy, "voted": self.voted, "source": self.source}


def _rows(text: str, want: tuple[str, ...], what: str) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != list(want):
        raise RollCallError(f"{what}: the header must be {','.join(want)}, got {reader.fieldnames}")
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise RollCallError(f"{what} line {line}: want {len(want)} columns")
        yield line, {k.strip(): v.strip() for k, v in row.items()}


def _check(line: str, motion: str, deputy: str, voted: str, source: str) -> Record:
    if not _SLUG.fullmatch(motion):
        raise RollCallError(f"{line}: motion {motion!r} is not a slug")
    if not _KEY.fullmatch(deputy):
        raise RollCallError(f"{line}: deputy {deputy!r} is not a key (64 lowercase hex digits)")
    if voted not in VOTED:
        raise RollCallError(f"{line}: voted {voted!r}, want one of {', '.join(VOTED)}")
    if not source.startswith(("https://", "http://")):
        raise RollCallError(f"{line}: source {source!r} is not an http(s) URL")
    return Record(motion, deputy, voted, source)


def records_from_csv(text: str) -> list[Record]:
    """The records of a CSV with columns motion, deputy, voted, source."""
    return [
        _check(f"line {n}", r["motion"], r["deputy"].lower(), r["voted"], r["source"])
        for n, r in _rows(text, ("motion", "deputy", "voted", "source"), "records CSV")
    ]


def official_ids(text: str) -> dict[str, str]:
    """official_id -> deputy key, from a CSV with columns official_id, deputy."""
    out: dict[str, str] = {}
    for n, r in _rows(text, ("official_id", "deputy"), "official ids CSV"):
        key = r["deputy"].lower()
        if not r["official_id"] or not _KEY.fullmatch(key):
            raise RollCallError(f"official ids CSV line {n}: want an id and a 64-hex-digit key")
        if r["official_id"] in out:
            raise RollCallError(f"official ids CSV line {n}: {r['official_id']} is listed twice")
        out[r["official_id"]] = key
    if len(set(out.values())) != len(out):
        raise RollCallError("official ids CSV: a deputy key is listed for two official ids")
    return out


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def scrutin_votes(doc: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(the vote's official URL, official id -> voted) of one scrutin file."""
    s = doc.get("scrutin") if isinstance(doc, Mapping) else None
    if not isinstance(s, Mapping):
        raise RollCallError("scrutin: no 'scrutin' object at the top")
    numero, legislature = str(s.get("numero") or ""), str(s.get("legislature") or "")
    if not numero.isascii() or not numero.isdigit():
        raise RollCallError(f"scrutin: numero {numero!r} is not a number")
    leg = f"/{legislature}" if legislature.isascii() and legislature.isdigit() else ""
    url = f"https://www.assemblee-nationale.fr/dyn{leg}/scrutins/{numero}"
    try:
        groups = _as_list(s["ventilationVotes"]["organe"]["groupes"]["groupe"])
    except (KeyError, TypeError):
        raise RollCallError("scrutin: no ventilationVotes.organe.groupes.groupe") from None
    votes: dict[str, str] = {}
    for g in groups:
        nominatif = ((g or {}).get("vote") or {}).get("decompteNominatif") or {}
        for bucket, voted in _BUCKETS.items():
            for v in _as_list((nominatif.get(bucket) or {}).get("votant")):
                ref = v.get("acteurRef") if isinstance(v, Mapping) else None
                if not isinstance(ref, str) or not ref:
                    raise RollCallError(f"scrutin: a votant in {bucket} has no acteurRef")
                if votes.get(ref, voted) != voted:
                    raise RollCallError(f"scrutin: {ref} is listed as {votes[ref]} and {voted}")
                votes[ref] = voted
    return url, votes


def records_from_scrutin(text: str, *, motion: str, ids: Mapping[str, str]) -> list[Record]:
    """One record per mapped deputy: what the scrutin says they voted, or
    `absent` when it does not name them."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise RollCallError(f"scrutin: not JSON ({e})") from None
    url, votes = scrutin_votes(doc)
    return [_check(f"deputy {oid}", motion, key, votes.get(oid, "absent"), url) for oid, key in ids.items()]
