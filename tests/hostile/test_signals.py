"""Ctrl-C and SIGTERM keep what finished: a report of it, the rest marked, 130 / 143, no stray file.

Once, Ctrl-C threw away every finished result (294 of 300) and exited 2, and SIGTERM printed
nothing (issue 10, class 10).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.support.cli import environment
from tests.support.gateways import gateway
from tests.support.report_schema import parse_report
from tests.support.servers import HOST, RawServer, scripted

__all__: list[str] = []


def _gateway(port: int, gid: int) -> dict[str, object]:
    # An IP literal: the child process has no test resolver. Its own user: not one probe.
    params = {"mail.smtp.user": f"u{gid}"}
    return gateway(port, gid=gid, host=HOST, mode="none", auth=False, params=params)


async def _start_check(fleet: Path, *args: str) -> asyncio.subprocess.Process:
    """Start ``smtpcheck check FLEET ARGS`` in a child process, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smtpcheck", "check", str(fleet),
        "--timeout", "30", "--ehlo", "client.test", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=environment(),
    )  # fmt: skip


async def _wait_for(condition, *, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the servers' counters are plain numbers
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_signal_mid_run_reports_what_finished(smtp_server, tmp_path: Path, sig, code):
    working = await smtp_server(RawServer(scripted()))
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    fleet = [_gateway(working.port, gid) for gid in range(3)]
    fleet += [_gateway(silent.port, gid) for gid in (10, 11)]
    (tmp_path / "fleet.json").write_text(json.dumps(fleet))
    out = tmp_path / "report.json"
    out.write_text('{"the previous": "report"}')
    process = await _start_check(tmp_path / "fleet.json", "--format", "json", "-o", str(out))
    # The working gateways are done once their connections closed; the silent ones wait.
    await _wait_for(lambda: working.counter.accepted == 3 and working.counter.open == 0)
    await _wait_for(lambda: silent.counter.accepted >= 2)
    process.send_signal(sig)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == code, stderr.decode()
    assert "interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    report = parse_report(out.read_text())
    status = {g["id"]: g["status"] for g in report["gateways"]}
    assert {gid: status[gid] == "error" for gid in status} == {
        0: False, 1: False, 2: False, 10: True, 11: True
    }, status  # fmt: skip
    for gid in (10, 11):
        found = next(g for g in report["gateways"] if g["id"] == gid)
        assert [f["code"] for f in found["findings"] if f["code"] == "SC903"] == ["SC903"]
    left = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240
    assert left == ["fleet.json", "report.json"]  # no temporary file left beside it


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_under_nagios_is_one_unknown_line(smtp_server, tmp_path: Path, sig):
    # An unfinished check is UNKNOWN (exit 3), never CRITICAL: what it saw so far is not a verdict.
    working = await smtp_server(RawServer(scripted()))
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    fleet = [_gateway(working.port, 0), _gateway(silent.port, 10)]
    (tmp_path / "fleet.json").write_text(json.dumps(fleet))
    process = await _start_check(tmp_path / "fleet.json", "--format", "nagios")
    await _wait_for(lambda: working.counter.accepted == 1 and working.counter.open == 0)
    await _wait_for(lambda: silent.counter.accepted >= 1)
    process.send_signal(sig)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 3, (stdout, stderr)
    assert stdout.decode() == (
        f"SMTPCHECK UNKNOWN - interrupted by {sig.name}: 1 of 2 gateways checked; "
        "the others are marked interrupted (SC903)\n"
    ), stderr
