"""The per-member comment rate is the server's configurable policy
(--comment-rate, docs/SPEC.md 15.3): its flag and environment variable, the
clear refusal of a bad value, and a server started with a rate refusing the
comment over it (429 rate_limited, nothing written) until the window passes."""

from __future__ import annotations

import pytest

import server
from client.author import comment
from serving.settings import parse_comment_rate, settings_from
from tests.test_server import Client
from tests.world import Clock


def test_default_flag_environment_and_off() -> None:
    assert settings_from([], {})[1].comment_rate == (6, 60)
    assert server.Settings().comment_rate == (6, 60)
    assert settings_from(["--comment-rate", "2/10"], {})[1].comment_rate == (2, 10)
    assert settings_from([], {"LIQUID_MANDATE_COMMENT_RATE": "3/600"})[1].comment_rate == (3, 600)
    assert settings_from(["--comment-rate", "4/5"], {"LIQUID_MANDATE_COMMENT_RATE": "3/600"})[1].comment_rate == (4, 5)
    assert settings_from(["--comment-rate", "off"], {})[1].comment_rate is None
    assert parse_comment_rate(" OFF ") is None


@pytest.mark.parametrize("bad", ["6", "6/", "/60", "0/60", "6/0", "-1/60", "six/60", "6/60s", "1.5/60", ""])
def test_a_bad_rate_is_refused_clearly(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="--comment-rate"):
        parse_comment_rate(bad)
    with pytest.raises(SystemExit) as exit_:
        settings_from(["--comment-rate", bad], {})
    assert exit_.value.code == 2 and "--comment-rate" in capsys.readouterr().err


async def _bill(c: Client) -> None:
    await c.post(c.founder.sign("topic", c.assembly, id="t", title="T", description="", parent=None))
    await c.post(
        c.founder.sign(
            "motion",
            c.assembly,
            id="m",
            topic="t",
            title="M",
            summary="S",
            url="",
            opens="2026-01-01T00:00:00Z",
            closes="2099-01-01T00:00:00Z",
            quorum=None,
        )
    )


async def test_the_server_applies_its_rate(aiohttp_client, tmp_path, clock: Clock) -> None:
    settings = server.Settings(data_dir=tmp_path, close_interval=0.05, comment_rate=(2, 30))
    api = await aiohttp_client(server.create_app(settings, clock=clock))
    c = Client(api)
    await c.found()
    ann, bob = await c.member("ann"), await c.member("bob")
    await _bill(c)
    await c.post(comment(ann, c.assembly, "one", motion="m"))
    clock.advance(seconds=10)
    await c.post(comment(ann, c.assembly, "two", motion="m"))
    size = len(await c.log())
    refused = await c.post(comment(ann, c.assembly, "three", motion="m"), status=429)
    assert refused["type"].endswith("/rate_limited") and "at most 2 comments in 30 seconds" in refused["detail"]
    assert len(await c.log()) == size  # nothing written
    await c.post(comment(bob, c.assembly, "bob's first", motion="m"))  # per member: bob is not held back
    clock.advance(seconds=21)  # ann's first comment is now 31 s old: one more fits the window
    await c.post(comment(ann, c.assembly, "three", motion="m"))


async def test_off_means_no_limit(aiohttp_client, tmp_path, clock: Clock) -> None:
    settings = server.Settings(data_dir=tmp_path, close_interval=0.05, comment_rate=None)
    api = await aiohttp_client(server.create_app(settings, clock=clock))
    c = Client(api)
    await c.found()
    ann = await c.member("ann")
    await _bill(c)
    for i in range(8):  # above the default of 6 in 60 s, all at the same instant
        await c.post(comment(ann, c.assembly, f"n{i}", motion="m"))
