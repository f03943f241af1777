"""The progress line of `check`: counts, and the gateways it still waits for, named.

The end of a run is where it stalls: black holes that take their full timeout. A real check
runs here, in this process, against a server that accepts and never says a word, with the
progress line drawn on a stream that says it is a terminal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Sequence
from typing import Any

import pytest

from smtpcheck.cli.progress import Bar, progress_bar
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import Endpoint, ProbeResult, TlsMode
from smtpcheck.runner import Watch, probe_all
from tests.support.gateways import gateway, run_check
from tests.support.servers import RawServer, scripted

__all__: list[str] = []

_CLEAR = "\r\x1b[K"


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, and keeps every frame drawn on it."""

    def isatty(self) -> bool:
        return True

    def frames(self) -> list[str]:
        return self.getvalue().split(_CLEAR)[1:]


@pytest.fixture
def quick(options: ProbeOptions) -> ProbeOptions:
    """Short waits: a silent port is given up on after 1 s."""
    return dataclasses.replace(options, timeout=1.0, diagnose_after=0.3)


async def test_progress_names_the_gateway_a_real_check_still_waits_for(
    smtp_server, quick, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "100")
    fast = await smtp_server(RawServer(scripted()))
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    fleet = [
        gateway(fast.port, gid=gid, mode="none", auth=False, params={"mail.smtp.user": f"u{gid}"})
        for gid in (1, 2, 3)
    ]
    fleet.append(gateway(silent.port, gid=7, mode="none", auth=False))
    terminal = _Terminal()
    with progress_bar(terminal) as bar:
        assert isinstance(bar, Watch)
        report = await run_check(fleet, quick, progress=bar)
    assert [g.id for g in report.gateways] == [1, 2, 3, 7]
    frames = terminal.frames()
    stalled = f"probing 3/4 · waiting for 1: gateway 7 mail.test:{silent.port}"
    assert stalled in frames, frames
    assert frames[-2:] == ["probing 4/4", ""], "the line is erased before the report"


def test_progress_bar_is_none_unless_the_stream_is_a_terminal():
    with progress_bar(io.StringIO()) as bar:
        assert bar is None


def test_progress_bar_draws_only_for_fleets():
    terminal = _Terminal()
    bar = Bar(terminal, width=80)
    bar(1, 1)
    bar.close()
    assert terminal.getvalue() == ""
    bar(1, 3)
    bar(3, 3)
    bar.close()
    assert terminal.frames() == ["probing 1/3 · waiting for 2", "probing 3/3", ""]


def test_progress_line_fits_whole_names_and_says_there_are_more():
    bar = Bar(_Terminal(), width=70)
    bar.waiting(["gateway 7 mx.dealer.test:465", "gateway 8 mx.dealer.test:465", "gateway 9 x:25"])
    bar(197, 200)
    line = bar.line()
    assert line == "probing 197/200 · waiting for 3: gateway 7 mx.dealer.test:465, …"
    assert len(line) < 70


def test_progress_line_without_room_for_one_name():
    bar = Bar(_Terminal(), width=30)
    bar.waiting(["gateway 7 mx.dealer.test:465"])
    bar(1, 2)
    assert bar.line() == "probing 1/2 · waiting for 1: …"


def test_progress_line_escapes_what_a_path_may_hold():
    bar = Bar(_Terminal(), width=200)
    bar.waiting(["gateway at evil\x1b[2J.json[0] h:25"])
    bar(1, 2)
    assert "\x1b[2J" not in bar.line() and "evil\\x1b[2J.json" in bar.line()


def test_progress_redraws_when_a_probe_starts_once_the_line_is_shown():
    terminal = _Terminal()
    bar = Bar(terminal, width=80)
    bar.waiting(["a:25", "b:25"])  # before the first probe ends: nothing is drawn yet
    assert terminal.getvalue() == ""
    bar(1, 3)
    bar.waiting(["b:25", "c:25"])
    assert terminal.frames() == [
        "probing 1/3 · waiting for 2: a:25, b:25",
        "probing 1/3 · waiting for 2: b:25, c:25",
    ]


def _settings(host: str, port: int) -> SmtpSettings:
    return SmtpSettings(
        endpoint=Endpoint(host, port, TlsMode.NONE),
        auth=False,
        user=None,
        password=None,
        trust_all_hosts=False,
        connect_timeout_ms=1000,
        read_timeout_ms=1000,
    )


class _Recorder:
    """A `Watch` that writes down what it is told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, Any]] = []

    def __call__(self, done: int, total: int, /) -> None:
        self.told.append(("done", (done, total)))

    def waiting(self, running: Sequence[str], /) -> None:
        self.told.append(("running", list(running)))


async def test_runner_tells_a_watch_which_targets_are_running():
    # The probe is the runner's own seam (blackbox's prober): it finishes when the test says.
    release = {name: asyncio.Event() for name in ("a.test", "b.test")}

    async def probe(settings: SmtpSettings, /, *, extra_slot: Any) -> ProbeResult:
        await release[settings.host or ""].wait()
        return ProbeResult(steps=(), ms=1.0)

    watch = _Recorder()
    targets = [_settings("a.test", 25), _settings("b.test", 587), _settings("a.test", 25)]
    run = asyncio.ensure_future(probe_all(targets, probe, progress=watch))
    for _ in range(5):
        await asyncio.sleep(0)
    assert watch.told[-1] == ("running", ["a.test:25", "b.test:587", "a.test:25"])
    release["b.test"].set()
    await asyncio.sleep(0.01)
    assert watch.told[-2:] == [("running", ["a.test:25", "a.test:25"]), ("done", (1, 3))]
    release["a.test"].set()
    await run
    assert watch.told[-2:] == [("running", []), ("done", (3, 3))]


async def test_runner_names_targets_as_it_is_told_and_a_plain_callback_still_works():
    async def probe(settings: SmtpSettings, /, *, extra_slot: Any) -> ProbeResult:
        return ProbeResult(steps=(), ms=1.0)

    watch = _Recorder()
    await probe_all([_settings("::1", 25)], probe, progress=watch, names=["gateway 9"])
    assert ("running", ["gateway 9"]) in watch.told
    await probe_all([_settings("::1", 25)], probe, progress=watch)
    assert ("running", ["[::1]:25"]) in watch.told
    counts: list[tuple[int, int]] = []
    await probe_all([_settings("a.test", 25)], probe, progress=lambda d, t: counts.append((d, t)))
    assert counts == [(1, 1)]
