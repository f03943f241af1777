"""The gateways of a run and their verdicts: gathered from sources, static rules, status.

What `validate` and `check` share; nothing here prints or touches the network.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smtpcheck._version import __version__
from smtpcheck.config.documents import GatewayEntry, SourceDocument
from smtpcheck.errors import UsageError
from smtpcheck.redaction import redact
from smtpcheck.results import (
    DeliveryOutcome,
    DeliveryResult,
    Endpoint,
    Finding,
    GatewayReport,
    ProbeResult,
    Report,
    Severity,
    Status,
    Suggestion,
    status_of,
    works,
)
from smtpcheck.rules import (
    Selection,
    internal_error,
    run_document_rules,
    run_entry_rules,
    run_fleet_rules,
)

__all__ = [
    "Inventory",
    "LintOptions",
    "collect",
    "gateway_report",
    "internal_finding",
    "now",
    "stamped_report",
    "static_findings",
]


@dataclass(frozen=True, slots=True)
class LintOptions:
    """What `validate` and `check` share: rule selection and which gateways to look at."""

    selection: Selection = field(default_factory=Selection)
    gateway_ids: frozenset[int] = frozenset()  # empty: every gateway


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every gateway of a run, plus the findings about sources and the fleet as a whole."""

    entries: tuple[GatewayEntry, ...]
    findings: tuple[Finding, ...]


def collect(documents: Iterable[SourceDocument], options: LintOptions) -> Inventory:
    """Gather the gateways of all sources, with source-level and fleet-level findings.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    findings: list[Finding] = []
    entries: list[GatewayEntry] = []
    for doc in documents:
        findings.extend(
            dataclasses.replace(f, source=doc.source)
            for f in run_document_rules(doc, options.selection)
        )
        entries.extend(doc.gateways)
    if options.gateway_ids:
        missing = options.gateway_ids - {e.id for e in entries}
        if missing:
            raise UsageError(
                f"--gateway {', '.join(map(str, sorted(missing)))}: no such gateway in the sources"
            )
        entries = [e for e in entries if e.id in options.gateway_ids]
    findings.extend(run_fleet_rules(entries, options.selection))
    return Inventory(tuple(entries), tuple(findings))


# The findings that say the check itself did not run: a bug (SC901), a local shortage (SC902),
# an interrupted run (SC903).
_CHECK_NOT_RUN = frozenset({"SC901", "SC902", "SC903"})


def gateway_report(
    entry: GatewayEntry,
    findings: Collection[Finding],
    *,
    probe: ProbeResult | None = None,
    suggestion: Suggestion | None = None,
    endpoint: Endpoint | None = None,
    delivery: DeliveryResult | None = None,
) -> GatewayReport:
    """Build one gateway's report, deciding its status from its findings.

    ``endpoint``: where JavaMail connects, when that is not what the params say (SC207).
    ``delivery``: what `--expect-delivery` found of the test message.
    """
    if any(f.code in _CHECK_NOT_RUN for f in findings):
        status = Status.ERROR
    elif delivery is not None and delivery.outcome is DeliveryOutcome.UNREACHABLE:
        # What was asked (did it arrive?) could not be answered: the run must not pass (SC803).
        status = Status.ERROR
    elif not entry.is_smtp:
        # Not probed; an error here is about the entry itself (SC002, SC005…).
        has_error = any(f.severity is Severity.ERROR for f in findings)
        status = Status.FAILED if has_error else Status.SKIPPED
    else:
        status = status_of(findings, works(probe, delivery))
    settings = entry.settings
    return GatewayReport(
        id=entry.id,
        label=entry.label,
        kind=entry.kind,
        source=entry.source,
        status=status,
        endpoint=endpoint
        or (settings.endpoint if settings is not None and entry.is_smtp else None),
        findings=tuple(findings),
        probe=probe,
        suggestion=suggestion,
        position=entry.position,
        delivery=delivery,
    )


def static_findings(entry: GatewayEntry, selection: Selection) -> list[Finding]:
    """Run the static rules on one gateway; a bug in a rule becomes SC901, not a crash."""
    try:
        return run_entry_rules(entry, selection)
    except Exception as exc:  # the per-gateway guard: one bad gateway never stops the others
        return [internal_finding(exc, entry)]


def internal_finding(error: BaseException | str, entry: GatewayEntry) -> Finding:
    """Return SC901 for a bug met while checking a gateway, its password scrubbed from the text."""
    finding = internal_error(error)
    return finding if entry.settings is None else redact(finding, entry.settings.secrets)


def now() -> datetime:
    """Return the moment a run begins, in UTC to the second (as reports show it)."""
    return datetime.now(UTC).replace(microsecond=0)


def stamped_report(
    gateways: tuple[GatewayReport, ...], findings: tuple[Finding, ...], *, started: datetime
) -> Report:
    """Return the run's report, stamped with when it began and the machine that ran it."""
    # gethostname() reads the kernel's name for this machine: no lookup leaves the host.
    return Report(
        gateways=gateways,
        findings=findings,
        version=__version__,
        started=started,
        host=socket.gethostname(),
    )
