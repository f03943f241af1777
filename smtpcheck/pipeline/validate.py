"""`validate`: the static half of the pipeline, sources → rules → report, with no network."""

from __future__ import annotations

from collections.abc import Iterable

from smtpcheck._version import __version__
from smtpcheck.config.documents import SourceDocument
from smtpcheck.pipeline.inventory import LintOptions, collect, gateway_report, static_findings
from smtpcheck.results import Report

__all__ = ["validate"]


def validate(documents: Iterable[SourceDocument], options: LintOptions) -> Report:
    """Lint every gateway of the sources without any network access.

    Raises:
        UsageError: ``--gateway`` named ids that no source holds.
    """
    inventory = collect(documents, options)
    gateways = tuple(
        gateway_report(entry, static_findings(entry, options.selection))
        for entry in inventory.entries
    )
    return Report(gateways=gateways, findings=inventory.findings, version=__version__)
