"""Output formats, chosen by name. Each renders the same `Report` to a string."""

from __future__ import annotations

from smtpcheck.reporters.base import RenderOptions, Reporter
from smtpcheck.reporters.json_ import render_json, report_to_dict
from smtpcheck.reporters.junit import render_junit
from smtpcheck.reporters.nagios import nagios_exit_code, render_nagios
from smtpcheck.reporters.prometheus import render_prometheus
from smtpcheck.reporters.text import render_text
from smtpcheck.results import Report

__all__ = [
    "REPORTERS",
    "RenderOptions",
    "Reporter",
    "nagios_exit_code",
    "render",
    "report_to_dict",
]

REPORTERS: dict[str, Reporter] = {
    reporter.name: reporter
    for reporter in (
        Reporter("text", "text/plain; charset=utf-8", render_text),
        Reporter("json", "application/json", render_json),
        Reporter("junit", "application/xml", render_junit),
        Reporter("nagios", "text/plain; charset=utf-8", render_nagios),
        # The exposition format's own media type, as Prometheus servers expect it.
        Reporter("prometheus", "text/plain; version=0.0.4; charset=utf-8", render_prometheus),
    )
}


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render the report in the named format."""
    return REPORTERS[fmt].render(report, options or RenderOptions())
