"""The verifier's own primitives against the shared vectors and the project's
implementations, and the proof that verify_cli.py imports nothing of ours."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import nacl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verify_cli as V
from crypto import merkle
from crypto.canonical import canonical_bytes
from tests.verifier_logs import build_scenario, write_log

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
FORBIDDEN = ("crypto", "ballots", "delegation", "tally", "server", "client", "tests")


# -- import isolation ------------------------------------------------------------


def test_source_imports_only_stdlib_and_nacl() -> None:
    tree = ast.parse((ROOT / "verify_cli.py").read_text())
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            tops.add((node.module or "").split(".")[0])
    assert tops - {"__future__", "nacl"} <= set(sys.stdlib_module_names), tops


_ISOLATED = """
import sys, importlib.abc
FORBIDDEN = {forbidden!r}
class Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError("verify_cli must not import " + name)
sys.meta_path.insert(0, Guard())
sys.path[:] = [{nacl_site!r}] + [p for p in sys.path if "site-packages" not in p and p not in ("", ".")]
import runpy
sys.argv = ["verify_cli.py"] + {argv!r}
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as e:
    bad = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    print("FORBIDDEN-LOADED", bad, file=sys.stderr)
    raise
"""


def test_runs_isolated_with_only_nacl(tmp_path: Path) -> None:
    """python -I -S: no site, no environment, no project on the path; only
    nacl's site directory; and an import hook that refuses our packages."""
    sc = build_scenario(tmp_path)
    log = write_log(tmp_path / "log.jsonl", sc.lines)
    (tmp_path / "cp.txt").write_text(sc.checkpoint)
    nacl_site = str(Path(nacl.__file__).resolve().parents[1])
    code = _ISOLATED.format(
        forbidden=FORBIDDEN,
        nacl_site=nacl_site,
        script=str(ROOT / "verify_cli.py"),
        argv=[str(log), "--checkpoint", str(tmp_path / "cp.txt"), "--jobs", "2", "--json"],
    )
    p = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 3, p.stderr  # no witness policy in this log: its closes are not judged
    rep = json.loads(p.stdout)
    assert rep["failures"] == [] and rep["skipped"]["witnessed_closes"].startswith("no witness policy")
    assert "FORBIDDEN-LOADED []" in p.stderr


# -- canonical JSON ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["arrays", "french", "unicode", "weird"])
def test_jcs_vectors(name: str) -> None:
    src = (VECTORS / "jcs" / "input" / f"{name}.json").read_bytes()
    want = (VECTORS / "jcs" / "output" / f"{name}.json").read_bytes()
    assert V.canonical(V.parse_strict(src)) == want
    assert V.read_canonical(want)[2] is None


def test_jcs_structures_vector_holds_a_float_and_is_refused() -> None:
    with pytest.raises(V.CanonicalError, match="not an integer"):
        V.parse_strict((VECTORS / "jcs" / "input" / "structures.json").read_bytes())


@pytest.mark.parametrize(
    "text, why",
    [
        (b"1.0", "not an integer"),
        (b"1e3", "not an integer"),
        (b"-0.5", "not an integer"),
        (b'{"a":1,"a":2}', "duplicate key"),
        (b"9007199254740992", "outside"),
        (b"-9007199254740992", "outside"),
        (b'"\\udc00"', "surrogate"),
        (b'"\\ud800x"', "surrogate"),
        (b"\xed\xa0\x80", "UTF-8"),
        (b"NaN", "not JSON"),
        (b"Infinity", "not JSON"),
        (b"[1] [2]", "trailing"),
        (b"\xff", "UTF-8"),
    ],
)
def test_strict_parser_refusals(text: bytes, why: str) -> None:
    with pytest.raises(V.CanonicalError, match=why):
        V.parse_strict(text)
    assert V.read_canonical(text)[2] is not None


