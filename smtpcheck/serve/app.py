"""The HTTP side of `smtpcheck serve` (aiohttp: the only module that imports it).

Every endpoint renders the tracker's latest snapshot; only ``/probe`` starts work, and that is
bounded by the probe timeout. aiohttp serves on the event loop the probes already run on: one
loop, no threads, no second server process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from smtpcheck.errors import ServeError
from smtpcheck.serve.fleet import FleetTracker
from smtpcheck.serve.metrics import MetricsExporter, wants_openmetrics
from smtpcheck.serve.scheduler import Scheduler

__all__ = ["Endpoints", "build_app", "serving"]

_HTML = "text/html"
#: Seconds the server is given to finish the requests in flight when stopping.
_SHUTDOWN_S = 2.0
_NO_CACHE = {"Cache-Control": "no-store"}
# The page needs nothing but itself and its inline style: a label that slipped past the
# escaping still could not load or run anything.
_PAGE_HEADERS = {
    **_NO_CACHE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What the endpoints read: the fleet, the scheduler for `/probe`, and how to render."""

    tracker: FleetTracker
    scheduler: Scheduler
    exporter: MetricsExporter  # holds the constant labels, and each gateway's lines formatted
    version: str = ""
    refresh_s: int = 30  # how often the status page reloads itself
    clock: Callable[[], float] = time.time


def build_app(endpoints: Endpoints) -> web.Application:
    """Return the application serving every endpoint of `smtpcheck serve`."""
    app = web.Application()
    handlers = _Handlers(endpoints)
    app.router.add_get("/", handlers.page)
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_get("/probe", handlers.probe)
    app.router.add_get("/report.json", handlers.report)
    app.router.add_get("/-/healthy", handlers.healthy)
    app.router.add_get("/-/ready", handlers.ready)
    return app


@contextlib.asynccontextmanager
async def serving(endpoints: Endpoints, host: str, port: int) -> AsyncIterator[None]:
    """Answer on ``host:port`` while the block runs; stop answering when it ends.

    Raises:
        ServeError: the address cannot be listened on (in use, not this machine's, no right).
    """
    runner = web.AppRunner(build_app(endpoints), access_log=None, shutdown_timeout=_SHUTDOWN_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        yield
    finally:
        await runner.cleanup()


class _Handlers:
    def __init__(self, endpoints: Endpoints) -> None:
        self._e = endpoints

    async def metrics(self, request: web.Request) -> web.Response:
        openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
        body, content_type = self._e.exporter.render(
            self._e.tracker.view(), openmetrics=openmetrics
        )
        return _bytes(body, content_type)

    async def probe(self, request: web.Request) -> web.Response:
        key = request.query.get("gateway", "").strip()
        if not key:
            return _text("give the gateway: /probe?gateway=ID\n", status=400)
        if not self._e.scheduler.has(key):
            return _text(f"no gateway {key!r} in this replica's list\n", status=404)
        try:
            state = await self._e.scheduler.probe_now(key)
        except TimeoutError:
            return _text(f"the probe of gateway {key!r} did not end in time\n", status=504)
        if state is None:  # left the list while it was being probed
            return _text(f"no gateway {key!r} in this replica's list\n", status=404)
        openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
        body, content_type = self._e.exporter.render_probe(state, openmetrics=openmetrics)
        return _bytes(body, content_type)

    async def page(self, request: web.Request) -> web.Response:
        from smtpcheck.serve.page import render_page

        view = self._e.tracker.view()
        html = render_page(view, now=self._e.clock(), refresh_s=self._e.refresh_s)
        return web.Response(text=html, content_type=_HTML, charset="utf-8", headers=_PAGE_HEADERS)

    async def report(self, request: web.Request) -> web.Response:
        from smtpcheck.reporters import render

        report = self._e.tracker.view().report(version=self._e.version)
        text = render(report, "json")
        return web.Response(
            text=text, content_type="application/json", charset="utf-8", headers=_NO_CACHE
        )

    async def healthy(self, request: web.Request) -> web.Response:
        return _text("OK\n")

    async def ready(self, request: web.Request) -> web.Response:
        # Ready once every gateway was checked once: before that /metrics would say too little.
        if self._e.tracker.view().ready:
            return _text("ready\n")
        return _text("first cycle running\n", status=503)


def _text(text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, charset="utf-8", headers=_NO_CACHE)


def _bytes(body: bytes, content_type: str) -> web.Response:
    response = web.Response(body=body, headers=_NO_CACHE)
    response.headers["Content-Type"] = content_type
    return response
