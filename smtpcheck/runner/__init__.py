"""Probe many gateways at once: concurrency limits, shared identical probes, input order kept.

The runner owns concurrency (a global limit and one per resolved address, every connection
counted: `slots`) and the per-target guard; the probe knows only its protocol. Identical targets
are probed once. An address and port found dead before any SMTP was spoken (refused, silent, no
TLS) is a tripped breaker: the targets queued behind it take that result at once, marked as
shared, so a fleet behind one black-holed relay ends in about one timeout. A probe that raises
is a bug, not a network problem: the guard records it as a failure of kind ``internal`` in the
target's place, so one bad target never stops a run (the pipeline reports it as SC901,
discovery as a combination that does not work).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.defaults import CHECK_TIMEOUT, CONCURRENCY, PER_HOST
from smtpcheck.errors import LocalResourceError, describe_bug
from smtpcheck.redaction import redact, reveal
from smtpcheck.results import FailureKind, ProbeFailure, ProbeResult, TlsMode
from smtpcheck.runner.slots import ConnectionSlots, address_key, descriptor_budget

__all__ = [
    "ExtraSlot",
    "ProbeFunction",
    "Progress",
    "Resolve",
    "RunLimits",
    "Watch",
    "probe_all",
    "probe_key",
    "sleep_until",
    "unless_stopped",
]

T = TypeVar("T")

#: Called with (targets done, targets in all) each time a probe ends.
Progress = Callable[[int, int], None]


@runtime_checkable
class Watch(Protocol):
    """A `Progress` that is also told what it is still waiting for, so a stall can be named.

    A fleet ends with its black holes: a count alone sits at 197/200 until they time out.
    """

    def __call__(self, done: int, total: int, /) -> None:
        """Take (targets done, targets in all), each time a probe ends."""

    def waiting(self, running: Sequence[str], /) -> None:
        """Take the names of the targets being probed now, in input order, as that changes."""


#: An address as the probe's resolver returns it: (socket family, socket address).
_Address = tuple[Any, tuple[Any, ...]]
#: Resolves (host, port) to the addresses a probe may connect to (the probe's own resolver).
Resolve = Callable[[str, int], Awaitable[Sequence[_Address]]]
#: Holds a place for one more connection to an address (the probe's `network.ExtraSlot`).
ExtraSlot = Callable[[_Address], AbstractAsyncContextManager[None]]


class ProbeFunction(Protocol):
    """Probes one target; a second connection it opens waits for a place from ``extra_slot``."""

    def __call__(
        self, settings: SmtpSettings, /, *, extra_slot: ExtraSlot
    ) -> Awaitable[ProbeResult]: ...


# Failures before any SMTP is spoken: the same for every target of that address and port, mode
# and timeouts (TLS counts for implicit TLS, where it comes before the greeting).
_DEAD = frozenset(
    {
        FailureKind.DNS,
        FailureKind.CONNECT_REFUSED,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.CONNECT_ERROR,
        FailureKind.NO_GREETING,
    }
)


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How many probes may run at once, in all and against one host."""

    concurrency: int = CONCURRENCY
    per_host: int = PER_HOST  # connections at once to one resolved address, second looks included

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.per_host < 1:
            raise ValueError("concurrency and per-host limits must be at least 1")


def probe_key(settings: SmtpSettings) -> Hashable:
    """Return what makes two probes the same: endpoint, mode, credentials and timeouts."""
    return (
        (settings.host or "").lower(),
        settings.port,
        settings.mode,
        settings.starttls_required,
        settings.auth,
        settings.user,
        reveal(settings.password),
        settings.trust_all_hosts,
        settings.connect_timeout_ms,
        settings.read_timeout_ms,
        settings.from_address,  # the sender of --send-to
    )


async def probe_all(
    targets: Sequence[SmtpSettings],
    probe: ProbeFunction,
    *,
    limits: RunLimits | None = None,
    progress: Progress | Watch | None = None,
    resolve: Resolve | None = None,
    resolve_timeout: float = CHECK_TIMEOUT,
    stop: asyncio.Event | None = None,
    names: Sequence[str] | None = None,
    not_before: Sequence[float] | None = None,
    on_done: Callable[[int, ProbeResult], None] | None = None,
) -> list[ProbeResult]:
    """Probe every target and return the outcomes in the targets' order.

    Identical targets (`probe_key`) are probed once and share the result. ``resolve`` (the
    probe's own resolver, best shared so each name is looked up once) tells which addresses a
    target reaches, waited for at most ``resolve_timeout`` seconds (the probe's phase
    timeout); without it, or when the name does not resolve, the per-host limit goes by name.
    Once ``stop`` is set (the user interrupted the run), the probes still running are cancelled
    and every target not finished gets an ``interrupted`` result; the finished ones keep theirs.
    A ``progress`` that is a `Watch` also hears which targets are being probed, by ``names``
    (one per target; ``host:port`` by default). ``not_before`` (one event-loop time per
    target) holds each probe back until then, before it takes any place, so that a long-running
    exporter spreads one cycle's probes over its interval under the same limits and breaker.
    ``on_done`` hears each target's outcome, by index, as soon as it is known.
    """
    limits = limits or RunLimits()
    budget = descriptor_budget()
    concurrency = limits.concurrency if budget is None else min(limits.concurrency, budget)
    slots = ConnectionSlots(concurrency=concurrency, per_host=limits.per_host)
    positions: dict[Hashable, list[int]] = {}
    for index, settings in enumerate(targets):
        positions.setdefault(probe_key(settings), []).append(index)
    outcomes: dict[int, ProbeResult] = {}
    tripped: dict[Hashable, ProbeResult] = {}
    running = _Running(progress, targets, names)
    done = 0

    async def attempt(indexes: list[int]) -> ProbeResult:
        settings = targets[indexes[0]]
        if not_before is not None:  # identical targets go at the earliest of their times
            await sleep_until(min(not_before[index] for index in indexes))
        keys = await _addresses(settings, resolve, resolve_timeout)
        breaker = _breaker_key(keys, settings)
        async with slots.probe(keys):
            with running.probing(indexes):
                outcome = tripped.get(breaker) or await _guarded(probe, settings, slots.extra)
        if breaker not in tripped and _dead(outcome, settings):
            tripped[breaker] = _shared(outcome, settings)
        return outcome

    async def run_one(indexes: list[int]) -> None:
        nonlocal done
        settings = targets[indexes[0]]
        outcome = await unless_stopped(attempt(indexes), stop) or _interrupted(settings)
        for index in indexes:
            outcomes[index] = outcome
            if on_done is not None:
                on_done(index, outcome)
        done += len(indexes)
        running.tell()
        if progress is not None:
            progress(done, len(targets))

    async with asyncio.TaskGroup() as group:
        for indexes in positions.values():
            group.create_task(run_one(indexes))
    return [outcomes[index] for index in range(len(targets))]


