"""`validate`: the static half of the pipeline, sources → rules → report, with no network."""

from __future__ import annotations

from collections.abc import Iterable

from smtpcheck.config.documents import SourceDocument
from smtpcheck.pipeline.inventory import (
    LintOptions,
    collect,
    gateway_report,
    now,
    stamped_report,
    static_findings,
)
from smtpcheck.results import Report

__all__ = ["validate"]


def validate(documents: Iterable[SourceDocument], options: LintOptions) -> Report:
    """Lint every gateway of the sources without any network access.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    started = now()
    inventory = collect(documents, options)
    gateways = tuple(
        gateway_report(entry, static_findings(entry, options.selection))
        for entry in inventory.entries
    )
    return stamped_report(gateways, inventory.findings, started=started)
