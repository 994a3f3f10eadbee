"""Static checks of the web UI that need no browser: both languages have the
same strings, every string the code asks for exists, every refusal code of
the server reads as a sentence in both languages, nothing is loaded from
outside, and the page needs no build step (plain ES modules)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ballots.errors import ALL_REFUSALS
from vocabulary import Kind

WEB = Path(__file__).resolve().parents[1] / "web"
LANGS = ("en", "fr")
# Codes of SPEC section 9 beyond the refusals, and the client's own.
HTTP_CODES = {
    "malformed",
    "not_found",
    "bad_request",
    "too_large",
    "unsupported_media_type",
    "not_founded",
    "not_witnessed",
    "internal",
    "loading",
    "method_not_allowed",
    "network",
}
# Keys built at run time from a value; each family listed in full.
DYNAMIC = {
    "choice": ["yes", "no", "abstain", "lost"],
    "state": ["open", "upcoming", "closed"],
    "kind": [k.value for k in Kind],  # every kind a receipt or an entry page may name
    "stance": ["for", "against", "neutral"],
    "debate": ["col_for", "col_against", "col_neutral"],
    "outcome": ["yes", "no", "abstain", "dead_end", "cycle", "absent", "not_member"],
    "reason": [
        "voted",
        "delegated",
        "no_delegation",
        "self",
        "expelled",
        "cycle",
        "not_an_active_member",
        "not_a_member_at_the_close",
    ],
    "method": ["largest_remainder", "dhondt", "sainte_lague"],
    "count": ["members", "yes", "no", "abstain", "direct", "delegated", "dead_end", "cycle", "absent"],
    "org": ["tab_invites", "tab_members", "tab_topics", "tab_bills", "tab_roster", "tab_witnesses"],
    "fork": ["why_shrunk", "why_root", "why_proof"],
    "witnesses": [
        "state_ok",
        "state_failing",
        "state_blocked",
        "state_waiting",
        "col_name",
        "col_url",
        "col_cosigned",
        "col_state",
        "col_last_ok",
        "col_error",
    ],
    "bills": ["none_open", "none_upcoming", "none_closed"],
    "people": ["stance_for", "stance_against", "stance_neutral"],
    "lang": list(LANGS),
    "keyerr": ["no_ed25519", "weak_passphrase", "bad_backup", "wrong_passphrase"],
    "prooferr": [
        "proof_index",
        "proof_malformed",
        "proof_length",
        "proof_root",
        "entry_index",
        "entry_hash",
        "checkpoint_malformed",
        "checkpoint_origin",
        "checkpoint_unsigned",
        "checkpoint_signature",
    ],
}


def table(lang: str) -> dict[str, str]:
    return json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def js_sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(WEB.rglob("*.js"))}


def test_both_languages_have_the_same_keys() -> None:
    en, fr = table("en"), table("fr")
    assert sorted(set(en) - set(fr)) == [], "missing in fr"
    assert sorted(set(fr) - set(en)) == [], "missing in en"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match_between_languages(lang: str) -> None:
    en, other = table("en"), table(lang)
    for key, text in en.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", other[key])), key
        assert other[key].strip(), f"{lang}: {key} is empty"


def test_every_literal_key_in_the_code_exists() -> None:
    keys = set(table("en"))
    used: set[str] = set()
    for _path, src in js_sources().items():
        # t('a.b'), field('a.b', ...), and 'a.b' handed to t() through a variable.
        for m in re.finditer(r"""['"]([a-z_]+\.[a-z_0-9]+)['"]""", src):
            word = m.group(1)
            if (
                word.split(".")[-1] in ("js", "json", "css", "html", "txt")
                or word.startswith(("api.", "app."))
                and word not in keys
            ):
                continue
            used.add(word)
    missing = sorted(k for k in used if k not in keys and f"{k}|other" not in keys)
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
def test_plural_forms_are_complete(lang: str) -> None:
    """A `key|one` needs its `key|other` (the fallback of every other form),
    and each form counts with {n}."""
    tb = table(lang)
    for key, text in tb.items():
        if "|" in key:
            base, form = key.split("|")
            assert form in ("zero", "one", "two", "few", "many", "other"), key
            assert f"{base}|other" in tb and base not in tb, key
            assert "{n}" in text or form != "other", key


@pytest.mark.parametrize("lang", LANGS)
def test_no_bracketed_plurals(lang: str) -> None:
    """No 'vote(s)', 'deputy(ies)', 'publiée(s)': plural forms instead."""
    bad = {k: v for k, v in table(lang).items() if re.search(r"\w\((?:s|es|ies|e|e·s)\)", v)}
    assert bad == {}


def test_french_typography() -> None:
    """A no-break space before : and %, inside « », a narrow one before ; ? !
    (never a plain space, which lets the sign start a line)."""
    bad = {k: v for k, v in table("fr").items() if re.search(r"[ ][:;?!%»]|« ", v)}
    assert bad == {}
    assert "\u00a0:" in table("fr")["bill.topic"]


