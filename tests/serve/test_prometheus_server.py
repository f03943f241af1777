"""serve's `/metrics` scraped by the real Prometheus server, in both formats, and queried.

A small aiohttp app serves `render_metrics` of the sample fleet: ``/metrics`` as serve will
(OpenMetrics when the Accept header prefers it, which Prometheus's does), ``/text`` in the
classic format whatever is asked, and ``/broken`` a body Prometheus must refuse. One Prometheus
scrapes all three (its first scrape takes some 5 s: tests/support/prometheus_server.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import web

from smtpcheck.serve.metrics import render_metrics, wants_openmetrics
from smtpcheck.serve.view import FleetView
from tests.reporters.sample import QUOTED_LABEL
from tests.reporters.test_prometheus_consumers import HOSTILE, HOSTILE_WRITTEN
from tests.serve.test_metrics import sample_view
from tests.support.prometheus_server import PrometheusServer, Scrape, start_prometheus

#: One app and one Prometheus for the module: Prometheus takes seconds to start scraping.
pytestmark = pytest.mark.asyncio(loop_scope="module")

HOST = "127.0.0.1"
LABELS = (("region", "eu"), ("panel", HOSTILE))
JOBS = ("negotiated", "text")


@dataclass
class MetricsApp:
    """What the test app served, by path: the Accept header asked and the type answered."""

    view: FleetView
    port: int = 0
    served: dict[str, tuple[str, str]] = field(default_factory=dict)

    async def negotiated(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        return self._answer(request, accept, openmetrics=wants_openmetrics(accept))

    async def text(self, request: web.Request) -> web.Response:
        return self._answer(request, request.headers.get("Accept", ""), openmetrics=False)

    async def broken(self, request: web.Request) -> web.Response:
        # A lone surrogate written as a careless writer would (what _utf8 prevents). Observed
        # with 2.42: its scraper, unlike promtool, lets an unknown escape such as \t through.
        body = '# HELP m x\n# TYPE m gauge\nm{a="\ud800"} 1\n'.encode("utf-8", "surrogatepass")
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    def _answer(self, request: web.Request, accept: str, *, openmetrics: bool) -> web.Response:
        body, content_type = render_metrics(self.view, labels=LABELS, openmetrics=openmetrics)
        self.served[request.path] = (accept, content_type)
        return web.Response(body=body, headers={"Content-Type": content_type})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def metrics_app() -> AsyncIterator[MetricsApp]:
    served = MetricsApp(sample_view())
    app = web.Application()
    app.router.add_get("/metrics", served.negotiated)
    app.router.add_get("/text", served.text)
    app.router.add_get("/broken", served.broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    assert runner.addresses, "the test app is not listening"
    served.port = runner.addresses[0][1]
    try:
        yield served
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def prometheus(metrics_app, tmp_path_factory) -> AsyncIterator[PrometheusServer]:
    target = f"{HOST}:{metrics_app.port}"
    scrapes = [
        Scrape("negotiated", target, "/metrics"),
        Scrape("text", target, "/text"),
        Scrape("broken", target, "/broken"),
    ]
    # In a thread: this loop must go on answering the scrapes meanwhile.
    directory = tmp_path_factory.mktemp("prometheus")
    server = await asyncio.to_thread(start_prometheus, directory, scrapes)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def query(server: PrometheusServer, promql: str) -> list[tuple[dict[str, str], float]]:
    return await asyncio.to_thread(server.query, promql)


async def test_prometheus_negotiates_openmetrics_and_takes_the_classic_format(
    prometheus, metrics_app
):
    targets = {t.job: t for t in await asyncio.to_thread(prometheus.targets)}
    assert {job: targets[job].health for job in JOBS} == dict.fromkeys(JOBS, "up")
    accept, answered = metrics_app.served["/metrics"]
    assert accept.startswith("application/openmetrics-text;version=1.0.0"), accept
    assert answered.startswith("application/openmetrics-text; version=1.0.0"), answered
    assert metrics_app.served["/text"][1].startswith("text/plain; version=0.0.4")
    # The test can fail: a body Prometheus refuses leaves its target down, and says why.
    assert targets["broken"].health == "down"
    assert "invalid UTF-8 label value" in targets["broken"].last_error, targets["broken"]


@pytest.mark.parametrize("job", JOBS)
async def test_prometheus_reads_each_gateway_and_the_fleet(prometheus, metrics_app, job):
    view = metrics_app.view
    works = await query(prometheus, f'smtpcheck_gateway_works{{job="{job}"}}')
    expected = {s.key: float(s.report.works) for s in view.gateways if s.report.works is not None}
    assert {labels["gateway"]: value for labels, value in works} == expected
    cycles = await query(prometheus, f'smtpcheck_cycles_total{{job="{job}"}}')
    assert [value for _, value in cycles] == [7]  # a counter in both formats, _total kept
    memory = await query(prometheus, f'process_resident_memory_bytes{{job="{job}"}}')
    assert len(memory) == 1 and memory[0][1] > 0
    info = await query(prometheus, f'smtpcheck_gateway_info{{job="{job}",gateway="3"}}')
    assert [labels["label"] for labels, _ in info] == [QUOTED_LABEL]  # escapes round-trip


@pytest.mark.parametrize("job", JOBS)
async def test_prometheus_keeps_the_constant_labels_on_every_series(prometheus, job):
    ours = await query(prometheus, f'count({{job="{job}",region="eu"}})')
    scraped = await query(prometheus, f'scrape_samples_scraped{{job="{job}"}}')
    assert ours and scraped and ours[0][1] == scraped[0][1] > 100  # every sample served
    panels = await query(prometheus, f'count by (panel) ({{job="{job}",region="eu"}})')
    assert [labels for labels, _ in panels] == [{"panel": HOSTILE_WRITTEN}]  # intact
