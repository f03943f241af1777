"""`check`: static rules, a live probe of each own SMTP gateway, live rules, and suggestions.

A gateway whose config cannot be connected to as it is (no host, an unset variable…) is not
probed, and SC508 says why. A bug while checking one gateway becomes SC901 for that gateway.
With ``--suggest``, each failed gateway's host is then searched for a working combination
(discovery is imported only then).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from smtpcheck.config.address import host_problem
from smtpcheck.config.documents import SourceDocument
from smtpcheck.config.javamail import smtps_endpoint
from smtpcheck.config.profile import TransportChoice
from smtpcheck.defaults import CERT_WARN_DAYS, DISCOVER_TIMEOUT, SLOW_GREETING_MS
from smtpcheck.pipeline.inventory import (
    Inventory,
    LintOptions,
    collect,
    gateway_report,
    internal_finding,
    now,
    stamped_report,
    static_findings,
)
from smtpcheck.pipeline.sources import Sources
from smtpcheck.pipeline.stopping import Interruption
from smtpcheck.probe.network import shared_resolver
from smtpcheck.probe.session import ProbeOptions, probe_gateway
from smtpcheck.results import (
    DeliveryResult,
    FailureKind,
    Finding,
    GatewayReport,
    NotProbed,
    ProbeResult,
    Report,
    Status,
)
from smtpcheck.rules import (
    Selection,
    interrupted,
    local_shortage,
    nothing_probed,
    run_live_rules,
    run_not_probed_rules,
)
from smtpcheck.rules.base import ProbedGateway, SmtpGateway
from smtpcheck.runner import Progress, RunLimits, Watch, probe_all

if TYPE_CHECKING:
    from smtpcheck.delivery.polling import DeliveryOptions
    from smtpcheck.pipeline.fixing import FixedGateway

__all__ = [
    "CheckOptions",
    "CheckRun",
    "check",
    "check_async",
    "check_inventory",
    "not_probed",
    "run_check",
]

_PORTS = range(1, 65536)
#: Probe failures that say the check could not run here, and the finding each becomes (a bug,
#: SC901, goes its own way: `internal_finding`).
_NOT_RUN: dict[FailureKind, Callable[[str], Finding]] = {
    FailureKind.LOCAL: local_shortage,
    FailureKind.INTERRUPTED: interrupted,
}


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How `check` probes: the probe's options, the run's limits and the live rules' thresholds."""

    probe: ProbeOptions
    limits: RunLimits = field(default_factory=RunLimits)
    cert_warn_days: int = CERT_WARN_DAYS
    slow_greeting_ms: float = SLOW_GREETING_MS
    progress: Progress | Watch | None = None  # called as probes end: (done, total)
    # --suggest: the ports to try on each failed gateway's host (empty: the usual ones); None: off
    suggest: tuple[int, ...] | None = None
    delivery: DeliveryOptions | None = None  # --expect-delivery: where the message must arrive


@dataclass(frozen=True, slots=True)
class CheckRun:
    """What `smtpcheck check` produced: the report, and the corrected gateways when asked for."""

    report: Report
    fixed: tuple[FixedGateway, ...] = ()
    interrupted: signal.Signals | None = None  # the signal that cut the run short


def run_check(
    sources: Sources, lint: LintOptions, options: CheckOptions, *, fix: bool = False
) -> CheckRun:
    """Run `smtpcheck check` in its own event loop; with ``fix``, correct what was suggested.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
        ConfigLoadError: a path cannot be read.
        PlatformError: the panel API could not be used.
    """
    inventory = collect(sources, lint)
    interruption = Interruption()

    async def interruptible() -> Report:
        with interruption.watching():
            return await check_inventory(
                inventory, lint.selection, options, stop=interruption.event
            )

    report = asyncio.run(interruptible())
    if interruption.signal is not None or not fix:
        return CheckRun(report, interrupted=interruption.signal)
    api_source = None if sources.panel is None else sources.panel.name
    from smtpcheck.pipeline.fixing import fixed_gateways

    fixed = fixed_gateways(inventory.entries, report.gateways, api_source=api_source)
    return CheckRun(report, tuple(fixed))