class _Running:
    """The targets whose probes hold a place now, told to a `Watch` as that changes."""

    def __init__(
        self,
        progress: Progress | Watch | None,
        targets: Sequence[SmtpSettings],
        names: Sequence[str] | None,
    ) -> None:
        self._watch = progress if isinstance(progress, Watch) else None
        if names is None and self._watch is not None:
            names = [_where(target) for target in targets]
        self._names = names or ()
        self._now: dict[int, list[int]] = {}  # by the first index of the identical targets

    @contextmanager
    def probing(self, indexes: list[int]) -> Iterator[None]:
        """Count the targets as being probed while the block runs."""
        if self._watch is None:
            yield
            return
        self._now[indexes[0]] = indexes
        self.tell()
        try:
            yield
        finally:
            del self._now[indexes[0]]

    def tell(self) -> None:
        """Tell the watch, if there is one, which targets are being probed now."""
        if self._watch is not None:
            now = sorted(index for group in self._now.values() for index in group)
            self._watch.waiting([self._names[index] for index in now])


async def sleep_until(moment: float) -> None:
    """Sleep until the event loop's clock reads ``moment`` (at once when it is past)."""
    delay = moment - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def _where(settings: SmtpSettings) -> str:
    host = settings.host or ""
    return f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"


async def _addresses(
    settings: SmtpSettings, resolve: Resolve | None, wait: float
) -> tuple[str, ...]:
    """Return the servers a target may reach, by address; by name when that cannot be known."""
    host = (settings.host or "").lower()
    if resolve is None or not host:
        return (host,)
    try:
        async with asyncio.timeout(wait):
            addresses = await resolve(settings.host or "", settings.port)
    except Exception:  # part of the per-target guard: the probe meets it again and reports it
        return (host,)
    return tuple(sorted({address_key(sockaddr) for _, sockaddr in addresses})) or (host,)


def _breaker_key(keys: tuple[str, ...], settings: SmtpSettings) -> Hashable:
    # What decides a failure before SMTP: where, how (TLS first or not) and how long one waits.
    implicit = settings.mode is TlsMode.IMPLICIT
    return keys, settings.port, implicit, settings.connect_timeout_ms, settings.read_timeout_ms


def _dead(outcome: ProbeResult, settings: SmtpSettings) -> bool:
    """Return True when the address and port failed before any SMTP was spoken."""
    failure = outcome.failure
    if failure is None or outcome.shared is not None:
        return False
    if failure.kind in _DEAD:
        return True
    # Implicit TLS that stalled or was dropped, not refused with a reason the name may change
    # (a certificate, an alert for the server name sent in SNI).
    return (
        settings.mode is TlsMode.IMPLICIT
        and failure.kind is FailureKind.TLS_HANDSHAKE
        and failure.tls_error is None
    )


def _shared(outcome: ProbeResult, settings: SmtpSettings) -> ProbeResult:
    """Mark a dead endpoint's result as what the targets queued behind it take."""
    note = (
        f"not connected again: an earlier probe of {settings.host} port {settings.port} "
        "failed this way before any SMTP was spoken"
    )
    return dataclasses.replace(outcome, shared=note, transcript=(note,))


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event | None) -> T | None:
    """Return what ``work`` returns, or None when ``stop`` is set first (``work`` is cancelled)."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the caller itself was cancelled: the work must not outlive it
        task.cancel()
        raise
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        await asyncio.wait({task})  # let it close its connections
    return None if task.cancelled() else task.result()


def _interrupted(settings: SmtpSettings) -> ProbeResult:
    detail = "the run was interrupted before this gateway's probe ended"
    return ProbeResult(steps=(), ms=0.0, failure=ProbeFailure(FailureKind.INTERRUPTED, detail))


async def _guarded(probe: ProbeFunction, settings: SmtpSettings, extra: ExtraSlot) -> ProbeResult:
    try:
        return await probe(settings, extra_slot=extra)
    except LocalResourceError as exc:  # this machine's shortage: the gateway was not judged
        failure = ProbeFailure(FailureKind.LOCAL, str(exc))
    except Exception as exc:  # the per-target guard: a bug in one probe never stops the others
        failure = ProbeFailure(FailureKind.INTERNAL, describe_bug(exc))
    return redact(ProbeResult(steps=(), ms=0.0, failure=failure), settings.secrets)
