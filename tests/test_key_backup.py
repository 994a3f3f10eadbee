"""The encrypted key backup shared by the web UI and the command line
(docs/KEYS.md): what one writes the other reads; a wrong passphrase, a
swapped public key, a weak KDF or a broken file is refused and writes
nothing. (The browser's side is tested in tests/test_web.py.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from client import backup
from client.backup import BackupError, make_backup, open_backup
from client.cli import main
from crypto.signing import KeyPair

PASS = "correct horse battery"
FAST = 100_000  # the smallest accepted count, to keep the tests quick


def test_round_trip() -> None:
    key = KeyPair.generate()
    doc = make_backup(key, PASS, iterations=FAST)
    assert doc["public_key"] == key.public_hex and doc["kdf"]["iterations"] == FAST
    assert key.seed.hex() not in json.dumps(doc)
    assert open_backup(json.dumps(doc), PASS).seed == key.seed


def test_default_iterations_are_the_browsers() -> None:
    assert backup.ITERATIONS == 600_000  # web/js/keys.js ITERATIONS


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda d: d.update(public_key=KeyPair.generate().public_hex), "wrong_passphrase"),  # bound as additional data
        (lambda d: d.update(ciphertext=base64.b64encode(b"x" * 40).decode()), "wrong_passphrase"),
        (lambda d: d["kdf"].update(iterations=1000), "bad_backup"),
        (lambda d: d["kdf"].update(hash="SHA-1"), "bad_backup"),
        (lambda d: d.update(format="something-else"), "bad_backup"),
        (lambda d: d.update(version=2), "bad_backup"),
        (lambda d: d["cipher"].pop("iv"), "bad_backup"),
    ],
)
def test_tampered_backups_are_refused(change, code: str) -> None:  # noqa: ANN001
    doc = make_backup(KeyPair.generate(), PASS, iterations=FAST)
    change(doc)
    with pytest.raises(BackupError) as e:
        open_backup(json.dumps(doc), PASS)
    assert e.value.code == code


def test_wrong_passphrase_and_weak_one() -> None:
    doc = json.dumps(make_backup(KeyPair.generate(), PASS, iterations=FAST))
    with pytest.raises(BackupError) as e:
        open_backup(doc, "not the passphrase")
    assert e.value.code == "wrong_passphrase"
    with pytest.raises(BackupError) as e:
        make_backup(KeyPair.generate(), "short")
    assert e.value.code == "weak_passphrase"
    with pytest.raises(BackupError):
        open_backup("not json", PASS)


def test_cli_writes_reads_and_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIQUID_MANDATE_PASSPHRASE", PASS)
    plain, enc, back = tmp_path / "me.key", tmp_path / "me.json", tmp_path / "again.key"
    assert main(["key", "new", str(plain)]) == 0
    pub = capsys.readouterr().out.strip()
    assert main(["key", "backup", str(plain), "--out", str(enc)]) == 0
    assert json.loads(enc.read_text())["public_key"] == pub and enc.stat().st_mode & 0o777 == 0o600
    capsys.readouterr()
    assert main(["key", "show", str(enc)]) == 0  # any --key FILE may be a backup
    assert capsys.readouterr().out.strip() == pub
    assert main(["key", "restore", str(enc), str(back)]) == 0
    assert back.read_text().split()[-1] == plain.read_text().split()[-1]
    # Refusals write nothing: wrong passphrase, existing file.
    monkeypatch.setenv("LIQUID_MANDATE_PASSPHRASE", "wrong passphrase")
    assert main(["key", "restore", str(enc), str(tmp_path / "x.key")]) == 1
    assert not (tmp_path / "x.key").exists()
    assert "wrong passphrase" in capsys.readouterr().err
    monkeypatch.setenv("LIQUID_MANDATE_PASSPHRASE", PASS)
    assert main(["key", "backup", str(plain), "--out", str(enc)]) == 1
    monkeypatch.setenv("LIQUID_MANDATE_PASSPHRASE", "short")
    assert main(["key", "backup", str(plain), "--out", str(tmp_path / "weak.json")]) == 1
    assert not (tmp_path / "weak.json").exists()


def test_a_key_file_whose_comment_names_another_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    f = tmp_path / "mixed.key"
    f.write_text(f"# public key {b.public_hex}\n{a.seed.hex()}\n")
    assert main(["key", "show", str(f)]) == 1
    assert "another public key" in capsys.readouterr().err
