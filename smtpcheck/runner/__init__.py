"""Probe many gateways at once: concurrency limits, shared identical probes, input order kept.

The runner owns concurrency (a global limit and one per host, so a shared relay is not flooded)
and the per-target guard; the probe knows only its protocol. Identical targets are probed once,
and an endpoint found unreachable is not waited on again by the targets queued behind it. A
probe that raises is a bug, not a network problem: the guard records it as a failure of kind
``internal`` in the target's place, so one bad target never stops a run (the pipeline reports
it as SC901, discovery as a combination that does not work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.defaults import CONCURRENCY, PER_HOST
from smtpcheck.errors import describe_bug
from smtpcheck.redaction import redact, reveal
from smtpcheck.results import FailureKind, ProbeFailure, ProbeResult

__all__ = ["Progress", "RunLimits", "probe_all", "probe_key"]

#: Called with (targets done, targets in all) each time a probe ends.
Progress = Callable[[int, int], None]

ProbeFunction = Callable[[SmtpSettings], Awaitable[ProbeResult]]

# Failures before any SMTP is spoken: the same for every gateway of that host, port and timeout.
_UNREACHABLE = frozenset(
    {
        FailureKind.DNS,
        FailureKind.CONNECT_REFUSED,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.CONNECT_ERROR,
    }
)


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How many probes may run at once, in all and against one host."""

    concurrency: int = CONCURRENCY
    per_host: int = PER_HOST

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
    progress: Progress | None = None,
) -> list[ProbeResult]:
    """Probe every target and return the outcomes in the targets' order.

    Identical targets (`probe_key`) are probed once and share the result.
    """
    limits = limits or RunLimits()
    slots = asyncio.Semaphore(limits.concurrency)
    host_slots: dict[str, asyncio.Semaphore] = {}
    positions: dict[Hashable, list[int]] = {}
    for index, settings in enumerate(targets):
        positions.setdefault(probe_key(settings), []).append(index)
    outcomes: dict[int, ProbeResult] = {}
    unreachable: dict[Hashable, ProbeResult] = {}
    done = 0

    async def run_one(indexes: list[int]) -> None:
        nonlocal done
        settings = targets[indexes[0]]
        host = (settings.host or "").lower()
        host_slot = host_slots.setdefault(host, asyncio.Semaphore(limits.per_host))
        endpoint = (host, settings.port, settings.connect_timeout_ms)
        # The host's slot first: a probe waiting for a busy relay must not hold a global one.
        async with host_slot, slots:
            # Probes queued behind the per-host limit for an endpoint that turned out unreachable
            # take its result instead of waiting out the same timeout again: a fleet that points
            # at one black-holed relay ends in about one timeout, not one per batch.
            outcome = unreachable.get(endpoint) or await _guarded(probe, settings)
        if outcome.failure_kind in _UNREACHABLE:
            unreachable[endpoint] = outcome
        for index in indexes:
            outcomes[index] = outcome
        done += len(indexes)
        if progress is not None:
            progress(done, len(targets))

    async with asyncio.TaskGroup() as group:
        for indexes in positions.values():
            group.create_task(run_one(indexes))
    return [outcomes[index] for index in range(len(targets))]


async def _guarded(probe: ProbeFunction, settings: SmtpSettings) -> ProbeResult:
    try:
        return await probe(settings)
    except Exception as exc:  # the per-target guard: a bug in one probe never stops the others
        failure = ProbeFailure(FailureKind.INTERNAL, describe_bug(exc))
        return redact(ProbeResult(steps=(), ms=0.0, failure=failure), settings.secrets)
