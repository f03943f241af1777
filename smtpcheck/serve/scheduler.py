"""The cycles of `smtpcheck serve`: every gateway checked once per interval, spread over it.

Each gateway has a fixed place in the interval, from a stable hash of its key: probes are never
all at once, and one gateway's probes are never closer than the interval (a cycle that runs
late delays the next one; it never squeezes it). A whole cycle is one run of the fleet runner,
each probe held back until its place, so the per-host limit and the breaker of `check` hold
across the cycle. The gateway list is loaded again every ``refresh`` seconds and when asked
(SIGHUP); a list that cannot be loaded leaves the previous one in use, and the view says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smtpcheck.errors import SmtpcheckError
from smtpcheck.pipeline.check import CheckOptions, check_inventory
from smtpcheck.pipeline.inventory import Inventory, LintOptions, collect
from smtpcheck.pipeline.sources import Sources
from smtpcheck.reporters import gateway_keys
from smtpcheck.results import GatewayReport
from smtpcheck.runner import sleep_until, unless_stopped
from smtpcheck.serve.fleet import FleetTracker
from smtpcheck.serve.shard import Shard
from smtpcheck.serve.view import CycleStats, GatewayState

__all__ = ["Schedule", "Scheduler", "place_in_interval"]

#: Share of the interval over which a cycle's probes start: the rest is room for the last ones
#: to end before the next cycle begins.
_SPREAD = 0.9
#: Seconds before a failed first load of the list is tried again (later ones wait `refresh`).
_FIRST_RETRY = 10.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """What `serve` checks and how often."""

    sources: Sources
    lint: LintOptions
    check: CheckOptions
    interval_s: float
    refresh_s: float
    shard: Shard = field(default_factory=Shard)
    probe_timeout_s: float = 60.0  # the bound on one `/probe` of a gateway


def place_in_interval(key: str, interval_s: float) -> float:
    """Return the seconds after a cycle's start at which this gateway's probe starts."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval_s * _SPREAD


class Scheduler:
    """Runs the cycles and the reloads, and one-off probes asked for through `/probe`."""

    def __init__(
        self, schedule: Schedule, tracker: FleetTracker, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._schedule = schedule
        self._tracker = tracker
        self._clock = clock
        self._inventory: Inventory | None = None
        self._keys: list[str] = []
        self._loaded = asyncio.Event()
        self._reload = asyncio.Event()
        self._probes: dict[str, asyncio.Task[GatewayState | None]] = {}
        self._cycles = 0

    def request_reload(self) -> None:
        """Load the gateway list again as soon as possible (SIGHUP)."""
        self._reload.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Load the list, then check the fleet cycle after cycle until ``stop`` is set."""
        reloading = asyncio.create_task(self._reloads(stop))
        try:
            await unless_stopped(self._loaded.wait(), stop)
            while not stop.is_set():
                started = asyncio.get_running_loop().time()
                await self._cycle(started, stop)
                await unless_stopped(sleep_until(started + self._schedule.interval_s), stop)
        finally:
            reloading.cancel()
            for task in (reloading, *self._probes.values()):
                task.cancel()
            await asyncio.gather(reloading, *self._probes.values(), return_exceptions=True)

    async def probe_now(self, key: str) -> GatewayState | None:
        """Check one gateway now and return its new state; None when no such gateway.

        A second request for the same gateway while one runs waits for that one: a gateway is
        never probed twice at once from here.
        """
        running = self._probes.get(key)
        if running is None:
            running = asyncio.create_task(self._probe_one(key))
            self._probes[key] = running
            running.add_done_callback(lambda _: self._probes.pop(key, None))
        return await asyncio.shield(running)

    def has(self, key: str) -> bool:
        """Return True when the gateway of this key is in this replica's list."""
        return key in self._keys

    async def _cycle(self, started: float, stop: asyncio.Event) -> None:
        inventory, keys = self._inventory, list(self._keys)
        if inventory is None:
            return
        wall = self._clock()
        interval = self._schedule.interval_s

        def record(index: int, report: GatewayReport) -> None:
            if not stop.is_set():  # an interrupted probe measured nothing
                self._tracker.update(keys[index], report)

        report = await check_inventory(
            inventory,
            self._schedule.lint.selection,
            self._schedule.check,
            stop=stop,
            not_before=lambda index: started + place_in_interval(keys[index], interval),
            on_report=record,
        )
        if stop.is_set():
            return
        for key, gateway in zip(keys, report.gateways, strict=True):
            if gateway.probe is None:  # not probed (leasable, not SMTP): judged by its params
                self._tracker.update(key, gateway)
        finished = self._clock()
        self._cycles += 1
        lag = max(0.0, finished - wall - interval)
        self._tracker.cycle_done(CycleStats(self._cycles, wall, finished, lag))

    async def _reloads(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._load()
            wait = self._schedule.refresh_s if self._inventory is not None else _FIRST_RETRY
            self._reload.clear()
            with contextlib.suppress(TimeoutError):  # no SIGHUP: time for the next reload
                await unless_stopped(asyncio.wait_for(self._reload.wait(), wait), stop)

    async def _load(self) -> None:
        schedule = self._schedule
        try:
            # The panel client and file reads block: off the loop, so the endpoints answer.
            inventory = await asyncio.to_thread(collect, schedule.sources, schedule.lint)
        except SmtpcheckError as exc:
            self._tracker.list_failed(str(exc))
            return
        keys = gateway_keys(inventory.entries)
        chosen = [i for i, key in enumerate(keys) if schedule.shard.takes(key)]
        self._inventory = Inventory(tuple(inventory.entries[i] for i in chosen), inventory.findings)
        self._keys = [keys[i] for i in chosen]
        self._tracker.set_list(self._keys, inventory.findings)
        self._loaded.set()

    async def _probe_one(self, key: str) -> GatewayState | None:
        inventory = self._inventory
        if inventory is None or key not in self._keys:
            return None
        index = self._keys.index(key)
        one = Inventory((inventory.entries[index],), ())
        async with asyncio.timeout(self._schedule.probe_timeout_s):
            report = await check_inventory(one, self._schedule.lint.selection, self._schedule.check)
        return self._tracker.update(key, report.gateways[0])
