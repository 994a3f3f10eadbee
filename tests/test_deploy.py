"""The deploy/ examples (docs/SPEC.md section 13.5): nginx accepts its
configuration (``nginx -t``, Debian's nginx), systemd accepts the unit
(``systemd-analyze verify``) and the unit holds the hardening the README
promises. With CI=true a missing tool fails; elsewhere it skips."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.processes import ROOT

DEPLOY = ROOT / "deploy"


def tool(name: str, *fallbacks: str) -> str:
    found = shutil.which(name) or next((f for f in fallbacks if Path(f).is_file()), None)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is missing: `make system-deps` installs it")
        pytest.skip(f"{name} is not installed (make system-deps)")
    return found


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=vote.example.org"],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_test(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on a main configuration that includes ``site``, with
    every path nginx writes inside ``tmp_path``."""
    cert, key = self_signed(tmp_path)
    site = site.replace("/etc/letsencrypt/live/vote.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/vote.example.org/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    temp = {k: tmp_path / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    main = f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {tmp_path}/site.conf;
}}
"""
    (tmp_path / "nginx.conf").write_text(main)
    nginx = tool("nginx", "/usr/sbin/nginx")
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    r = nginx_test(tmp_path, (DEPLOY / "nginx.conf").read_text())
    assert r.returncode == 0, r.stderr
    assert "syntax is ok" in r.stderr and "test is successful" in r.stderr


def test_nginx_test_catches_a_broken_example(tmp_path: Path) -> None:
    """The check above can fail: a typo in a directive is refused."""
    broken = (DEPLOY / "nginx.conf").read_text().replace("proxy_buffering off;", "proxy_bufering off;")
    r = nginx_test(tmp_path, broken)
    assert r.returncode != 0 and "proxy_bufering" in r.stderr


def test_nginx_sets_the_address_the_server_reads() -> None:
    """The server believes the last X-Forwarded-For entry
    (serving/client_address.py): both proxies must set it to their peer."""
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_pass http://liquid_mandate;" in nginx and "server 127.0.0.1:8080;" in nginx
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy 127.0.0.1:8080" in caddy and "header_up X-Forwarded-For {remote_host}" in caddy


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "liquid-mandate.service").read_text())
    return parser


def test_the_unit_is_hardened_and_writes_only_its_data_directory() -> None:
    s = unit()["Service"]
    assert s["User"] == "liquid-mandate" and s["Group"] == "liquid-mandate"
    assert s["NoNewPrivileges"] == "yes" and s["ProtectSystem"] == "strict" and s["ProtectHome"] == "yes"
    assert s["CapabilityBoundingSet"] == "" and s["PrivateDevices"] == "yes"
    data_dir = "/var/lib/liquid-mandate"
    assert s["ReadWritePaths"] == data_dir and s["StateDirectory"] == "liquid-mandate"
    argv = shlex.split(s["ExecStart"])
    assert argv[argv.index("--data-dir") + 1] == data_dir
    assert argv[argv.index("--host") + 1] == "127.0.0.1"  # only the proxy reaches it
    assert "--behind-proxy" in argv and argv[argv.index("--log-format") + 1] == "json"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    text = (DEPLOY / "liquid-mandate.service").read_text()
    # The interpreter must exist for verify: point it at this one.
    (tmp_path / "liquid-mandate.service").write_text(
        text.replace("/opt/liquid-mandate/.venv/bin/python", sys.executable)
    )
    r = subprocess.run([analyze, "verify", str(tmp_path / "liquid-mandate.service")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
