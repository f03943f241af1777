"""The cycles of `serve`: spread over the interval, never closer than it, limits held, reloads.

Real servers in the test's loop; the scheduler runs in-process with an in-memory history.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from smtpcheck.pipeline.check import CheckOptions
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.sources import Sources
from smtpcheck.runner import RunLimits
from smtpcheck.serve.fleet import FleetTracker
from smtpcheck.serve.history import History
from smtpcheck.serve.scheduler import Schedule, Scheduler, place_in_interval
from smtpcheck.serve.shard import Shard, parse_shard
from tests.support.gateways import gateway
from tests.support.servers import RawServer, Smtpd, scripted

__all__: list[str] = []


def _timed(script, times: list[float]):
    async def record(reader, writer):
        times.append(asyncio.get_running_loop().time())
        await script(reader, writer)

    return record


def _fleet(tmp_path: Path, ports: list[int]) -> Path:
    path = tmp_path / "fleet.json"
    fleet = [
        gateway(port, gid=gid, mode="none", auth=False, params={"mail.smtp.user": f"u{gid}"})
        for gid, port in enumerate(ports, start=1)
    ]
    path.write_text(json.dumps(fleet))
    return path


def _scheduler(path: Path, options, *, interval: float, limits=None, shard=None):
    schedule = Schedule(
        sources=Sources([str(path)], environ={}),
        lint=LintOptions(),
        check=CheckOptions(probe=options, limits=limits or RunLimits()),
        interval_s=interval,
        refresh_s=3600,
        shard=shard or Shard(),
    )
    history = History.open(None)
    tracker = FleetTracker(history, interval_s=interval, started_at=0.0, clock=_clock)
    return Scheduler(schedule, tracker), tracker, history


def _clock() -> float:
    return asyncio.get_running_loop().time()


async def _run_for(scheduler: Scheduler, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_probes_are_spread_and_never_closer_than_the_interval(smtp_server, tmp_path, options):
    interval = 1.5
    times: dict[int, list[float]] = defaultdict(list)
    ports = []
    for gid in range(1, 7):
        server = await smtp_server(RawServer(_timed(scripted(), times[gid])))
        ports.append(server.port)
    scheduler, tracker, history = _scheduler(_fleet(tmp_path, ports), options, interval=interval)
    with history:
        await _run_for(scheduler, interval * 3.2)
    firsts = sorted(t[0] for t in times.values())
    assert firsts[-1] - firsts[0] > interval * 0.2, firsts  # not all at once
    for gid, seen in times.items():
        assert len(seen) >= 2, (gid, seen)
        gaps = [b - a for a, b in itertools.pairwise(seen)]
        assert min(gaps) >= interval - 0.05, (gid, gaps)  # loop clock; sleeps never end early
    view = tracker.view()
    assert view.ready and view.cycle is not None and view.cycle.number >= 2
    assert [g.key for g in view.gateways] == [str(gid) for gid in range(1, 7)]
    assert all(g.report.works for g in view.gateways)


async def test_an_aiosmtpd_with_starttls_and_auth_is_checked_in_cycles(
    smtp_server, tmp_path, options, certs
):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps([gateway(server.port, gid=5)]))  # STARTTLS required + AUTH
    scheduler, tracker, history = _scheduler(path, options, interval=1.0)
    with history:
        await _run_for(scheduler, 2.5)
    (state,) = tracker.view().gateways
    assert state.report.works and state.report.probe is not None, state.report.findings
    assert state.report.probe.tls is not None and server.counter.logins >= 2  # two cycles


async def test_the_per_host_limit_holds_across_a_cycle(smtp_server, tmp_path, options):
    # Twelve gateways on one server that answers slowly: at most two connections at once.
    server = await smtp_server(RawServer(scripted(delay=0.3)))
    scheduler, tracker, history = _scheduler(
        _fleet(tmp_path, [server.port] * 12), options, interval=1.0, limits=RunLimits(per_host=2)
    )
    with history:
        await _run_for(scheduler, 4.0)  # 12 × 0.3 s two at a time, after a 0.9 s spread
    assert 0 < server.counter.peak <= 2, server.counter.peak
    assert tracker.view().ready


async def test_failing_since_is_kept_and_consecutive_failures_counted(
    smtp_server, tmp_path, options
):
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    options = dataclasses.replace(options, timeout=0.4, diagnose_after=0.2)
    scheduler, tracker, history = _scheduler(_fleet(tmp_path, [silent.port]), options, interval=1.0)
    with history:
        await _run_for(scheduler, 2.6)
    (state,) = tracker.view().gateways
    assert state.report.status == "failed"
    assert state.consecutive_failures >= 2
    assert state.failing_since is not None and state.failing_since <= state.checked_at


async def test_a_probe_asked_twice_at_once_runs_once(smtp_server, tmp_path, options):
    server = await smtp_server(RawServer(scripted(delay=0.3)))
    scheduler, _, history = _scheduler(_fleet(tmp_path, [server.port]), options, interval=60)
    stop = asyncio.Event()
    with history:
        running = asyncio.create_task(scheduler.run(stop))
        for _ in range(500):  # the list loads in a thread
            if scheduler.has("1"):
                break
            await asyncio.sleep(0.01)
        before = server.counter.accepted
        first, second = await asyncio.gather(scheduler.probe_now("1"), scheduler.probe_now("1"))
        stop.set()
        await asyncio.wait_for(running, 5)
    assert first is second and first is not None and first.report.works
    assert server.counter.accepted - before <= 2  # one probe (the cycle's own may add one)
    assert await scheduler.probe_now("nope") is None


def test_places_in_the_interval_are_stable_and_spread():
    keys = [str(i) for i in range(2000)]
    places = [place_in_interval(key, 300) for key in keys]
    assert places == [place_in_interval(key, 300) for key in keys]  # the same in every process
    assert all(0 <= p < 300 for p in places)
    assert 120 < statistics.mean(places) < 150  # spread over the first 90 % of the interval


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_every_gateway_is_in_exactly_one_shard(count):
    keys = [str(i) for i in range(3000)] + ["none", "7#2"]
    owners = [[k for k in range(1, count + 1) if Shard(k, count).takes(key)] for key in keys]
    assert all(len(owner) == 1 for owner in owners)
    sizes = [sum(1 for owner in owners if owner == [k]) for k in range(1, count + 1)]
    assert max(sizes) - min(sizes) < len(keys) / count * 0.15, sizes  # about even


@pytest.mark.parametrize(("text", "shard"), [("1/1", Shard()), (" 2/4 ", Shard(2, 4))])
def test_shards_parse(text, shard):
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "1-4", "a/b", "", "1/4/2"])
def test_bad_shards_are_refused(text):
    with pytest.raises(ValueError):
        parse_shard(text)
