"""The Atom feed (RFC 4287) of what a member's delegates did with their
vote (docs/SPEC.md section 9, "People"): one entry per open bill on which
a delegate's vote counts for them, so that any feed reader can follow it
without an account. Built from ``ballots.people.delegates_did``; the
texts in English or French."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

TEXTS = {
    "en": {
        "title": "What my delegates did — {name}",
        "entry": "{bill}: {choice} (through {carrier})",
        "summary": "{carrier} voted {choice} on “{bill}”, and that vote counts for you. "
        "You can vote yourself until {closes} (UTC): your own ballot overrides it.",
        "choice": {"yes": "yes", "no": "no", "abstain": "abstain"},
        "anonymous": "a member without a pseudonym",
    },
    "fr": {
        "title": "Ce qu’ont fait mes délégués — {name}",
        "entry": "{bill} : {choice} (par {carrier})",
        "summary": "{carrier} a voté {choice} sur « {bill} », et ce vote compte pour vous. "
        "Vous pouvez voter vous-même jusqu’au {closes} (UTC) : votre bulletin l’emporte.",
        "choice": {"yes": "oui", "no": "non", "abstain": "abstention"},
        "anonymous": "un membre sans pseudonyme",
    },
}


def feed(
    *,
    base: str,
    key: str,
    name: str,
    items: list[dict[str, Any]],
    updated: str,
    lang: str = "en",
) -> str:
    """The feed's XML. ``items`` are ``delegates_did`` rows, each with a
    ``ballot`` {"index", "received"}: the entry of the vote that counts;
    ``updated`` is the time of the newest (or the log's last entry)."""
    tx = TEXTS[lang]
    self_url = f"{base}/api/members/{key}/feed.atom" + ("" if lang == "en" else f"?lang={lang}")
    who = name or tx["anonymous"]
    page_url = f"{base}/#/member/{key}"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">',
        f"<id>{escape(self_url)}</id>",
        f"<title>{escape(tx['title'].format(name=who))}</title>",
        f"<updated>{escape(updated)}</updated>",
        f"<author><name>{escape(who)}</name></author>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(page_url)}/>',
    ]
    for it in items:
        b = it["ballot"]
        carrier = it["carrier_name"] or it["carrier"][:8]
        choice = tx["choice"][it["choice"]]
        fields = {"bill": it["title"], "choice": choice, "carrier": carrier, "closes": it["closes"]}
        entry_url, bill_url = f"{base}/#/entry/{b['index']}", f"{base}/#/bill/{it['motion']}"
        out += [
            "<entry>",
            f"<id>{escape(entry_url)}</id>",
            f"<title>{escape(tx['entry'].format(**fields))}</title>",
            f"<updated>{escape(b['received'])}</updated>",
            f'<link rel="alternate" type="text/html" href={quoteattr(bill_url)}/>',
            f'<summary type="text">{escape(tx["summary"].format(**fields))}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out) + "\n"
