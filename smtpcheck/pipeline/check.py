"""The live half of the pipeline: static rules, a probe of each own SMTP gateway, live rules.

A gateway whose config cannot be connected to as it is (no host, an unset variable…) is not
probed, and SC508 says why. A bug while checking one gateway becomes SC901 for that gateway.
With ``--suggest``, each failed gateway's host is then searched for a working combination.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from smtpcheck._version import __version__
from smtpcheck.config.address import host_problem
from smtpcheck.config.documents import GatewayEntry, SourceDocument
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.defaults import CERT_WARN_DAYS, DISCOVER_TIMEOUT, SLOW_GREETING_MS
from smtpcheck.discovery.search import DiscoverOptions
from smtpcheck.discovery.suggest import suggest_fixes
from smtpcheck.pipeline.validate import (
    Inventory,
    StaticOptions,
    collect,
    gateway_report,
    internal_finding,
    static_findings,
)
from smtpcheck.probe.session import ProbeOptions, probe_gateway
from smtpcheck.results import FailureKind, Finding, GatewayReport, ProbeResult, Report, Status
from smtpcheck.rules import Selection, check_live
from smtpcheck.rules.base import Config, Live
from smtpcheck.runner import Outcome, Progress, RunLimits, probe_all

__all__ = ["LiveOptions", "check", "check_async", "check_collected", "skip_reason"]

_PORTS = range(1, 65536)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How `check` probes: the probe's options, the run's limits and the live rules' thresholds."""

    probe: ProbeOptions
    limits: RunLimits = field(default_factory=RunLimits)
    cert_warn_days: int = CERT_WARN_DAYS
    slow_greeting_ms: float = SLOW_GREETING_MS
    progress: Progress | None = None  # called as probes end: (done, total)
    # --suggest: the ports to try on each failed gateway's host (empty: the usual ones); None: off
    suggest: tuple[int, ...] | None = None


def check(documents: Iterable[SourceDocument], static: StaticOptions, live: LiveOptions) -> Report:
    """Lint every gateway and probe each own SMTP one; runs its own event loop.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    return asyncio.run(check_async(documents, static, live))


async def check_async(
    documents: Iterable[SourceDocument], static: StaticOptions, live: LiveOptions
) -> Report:
    """Lint every gateway and probe each own SMTP one, in the running event loop."""
    return await check_collected(collect(documents, static), static.selection, live)


async def check_collected(inventory: Inventory, selection: Selection, live: LiveOptions) -> Report:
    """Lint and probe gateways already collected; the report keeps the inventory's order."""
    reports: dict[int, GatewayReport] = {}
    probed: list[tuple[int, Config, list[Finding]]] = []
    for index, entry in enumerate(inventory.entries):
        findings = static_findings(entry, selection)
        config = _config(entry)
        if config is None:
            reports[index] = gateway_report(entry, findings)
            continue
        reason = skip_reason(entry, config.settings)
        if reason is not None:
            skipped = ProbeResult(ok=False, steps=(), ms=0.0, skipped=reason)
            findings += _live_findings(config, skipped, live, selection)
            reports[index] = gateway_report(entry, findings)
            continue
        probed.append((index, config, findings))
    outcomes = await probe_all(
        [config.settings for _, config, _ in probed],
        functools.partial(probe_gateway, options=live.probe),
        limits=live.limits,
        progress=live.progress,
    )
    for (index, config, findings), outcome in zip(probed, outcomes, strict=True):
        reports[index] = _probed_report(config, findings, outcome, live, selection)
    if live.suggest is not None:
        await _suggest(reports, [(index, config) for index, config, _ in probed], live)
    gateways = tuple(reports[index] for index in range(len(inventory.entries)))
    return Report(gateways=gateways, findings=inventory.findings, version=__version__)


def skip_reason(entry: GatewayEntry, settings: SmtpSettings) -> str | None:
    """Return why a gateway's config cannot be probed as it is, or None when it can."""
    if entry.unset_variables:
        names = ", ".join(f"${{{u.name}}}" for u in entry.unset_variables)
        return f"{names} not set in the environment (SC008)"
    if entry.redacted:
        # Logging in with the marker would fail, and might count towards a lockout.
        return f"{', '.join(entry.redacted)} was redacted by smtpcheck fetch (SC010)"
    if settings.host is None:
        return "mail.smtp.host is empty (SC101)"
    problem = host_problem(settings.host)
    if problem is not None:
        return f"mail.smtp.host is not a host name: {problem} (SC102)"
    if settings.port not in _PORTS:
        return f"port {settings.port} is out of range (SC103)"
    return None


async def _suggest(
    reports: dict[int, GatewayReport], probed: list[tuple[int, Config]], live: LiveOptions
) -> None:
    """Attach a verified params patch to each failed gateway for which one is found."""
    failed = [
        (i, config)
        for i, config in probed
        if reports[i].status is Status.FAILED and not _refused_login(reports[i].probe)
    ]
    if not failed:
        return
    options = DiscoverOptions(
        # Discovery waits on many ports that may never answer: keep each wait short.
        probe=dataclasses.replace(live.probe, timeout=min(live.probe.timeout, DISCOVER_TIMEOUT)),
        limits=live.limits,
        ports=live.suggest or (),
    )
    found = await suggest_fixes([(c.params, c.settings) for _, c in failed], options)
    for (index, config), suggestion in zip(failed, found, strict=True):
        if isinstance(suggestion, Exception):
            findings = [*reports[index].findings, internal_finding(suggestion, config.settings)]
            reports[index] = gateway_report(config.entry, findings, probe=reports[index].probe)
        elif suggestion is not None:
            reports[index] = dataclasses.replace(reports[index], suggestion=suggestion)


def _refused_login(probe: ProbeResult | None) -> bool:
    # The server refused the password itself: no other port or mode fixes that, and trying it
    # again elsewhere only brings an account lockout closer.
    return probe is not None and probe.failure is FailureKind.AUTH_FAILED


def _config(entry: GatewayEntry) -> Config | None:
    params, settings = entry.params, entry.settings
    if not entry.is_smtp or params is None or settings is None:
        return None
    return Config(entry, params, settings)


def _probed_report(
    config: Config,
    findings: list[Finding],
    outcome: Outcome,
    live: LiveOptions,
    selection: Selection,
) -> GatewayReport:
    if isinstance(outcome, Exception):
        return gateway_report(config.entry, [*findings, internal_finding(outcome, config.settings)])
    findings = findings + _live_findings(config, outcome, live, selection)
    return gateway_report(config.entry, findings, probe=outcome)


def _live_findings(
    config: Config, probe: ProbeResult, live: LiveOptions, selection: Selection
) -> list[Finding]:
    subject = Live(
        config,
        probe,
        cert_warn_days=live.cert_warn_days,
        slow_greeting_ms=live.slow_greeting_ms,
    )
    try:
        return check_live(subject, selection)
    except Exception as exc:  # a bug in a live rule is SC901 for this gateway, not a crash
        return [internal_finding(exc, config.settings)]
