"""`smtpcheck serve` end to end: a real child process, real SMTP servers, real HTTP requests.

The exporter checks a fleet against raw SMTP servers in the test's loop, answers every
endpoint, picks up a changed list on SIGHUP, and stops on SIGTERM with exit 0 within 5 s.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP

from smtpcheck.demo.inbox import Inbox, StoringHandler
from smtpcheck.demo.web import start_web
from tests.support.cli import environment, smtpcheck
from tests.support.gateways import gateway
from tests.support.report_schema import assert_valid_report
from tests.support.servers import HOST, RawServer, scripted

__all__: list[str] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _gateway(port: int, gid: int, label: str) -> dict[str, object]:
    # An IP literal: the child process has no test resolver. A user of its own: one probe each.
    params = {"mail.smtp.user": f"u{gid}"}
    found = gateway(port, gid=gid, host=HOST, mode="none", auth=False, params=params)
    return {**found, "label": label}


async def _two_gateways(
    smtp_server: Any, tmp_path: Path, *, hole: str = "Hole"
) -> tuple[RawServer, Path]:
    """Write a fleet of gateway 1 'Main' (works) and gateway 2 (a silent port); return both."""
    working = await smtp_server(RawServer(scripted()))
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        json.dumps([_gateway(working.port, 1, "Main"), _gateway(silent.port, 2, hole)])
    )
    return working, fleet


@asynccontextmanager
async def _serving(
    fleet: Path | str, *args: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smtpcheck", "serve", str(fleet),
        "--listen", f"{HOST}:{port}", "--ehlo", "client.test", "--timeout", "2", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment(),
    )  # fmt: skip
    try:
        yield process, f"http://{HOST}:{port}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _until_ready(client: httpx.AsyncClient, base: str, *, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            try:
                if (await client.get(f"{base}/-/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.1)


def _value(metrics: str, series: str) -> float:
    """Return the value of one series in an exposition text; fail when it is not there."""
    for line in metrics.splitlines():
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    raise AssertionError(f"no {series} in:\n{metrics}")


async def _wait_for_text(
    client: httpx.AsyncClient, url: str, wanted: str, *, within: float = 20.0
) -> str:
    deadline = time.monotonic() + within
    text = ""
    while time.monotonic() < deadline:
        text = (await client.get(url)).text
        if wanted in text:
            return text
        await asyncio.sleep(0.2)
    raise AssertionError(f"{wanted!r} never appeared in {url}: {text[:2000]}")


async def test_serve_answers_every_endpoint_and_stops_on_sigterm(smtp_server, tmp_path):
    working, fleet = await _two_gateways(smtp_server, tmp_path)
    async with (
        _serving(fleet, "--interval", "3s", "--label", "region=eu") as (process, base),
        httpx.AsyncClient(timeout=10) as client,
    ):
        healthy = None
        async with asyncio.timeout(20):
            while healthy is None:
                try:
                    healthy = await client.get(f"{base}/-/healthy")
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        assert healthy.status_code == 200
        await _until_ready(client, base)
        metrics = (await client.get(f"{base}/metrics")).text
        works = 'smtpcheck_gateway_works{region="eu",gateway="%s",label="%s"}'
        assert _value(metrics, works % ("1", "Main")) == 1
        assert _value(metrics, works % ("2", "Hole")) == 0
        assert _value(metrics, 'smtpcheck_cycles_total{region="eu"}') >= 1
        assert _value(metrics, 'process_resident_memory_bytes{region="eu"}') > 0
        report = (await client.get(f"{base}/report.json")).json()
        assert_valid_report(report)
        assert {g["id"]: g["works"] for g in report["gateways"]} == {1: True, 2: False}
        page = (await client.get(f"{base}/")).text
        assert "Main" in page and "Hole" in page and "SC50" in page
        probe = await client.get(f"{base}/probe", params={"gateway": "1"})
        assert probe.status_code == 200 and "smtpcheck_probe_success" in probe.text
        assert (await client.get(f"{base}/probe", params={"gateway": "9"})).status_code == 404
        assert (await client.get(f"{base}/probe")).status_code == 400
        accepted = working.counter.accepted
        process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
        took = time.monotonic() - began
    assert process.returncode == 0, stderr.decode()
    assert took < 5, took
    assert "Traceback" not in stderr.decode()
    assert working.counter.accepted >= accepted  # it did probe: the working server saw it


async def test_sighup_loads_a_changed_list(smtp_server, tmp_path):
    working = await smtp_server(RawServer(scripted()))
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([_gateway(working.port, 1, "First")]))
    async with (
        _serving(fleet, "--interval", "2s", "--refresh", "1h") as (process, base),
        httpx.AsyncClient(timeout=10) as client,
    ):
        await _until_ready(client, base)
        fleet.write_text(
            json.dumps([_gateway(working.port, 1, "First"), _gateway(working.port, 3, "Added")])
        )
        process.send_signal(signal.SIGHUP)
        await _wait_for_text(client, f"{base}/metrics", 'label="Added"')
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0


async def test_a_list_that_breaks_keeps_the_last_good_one(smtp_server, tmp_path):
    working = await smtp_server(RawServer(scripted()))
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([_gateway(working.port, 1, "Kept")]))
    async with (
        _serving(str(tmp_path), "--interval", "2s") as (process, base),
        httpx.AsyncClient(timeout=10) as client,
    ):
        await _until_ready(client, base)
        fleet.unlink()  # the directory now holds no *.json: the reload fails
        process.send_signal(signal.SIGHUP)
        await _wait_for_text(client, f"{base}/", "no *.json")
        metrics = (await client.get(f"{base}/metrics")).text
        assert 'label="Kept"' in metrics
        assert _value(metrics, "smtpcheck_list_reload_failing") == 1
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--listen", "localhost:9587"], "is not an IP address"),
        (["--listen", "127.0.0.1"], "give HOST:PORT"),
        (["--interval", "0s"], "at least one second"),
        (["--interval", "5 minutes"], "give a duration"),
        (["--shard", "0/4"], "K must be between 1 and N"),
        (["--shard", "5/4"], "K must be between 1 and N"),
        (["--shard", "x"], "give K/N"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(tmp_path, args, said):
    run = smtpcheck("serve", *args, str(tmp_path))
    assert run.code == 2 and said in run.stderr, run
    assert run.stderr.startswith("smtpcheck: error: "), run


def test_serve_on_an_address_in_use_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "fleet.json").write_text(json.dumps([_gateway(1, 1, "x")]))
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = smtpcheck("serve", "--listen", f"{HOST}:{port}", str(tmp_path / "fleet.json"))
    assert run.code == 2, run
    assert f"smtpcheck: error: cannot listen on {HOST}:{port}" in run.stderr, run


async def test_a_real_prometheus_scrapes_serve_and_queries_see_the_fleet(smtp_server, tmp_path):
    from tests.support.prometheus_server import Scrape, find_prometheus, prometheus_server

    find_prometheus()  # refused (skipped, or failed under CI=true) before anything starts
    _, fleet = await _two_gateways(smtp_server, tmp_path)
    async with (
        _serving(fleet, "--interval", "2s", "--label", "region=eu") as (process, base),
        httpx.AsyncClient(timeout=10) as client,
    ):
        await _until_ready(client, base)
        target = base.removeprefix("http://")

        def scrape_and_query() -> dict[str, list[tuple[dict[str, str], float]]]:
            with prometheus_server(tmp_path / "prom", [Scrape("smtpcheck", target)]) as prom:
                queries = {
                    "works": "smtpcheck_gateway_works",
                    "down": 'count(smtpcheck_gateway_works{region="eu"} == 0)',
                    "cycles": "smtpcheck_cycles_total",
                    "up": 'up{job="smtpcheck"}',
                }
                return {name: prom.query(promql) for name, promql in queries.items()}

        (tmp_path / "prom").mkdir()
        found = await asyncio.to_thread(scrape_and_query)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)
    works = {labels["gateway"]: value for labels, value in found["works"]}
    assert works == {"1": 1.0, "2": 0.0}, found
    assert all(labels["region"] == "eu" for labels, _ in found["works"])
    assert [value for _, value in found["down"]] == [1.0]
    assert [value for _, value in found["up"]] == [1.0]
    assert found["cycles"] and found["cycles"][0][1] >= 1


async def test_the_status_page_of_serve_renders_in_chromium(smtp_server, tmp_path):
    from tests.support.chromium import browser, dump_dom, parse_html

    browser()  # refused (skipped, or failed under CI=true) before anything starts
    _, fleet = await _two_gateways(smtp_server, tmp_path, hole="Hole <b>")
    async with (
        _serving(fleet, "--interval", "2s") as (process, base),
        httpx.AsyncClient(timeout=10) as client,
    ):
        await _until_ready(client, base)
        dom = await asyncio.to_thread(dump_dom, f"{base}/")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 10)
    rows = list(parse_html(dom).iter("tr", cls="gateway"))
    seen = [(row.attrs["data-gateway"], row.attrs["data-status"]) for row in rows]
    assert seen[0] == ("2", "failed") and seen[1][0] == "1", seen  # failures first
    assert "Hole <b>" in rows[0].text() and not list(rows[0].iter("b"))  # shown, not markup
    assert "SC50" in rows[0].text()


async def test_failing_since_survives_a_restart_with_state(smtp_server, tmp_path):
    _, fleet = await _two_gateways(smtp_server, tmp_path)
    state = tmp_path / "state.sqlite"
    since = 'smtpcheck_gateway_failing_since_timestamp_seconds{gateway="2",label="Hole"}'
    seen = []
    for _ in range(2):  # the same state file, two processes one after the other
        async with (
            _serving(fleet, "--interval", "2s", "--state", str(state)) as (process, base),
            httpx.AsyncClient(timeout=10) as client,
        ):
            await _until_ready(client, base)
            metrics = (await client.get(f"{base}/metrics")).text
            seen.append(_value(metrics, since))
            assert 'smtpcheck_gateway_failing_since_timestamp_seconds{gateway="1"' not in metrics
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0
    assert seen[0] == seen[1], seen  # the second run found when the failures began


async def test_serve_checks_each_cycles_delivery_and_exports_its_latency(tmp_path):
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(StoringHandler(inbox), hostname="mx.test"), HOST, 0
    )
    web = await start_web(inbox)
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([_gateway(smtp.sockets[0].getsockname()[1], 1, "Main")]))
    catcher = f"mailpit+http://{HOST}:{web.sockets[0].getsockname()[1]}"
    try:
        async with (
            _serving(
                fleet,
                "--interval",
                "3s",
                "--send-to",
                "ops@fleet.test",
                "--expect-delivery",
                catcher,
            ) as (
                process,
                base,
            ),
            httpx.AsyncClient(timeout=10) as client,
        ):
            await _until_ready(client, base)
            metrics = (await client.get(f"{base}/metrics")).text
            series = '{gateway="1",label="Main"}'
            assert _value(metrics, f"smtpcheck_delivery_success{series}") == 1
            assert _value(metrics, f"smtpcheck_delivery_seconds{series}") > 0
            report = (await client.get(f"{base}/report.json")).json()
            delivery = report["gateways"][0]["delivery"]
            assert delivery["outcome"] == "delivered" and delivery["removed"]
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 10)
    finally:
        for server in (smtp, web):
            server.close()
            await server.wait_closed()