def test_non_canonical_forms_are_reported() -> None:
    for text in (b'{"b":1,"a":2}', b'{"a": 1}', b'"\\u0041"', b'"\\u00e9"', b"-0", b'"\\/"', b'{"a":"\\u001F"}'):
        value, canon, problem = V.read_canonical(text)
        assert problem and value is not None and canon != text


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":1}',
        '{"é":1,"é":1}',
        '{"x":{"é":"ü","é":"ü"}}',
        '[{"k":"\u00e9","k":"\u00e9"}]',
        '{"😂":1,"😂":1}',
    ],
)
def test_duplicate_keys_are_caught_by_the_re_encoding(text: str) -> None:
    """The C decoder keeps the last of duplicate keys, so the re-encoding has
    fewer members than the line and differs from it: the fast path never
    passes such a line, and the strict parser names the problem."""
    line = text.encode()
    if "😂" not in text:  # non-BMP lines skip the fast path altogether
        assert V._DUMPS(json.loads(text)).encode() != line
    value, canon, problem = V.read_canonical(line)
    assert problem is not None and "duplicate key" in problem


def test_non_ascii_lines_take_the_fast_path_exactly() -> None:
    for value in ({"é": "ü", "a": ["ß", 1]}, {"\ufb33": 1, "z": "\U0001f602"}, {"\U0001f602": 1, "\ufb33": 2}):
        line = canonical_bytes(value)
        assert V.read_canonical(line) == (value, line, None)
    # code point order would put U+FB33 first; UTF-16 order puts the emoji first
    bad = '{"\ufb33":2,"\U0001f602":1}'.encode()
    assert V.read_canonical(bad)[2] == "line is valid JSON but not its canonical encoding"


def test_utf16_key_order() -> None:
    value = {"\ufb33": 1, "\U0001f602": 2}
    assert V.canonical(value) == canonical_bytes(value)
    assert V.canonical(value).index("\U0001f602".encode()) < V.canonical(value).index("\ufb33".encode())
    assert V.read_canonical(V.canonical(value))[2] is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_agrees_with_the_project_encoder(value: object) -> None:
    try:
        want = canonical_bytes(value)
    except ValueError:
        with pytest.raises(V.CanonicalError):
            V.canonical(value)
        return
    assert V.canonical(value) == want
    back, canon, problem = V.read_canonical(want)
    assert problem is None and back == value and canon == want


# -- Merkle ----------------------------------------------------------------------------