def test_dynamic_key_families_are_complete() -> None:
    keys = set(table("en"))
    missing = [f"{fam}.{v}" for fam, values in DYNAMIC.items() for v in values if f"{fam}.{v}" not in keys]
    assert missing == []


def test_every_refusal_code_reads_as_a_sentence() -> None:
    codes = {cls.code for cls in ALL_REFUSALS} | HTTP_CODES
    for lang in LANGS:
        t = table(lang)
        missing = sorted(c for c in codes if f"problem.{c}" not in t)
        assert missing == [], f"{lang}: no sentence for {missing}"


def test_nothing_is_loaded_from_outside() -> None:
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.css")]:
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text(encoding="utf-8")), path
    for path, src in js_sources().items():
        urls = set(re.findall(r"https?://[^\s'\"`]+", src))
        assert urls <= {"https://liquid-mandate.org/problems/", "http://www.w3.org/2000/svg"}, (path, urls)
        for spec in re.findall(r"""^import .* from ['"]([^'"]+)['"]""", src, re.M):
            assert spec.startswith("."), f"{path}: bare import {spec} needs a build step"


def test_index_loads_the_app_as_a_module() -> None:
    html = (WEB / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="js/app.js"></script>' in html
    assert 'name="viewport"' in html


# Static `import … from '…'`, `import '…'`, `export … from '…'` (one or many
# lines), and dynamic `import('…')`. Anchored at a line start so that text in
# comments or strings mentioning "import" does not count.
STATIC_IMPORT = re.compile(r"""^[ \t]*(?:import|export)\b(?:[\w\s{},*$]*?\bfrom)?\s*['"]([^'"\n]+)['"]""", re.M)
DYNAMIC_IMPORT = re.compile(r"""(?<![\w.$])import\s*\(\s*([^)]*?)\s*\)""")


def import_specs(src: str) -> list[str]:
    """Every module specifier a source imports, in order of appearance."""
    specs = [m.group(1) for m in STATIC_IMPORT.finditer(src)]
    for m in DYNAMIC_IMPORT.finditer(src):
        literal = re.fullmatch(r"""['"]([^'"]+)['"]""", m.group(1))
        assert literal, f"dynamic import of a computed name cannot be checked: import({m.group(1)})"
        specs.append(literal.group(1))
    return specs


def import_graph(root: Path) -> dict[Path, set[Path]]:
    """Module -> the modules it imports, resolved like a browser resolves
    relative specifiers; a specifier naming no file is an error here."""
    graph: dict[Path, set[Path]] = {}
    for path in sorted(root.rglob("*.js")):
        edges = set()
        for spec in import_specs(path.read_text(encoding="utf-8")):
            target = (path.parent / spec).resolve()
            assert target.is_file(), f"{path.relative_to(root)} imports {spec}, which is no file"
            edges.add(target)
        graph[path.resolve()] = edges
    return graph


def find_cycle(graph: dict[Path, set[Path]]) -> list[Path] | None:
    """One import cycle (first module repeated at the end), or None: a
    depth-first search that reports the first back edge it meets."""
    state: dict[Path, int] = {}  # 1 on the current path, 2 finished
    stack: list[Path] = []

    def visit(node: Path) -> list[Path] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_import_parser_sees_every_form() -> None:
    src = (
        "// import { no } from './comment.js';\n"
        "import { a,\n  b } from './one.js';\n"
        'import * as m from "./two.js";\n'
        "import './three.js';\n"
        "export { c } from './four.js';\n"
        "export * from './five.js';\n"
        "const k = await crypto.subtle.importKey('raw', x);\n"
        "const lazy = await import('./six.js');\n"
    )
    assert import_specs(src) == ["./one.js", "./two.js", "./three.js", "./four.js", "./five.js", "./six.js"]


def test_cycle_finder_finds_a_cycle() -> None:
    a, b, c, d = (Path(f"/{n}.js") for n in "abcd")
    assert find_cycle({a: {b}, b: {c}, c: set(), d: {a}}) is None
    assert find_cycle({a: {b}, b: {c}, c: {a}, d: {a}}) == [a, b, c, a]
    assert find_cycle({a: {a}}) == [a, a]


def test_web_modules_import_no_cycle() -> None:
    """Issue 10: shared view helpers live in views/common.js, live updates
    and timers are methods of the app object, so no module imports one that
    (through others) imports it back."""
    graph = import_graph(WEB / "js")
    assert sum(map(len, graph.values())) > 20, "the parser found too few imports to be reading them"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(str(p.relative_to(WEB / "js")) for p in cycle)


def test_every_module_is_reached_from_the_app() -> None:
    graph = import_graph(WEB / "js")
    seen, todo = set(), [(WEB / "js" / "app.js").resolve()]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    assert sorted(str(p.relative_to(WEB / "js")) for p in set(graph) - seen) == []
