"""`smtpcheck serve` as one process: the history, the cycles and the HTTP endpoints together.

SIGTERM and SIGINT stop it: the probes running are cancelled (their connections closed), the
server stops answering, the history is closed, and the process exits 0 within a few seconds.
SIGHUP loads the gateway list again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smtpcheck.errors import ServeError
from smtpcheck.serve.fleet import FleetTracker
from smtpcheck.serve.scheduler import Schedule, Scheduler

if TYPE_CHECKING:
    from smtpcheck.serve.metrics import MetricsExporter

__all__ = ["ServeConfig", "serve"]

#: Seconds between two formattings of what changed (see `_keep_formatted`).
_FORMAT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Everything `smtpcheck serve` was asked for."""

    schedule: Schedule
    host: str = "127.0.0.1"
    port: int = 9587
    state: Path | None = None  # None: the history lives in memory only
    labels: tuple[tuple[str, str], ...] = ()
    version: str = ""


async def serve(config: ServeConfig, *, listening: Callable[[], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT; ``listening`` is called once the endpoints answer.

    Raises:
        ServeError: the address cannot be listened on, or the ``--state`` file cannot be used.
    """
    from smtpcheck.serve.app import Endpoints, serving
    from smtpcheck.serve.history import History
    from smtpcheck.serve.metrics import MetricsExporter

    try:
        exporter = MetricsExporter(labels=config.labels)
    except ValueError as exc:  # a --label that a series of its own already uses
        raise ServeError(f"--label: {exc}") from exc
    stop = asyncio.Event()
    with History.open(config.state) as history, _signals(stop) as reload:
        tracker = FleetTracker(
            history,
            interval_s=config.schedule.interval_s,
            started_at=time.time(),
            clock=time.time,
        )
        scheduler = Scheduler(config.schedule, tracker)
        reload.append(scheduler.request_reload)
        endpoints = Endpoints(tracker, scheduler, exporter, version=config.version)
        async with serving(endpoints, config.host, config.port):
            if listening is not None:
                listening()
            formatting = asyncio.create_task(_keep_formatted(exporter, tracker, stop))
            try:
                await scheduler.run(stop)
            finally:
                formatting.cancel()
                await asyncio.gather(formatting, return_exceptions=True)


async def _keep_formatted(
    exporter: MetricsExporter, tracker: FleetTracker, stop: asyncio.Event
) -> None:
    """Format each gateway's series soon after its check, so that a scrape only joins lines.

    Formatting 10 000 gateways at once takes about a second; a scrape that finds them formatted
    takes tens of milliseconds, and the loop is never held for long in between.
    """
    while not stop.is_set():
        exporter.refresh(tracker.view())
        await asyncio.sleep(_FORMAT_EVERY_S)


@contextlib.contextmanager
def _signals(stop: asyncio.Event) -> Iterator[list[Callable[[], None]]]:
    """Stop on SIGTERM / SIGINT and call each function the caller adds to the list on SIGHUP."""
    loop = asyncio.get_running_loop()
    on_hup: list[Callable[[], None]] = []

    def hup() -> None:
        for function in on_hup:
            function()

    handled = []
    handlers = ((signal.SIGTERM, stop.set), (signal.SIGINT, stop.set), (signal.SIGHUP, hup))
    for signum, handler in handlers:
        try:
            loop.add_signal_handler(signum, handler)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            continue
        handled.append(signum)
    try:
        yield on_hup
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