def _b64(x: str | None) -> bytes:
    return base64.b64decode(x) if x else b""


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / "merkle" / kind).rglob("*.json"))


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: "/".join(p.parts[-2:]))
def test_inclusion_vectors(path: Path) -> None:
    c = json.loads(path.read_text())
    proof = [_b64(p) for p in c["proof"] or []]
    try:
        V.verify_inclusion(
            index=c["leafIdx"], size=c["treeSize"], leaf=_b64(c["leafHash"]), proof=proof, root=_b64(c["root"])
        )
        ok = True
    except V.ProofError:
        ok = False
    assert ok is not c["wantErr"], c["desc"]


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: "/".join(p.parts[-2:]))
def test_consistency_vectors(path: Path) -> None:
    c = json.loads(path.read_text())
    proof = [_b64(p) for p in c["proof"] or []]
    try:
        V.verify_consistency(
            size1=c["size1"], size2=c["size2"], root1=_b64(c["root1"]), root2=_b64(c["root2"]), proof=proof
        )
        ok = True
    except V.ProofError:
        ok = False
    assert ok is not c["wantErr"], c["desc"]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_proofs_and_roots_agree_with_the_project(n: int, data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(bytes([i % 256, i // 256])) for i in range(n)]
    store = V.LeafStore()
    tree = V.TreeBuilder()
    for h in leaves:
        store.append(h)
        tree.push(h)
    assert tree.root() == merkle.root(leaves)
    m = data.draw(st.integers(1, n))
    i = data.draw(st.integers(0, n - 1))
    assert V.consistency_proof(store, m, n) == merkle.consistency_proof(m, n, leaves)
    assert V.inclusion_proof(store, i, n) == merkle.inclusion_proof(i, n, leaves)
    V.verify_consistency(
        size1=m, size2=n, root1=merkle.root(leaves[:m]), root2=tree.root(), proof=V.consistency_proof(store, m, n)
    )
    V.verify_inclusion(index=i, size=n, leaf=leaves[i], proof=V.inclusion_proof(store, i, n), root=tree.root())


# -- signed notes ---------------------------------------------------------------------------


def test_signed_note_vector() -> None:
    ex = json.loads((VECTORS / "signed-note" / "example.json").read_text())
    name, kid_hex, key_b64 = ex["verifier_key"].split("+")
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1
    pub = raw[1:]
    assert V.note_key_id(name, pub).hex() == kid_hex
    blob = base64.b64decode(ex["signature_line"].split()[-1])
    assert blob[:4].hex() == kid_hex
    V.check_signature(pub, ex["text"].encode(), blob[4:])
    with pytest.raises(V.Problem) as bad:
        V.check_signature(pub, ex["text"].encode() + b"x", blob[4:], 7)
    assert (bad.value.check, bad.value.section, bad.value.code, bad.value.index) == (
        "signatures",
        "2",
        "bad_signature",
        7,
    )
    with pytest.raises(V.Problem):
        V.check_signature(pub[:31], ex["text"].encode(), blob[4:])


@pytest.mark.parametrize(
    "note, why",
    [
        ("origin\n1\nAAAA\n\n\u2014 origin AAAAAAA=\n", "root has 3 bytes"),
        ("origin\n01\n" + base64.b64encode(bytes(32)).decode() + "\n\n\u2014 o AAAAAAA=\n", "not a decimal"),
        ("origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n", "not a signed note"),
        (
            "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n- origin AAAAAAA=\n",
            "does not start with an em dash",
        ),
        ("o\nx\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n\u2014 o AAAAAAA=\n", "4 lines"),
    ],
)
def test_malformed_checkpoints(note: str, why: str) -> None:
    with pytest.raises(V.NoteError, match=why):
        V.Checkpoint(note, "test")


# -- apportionment -----------------------------------------------------------------------------

C = bytes(32)


def test_largest_remainder_gives_each_its_share_rounded() -> None:
    assert V.apportion("largest_remainder", {"yes": 71, "no": 19, "abstain": 10}, 7, C) == {
        "yes": 5,
        "no": 1,
        "abstain": 1,
    }
    assert V.apportion("dhondt", {"yes": 71, "no": 19, "abstain": 10}, 7, C) == {"yes": 6, "no": 1, "abstain": 0}


def test_ties_go_to_more_votes_then_to_the_lottery() -> None:
    # yes 2, no 1: remainders 2*1%3=2 and 1*1%3=1 -> yes; equal votes -> lottery
    assert V.apportion("largest_remainder", {"yes": 2, "no": 1, "abstain": 0}, 1, C)["yes"] == 1
    even = V.apportion("sainte_lague", {"yes": 1, "no": 1, "abstain": 0}, 1, C)
    first = min(("yes", "no"), key=lambda ch: V._lot(C, ch))
    assert even[first] == 1


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(V.METHODS),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 12),
    st.binary(min_size=32, max_size=32),
)
def test_apportionment_agrees_with_the_tally_package(method: str, y: int, n: int, a: int, seats: int, c: bytes) -> None:
    import tally

    votes = {"yes": y, "no": n, "abstain": a}
    got = V.apportion(method, votes, seats, c)
    assert sum(got.values()) == (seats if y + n + a else 0)
    if y + n + a:
        want = tally.apportion(method, votes, seats, tie_order=tally.choice_order(c))
        assert dict(want) == got
