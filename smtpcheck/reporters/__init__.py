"""Output formats, chosen by name. Each renders the same `Report` to a string."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpcheck.reporters._common import display_width, gateway_keys, printable
from smtpcheck.reporters.base import RenderOptions, Reporter
from smtpcheck.reporters.json_ import report_to_dict
from smtpcheck.results import Report

if TYPE_CHECKING:
    from smtpcheck.reporters.nagios import nagios_exit_code

__all__ = [
    "REPORTERS",
    "RenderOptions",
    "Reporter",
    "display_width",
    "gateway_keys",
    "nagios_exit_code",
    "printable",
    "render",
    "report_to_dict",
]

REPORTERS: dict[str, Reporter] = {
    reporter.name: reporter
    for reporter in (
        Reporter("text", "text/plain; charset=utf-8", "smtpcheck.reporters.text", "render_text"),
        Reporter("json", "application/json", "smtpcheck.reporters.json_", "render_json"),
        Reporter("junit", "application/xml", "smtpcheck.reporters.junit", "render_junit"),
        Reporter(
            "nagios",
            "text/plain; charset=utf-8",
            "smtpcheck.reporters.nagios",
            "render_nagios",
            exit_code="nagios_exit_code",
            unusable="nagios_unusable",
        ),
        # The exposition format's own media type, as Prometheus servers expect it.
        Reporter(
            "prometheus",
            "text/plain; version=0.0.4; charset=utf-8",
            "smtpcheck.reporters.prometheus",
            "render_prometheus",
        ),
        Reporter("sarif", "application/sarif+json", "smtpcheck.reporters.sarif", "render_sarif"),
    )
}


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render the report in the named format."""
    return REPORTERS[fmt].render(report, options or RenderOptions())


def __getattr__(name: str) -> object:
    if name == "nagios_exit_code":  # re-exported without importing the nagios module up front
        from smtpcheck.reporters.nagios import nagios_exit_code

        return nagios_exit_code
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