def check(documents: Iterable[SourceDocument], lint: LintOptions, options: CheckOptions) -> Report:
    """Lint every gateway and probe each own SMTP one; runs its own event loop.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    return asyncio.run(check_async(documents, lint, options))


async def check_async(
    documents: Iterable[SourceDocument], lint: LintOptions, options: CheckOptions
) -> Report:
    """Lint every gateway and probe each own SMTP one, in the running event loop."""
    return await check_inventory(collect(documents, lint), lint.selection, options)


async def check_inventory(
    inventory: Inventory,
    selection: Selection,
    options: CheckOptions,
    *,
    stop: asyncio.Event | None = None,
    not_before: Callable[[int], float] | None = None,
    on_report: Callable[[int, GatewayReport], None] | None = None,
) -> Report:
    """Lint and probe gateways already collected; the report keeps the inventory's order.

    Once ``stop`` is set, the gateways not yet probed are reported as interrupted (SC903) and
    nothing more is tried (no suggestions). ``not_before`` gives, by inventory index, the
    event-loop time before which a gateway's probe may not start (`smtpcheck serve` spreads a
    cycle so); ``on_report`` hears each probed gateway's report, by inventory index, as soon as
    its probe ends.
    """
    started = now()
    reports: dict[int, GatewayReport] = {}
    probed: list[tuple[int, SmtpGateway, list[Finding]]] = []
    for index, entry in enumerate(inventory.entries):
        findings = static_findings(entry, selection)
        gateway = SmtpGateway.of(entry)
        if gateway is None:
            reports[index] = gateway_report(entry, findings)
            continue
        skipped = not_probed(gateway, options.probe.profile.transport)
        if skipped is not None:
            findings += run_not_probed_rules(skipped, selection)
            reports[index] = gateway_report(entry, findings, endpoint=skipped.endpoint)
            continue
        probed.append((index, gateway, findings))
    # Each name is looked up once: the runner needs its addresses for the per-host limit.
    probe_options = dataclasses.replace(
        options.probe, resolver=shared_resolver(options.probe.resolver)
    )

    def report(index: int, built: GatewayReport) -> None:
        reports[index] = built
        if on_report is not None:
            on_report(index, built)

    deliveries = None
    if options.delivery is not None:
        from smtpcheck.pipeline.delivering import Deliveries  # only --expect-delivery looks

        deliveries = Deliveries(options.delivery, stop=stop)
    followers: list[asyncio.Task[None]] = []

    def done(position: int, result: ProbeResult) -> None:
        index, gateway, findings = probed[position]
        if deliveries is None or result.sent is None or not result.ok:
            report(index, _probed_report(gateway, findings, result, options, selection))
            return
        delivery = deliveries.check(result.sent)
        built = _after_delivery(gateway, findings, result, delivery, options, selection)
        followers.append(asyncio.create_task(_then(built, functools.partial(report, index))))

    try:
        await _probe_all(probed, probe_options, options, stop, not_before, done)
        await asyncio.gather(*followers)
    finally:
        if deliveries is not None:
            await deliveries.aclose()
    if options.suggest is not None and not (stop is not None and stop.is_set()):
        await _suggest(reports, [(index, gateway) for index, gateway, _ in probed], options)
    gateways = tuple(reports[index] for index in range(len(inventory.entries)))
    run_findings = inventory.findings
    if not probed:  # a run that probed nothing must not pass (SC011)
        run_findings += tuple(nothing_probed(inventory.entries, selection))
    return stamped_report(gateways, run_findings, started=started)


async def _probe_all(
    probed: list[tuple[int, SmtpGateway, list[Finding]]],
    probe_options: ProbeOptions,
    options: CheckOptions,
    stop: asyncio.Event | None,
    not_before: Callable[[int], float] | None,
    done: Callable[[int, ProbeResult], None],
) -> None:
    await probe_all(
        [gateway.settings for _, gateway, _ in probed],
        functools.partial(probe_gateway, options=probe_options),
        limits=options.limits,
        progress=options.progress,
        resolve=probe_options.resolver,
        resolve_timeout=probe_options.timeout,
        stop=stop,
        names=[_waited_for(gateway) for _, gateway, _ in probed],
        not_before=None if not_before is None else [not_before(i) for i, _, _ in probed],
        on_done=done,
    )


async def _then(built: Awaitable[GatewayReport], report: Callable[[GatewayReport], None]) -> None:
    report(await built)


async def _after_delivery(
    gateway: SmtpGateway,
    findings: list[Finding],
    result: ProbeResult,
    check: Awaitable[DeliveryResult | None],
    options: CheckOptions,
    selection: Selection,
) -> GatewayReport:
    """Build a report once the test message's delivery is known (or the run was stopped)."""
    try:
        delivery = await check
    except Exception as exc:  # a bug in the delivery check is SC901 for this gateway
        return gateway_report(
            gateway.entry, [*findings, internal_finding(exc, gateway.entry)], probe=result
        )
    if delivery is None:
        stopped = interrupted("the run was stopped before the test message's delivery was seen")
        return gateway_report(gateway.entry, [*findings, stopped], probe=result)
    return _probed_report(gateway, findings, result, options, selection, delivery)


