"""Turn parsed sources into a `Report`: run the static rules and decide each gateway's status.

This is the static half of the pipeline the CLI drives; it prints nothing and touches no network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from smtpcheck._version import __version__
from smtpcheck.config.documents import GatewayEntry, SourceDocument
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.errors import UsageError
from smtpcheck.redaction import redact
from smtpcheck.results import (
    Finding,
    GatewayReport,
    ProbeResult,
    Report,
    Severity,
    Status,
    Suggestion,
    status_of,
)
from smtpcheck.rules import (
    Selection,
    check_document,
    check_entry,
    check_fleet,
    internal_error,
)

__all__ = [
    "Inventory",
    "StaticOptions",
    "collect",
    "gateway_report",
    "internal_finding",
    "static_findings",
    "validate",
]


@dataclass(frozen=True, slots=True)
class StaticOptions:
    """What `validate` and `check` share: rule selection and which gateways to look at."""

    selection: Selection = field(default_factory=Selection)
    gateway_ids: frozenset[int] = frozenset()  # empty: every gateway


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every gateway of a run, plus the findings about sources and the fleet as a whole."""

    entries: tuple[GatewayEntry, ...]
    findings: tuple[Finding, ...]


def collect(documents: Iterable[SourceDocument], options: StaticOptions) -> Inventory:
    """Gather the gateways of all sources, with source-level and fleet-level findings.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    findings: list[Finding] = []
    entries: list[GatewayEntry] = []
    for doc in documents:
        findings.extend(
            dataclasses.replace(f, source=doc.source)
            for f in check_document(doc, options.selection)
        )
        entries.extend(doc.gateways)
    if options.gateway_ids:
        missing = options.gateway_ids - {e.id for e in entries}
        if missing:
            raise UsageError(
                f"--gateway {', '.join(map(str, sorted(missing)))}: no such gateway in the sources"
            )
        entries = [e for e in entries if e.id in options.gateway_ids]
    findings.extend(check_fleet(entries, options.selection))
    return Inventory(tuple(entries), tuple(findings))


def gateway_report(
    entry: GatewayEntry,
    findings: Collection[Finding],
    *,
    probe: ProbeResult | None = None,
    suggestion: Suggestion | None = None,
) -> GatewayReport:
    """Build one gateway's report, deciding its status from its findings."""
    if any(f.code == "SC901" for f in findings):
        status = Status.ERROR
    elif any(f.severity is Severity.ERROR for f in findings):
        status = Status.FAILED
    elif not entry.is_smtp:
        status = Status.SKIPPED
    else:
        status = status_of(findings)
    settings = entry.settings
    return GatewayReport(
        id=entry.id,
        label=entry.label,
        kind=entry.kind,
        source=entry.source,
        status=status,
        endpoint=settings.endpoint if settings is not None and entry.is_smtp else None,
        findings=tuple(findings),
        probe=probe,
        suggestion=suggestion,
    )


def static_findings(entry: GatewayEntry, selection: Selection) -> list[Finding]:
    """Run the static rules on one gateway; a bug in a rule becomes SC901, not a crash."""
    try:
        return check_entry(entry, selection)
    except Exception as exc:  # the per-gateway guard: one bad gateway never stops the others
        return [internal_finding(exc, entry.settings)]


def internal_finding(error: Exception, settings: SmtpSettings | None) -> Finding:
    """Return SC901 for a bug met while checking a gateway, its password scrubbed from the text."""
    finding = internal_error(error)
    return finding if settings is None else redact(finding, settings.secrets)


def validate(documents: Iterable[SourceDocument], options: StaticOptions) -> Report:
    """Lint every gateway of the sources without any network access."""
    inventory = collect(documents, options)
    gateways = tuple(
        gateway_report(entry, static_findings(entry, options.selection))
        for entry in inventory.entries
    )
    return Report(gateways=gateways, findings=inventory.findings, version=__version__)