def _waited_for(gateway: SmtpGateway) -> str:
    """Name a gateway as a progress line shows it: ``gateway 7 mx.dealer.test:465``."""
    host, port = gateway.settings.host or "", gateway.settings.port
    return f"{gateway.entry.name} {f'[{host}]' if ':' in host else host}:{port}"


def not_probed(
    gateway: SmtpGateway, transport: TransportChoice = TransportChoice.SEND
) -> NotProbed | None:
    """Return why a gateway's config cannot be probed as it is, or None when it can."""
    entry, settings = gateway.entry, gateway.settings
    if transport is TransportChoice.SESSION and settings.protocol == "smtps":
        # The SSL transport reads only mail.smtps.* keys: what it would connect to is not
        # what these params describe (SC207), and without mail.smtps.host it is the
        # platform's own machine, which a probe from here cannot stand for.
        where = smtps_endpoint(gateway.params)
        return NotProbed(
            "under session.getTransport() and protocol smtps JavaMail ignores the mail.smtp.* "
            f"params and connects to {where.host}, {where.describe()} (SC207)",
            endpoint=where,
        )
    if entry.unset_variables:
        names = ", ".join(f"${{{u.name}}}" for u in entry.unset_variables)
        return NotProbed(f"{names} not set in the environment (SC008)")
    if entry.redacted:
        # Logging in with the marker would fail, and might count towards a lockout.
        return NotProbed(f"{', '.join(entry.redacted)} was redacted by smtpcheck fetch (SC010)")
    if settings.host is None:
        return NotProbed("mail.smtp.host is empty (SC101)")
    problem = host_problem(settings.host)
    if problem is not None:
        return NotProbed(f"mail.smtp.host is not a host name: {problem} (SC102)")
    if settings.port not in _PORTS:
        return NotProbed(f"port {settings.port} is out of range (SC103)")
    return None


async def _suggest(
    reports: dict[int, GatewayReport], probed: list[tuple[int, SmtpGateway]], options: CheckOptions
) -> None:
    """Attach a verified params patch to each failed gateway for which one is found."""
    failed = [
        (i, gateway)
        for i, gateway in probed
        if reports[i].status is Status.FAILED and not _no_port_fixes(reports[i].probe)
    ]
    if not failed:
        return
    from smtpcheck.discovery.search import DiscoverOptions
    from smtpcheck.discovery.suggest import suggest_fixes

    discover = DiscoverOptions(
        # Discovery waits on many ports that may never answer: keep each wait short.
        probe=dataclasses.replace(
            options.probe, timeout=min(options.probe.timeout, DISCOVER_TIMEOUT)
        ),
        limits=options.limits,
        ports=options.suggest or (),
    )
    found = await suggest_fixes([(g.params, g.settings) for _, g in failed], discover)
    for (index, gateway), suggestion in zip(failed, found, strict=True):
        if isinstance(suggestion, Exception):
            findings = [*reports[index].findings, internal_finding(suggestion, gateway.entry)]
            reports[index] = gateway_report(gateway.entry, findings, probe=reports[index].probe)
        elif suggestion is not None:
            reports[index] = dataclasses.replace(reports[index], suggestion=suggestion)


def _no_port_fixes(probe: ProbeResult | None) -> bool:
    # The server refused the password itself: no other port or mode fixes that, and trying it
    # again elsewhere only brings an account lockout closer. A probe that got through failed
    # on its message's delivery (SC801): that is the relay's routing, not its port or mode.
    return probe is not None and (probe.ok or probe.failure_kind is FailureKind.AUTH_FAILED)


def _probed_report(
    gateway: SmtpGateway,
    findings: list[Finding],
    result: ProbeResult,
    options: CheckOptions,
    selection: Selection,
    delivery: DeliveryResult | None = None,
) -> GatewayReport:
    failure = result.failure
    if failure is not None and failure.kind is FailureKind.INTERNAL:
        not_run: Finding | None = internal_finding(failure.detail, gateway.entry)
    elif failure is not None and failure.kind in _NOT_RUN:
        not_run = _NOT_RUN[failure.kind](failure.detail)
    else:
        not_run = None
    if not_run is not None:
        # The probe broke, this machine could not open a socket, or the user stopped the run:
        # nothing was measured, and no live rule has anything to judge.
        return gateway_report(gateway.entry, [*findings, not_run])
    probed = ProbedGateway(
        gateway,
        result,
        cert_warn_days=options.cert_warn_days,
        slow_greeting_ms=options.slow_greeting_ms,
        library=options.probe.profile.library,
        delivery=delivery,
    )
    try:
        findings = findings + run_live_rules(probed, selection)
    except Exception as exc:  # a bug in a live rule is SC901 for this gateway, not a crash
        findings = [*findings, internal_finding(exc, gateway.entry)]
    return gateway_report(gateway.entry, findings, probe=result, delivery=delivery)
