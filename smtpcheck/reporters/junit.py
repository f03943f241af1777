"""JUnit XML for CI: one test case per gateway (and one per source with source-level findings)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import Finding, GatewayReport, Report, Severity, Status

__all__ = ["render_junit"]


def render_junit(report: Report, options: RenderOptions) -> str:
    """Render the report as a JUnit ``<testsuite>``: failed gateways fail, skipped ones skip."""
    suite = ET.Element("testsuite", name="smtpcheck")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_ms = 0.0
    for source in sorted({f.source or "" for f in report.findings}):
        findings = [f for f in report.findings if (f.source or "") == source]
        case = ET.SubElement(suite, "testcase", classname="sources", name=source or "all sources")
        _outcome(case, Status.FAILED if _has_error(findings) else Status.WARNING, findings, counts)
    for gateway in report.gateways:
        ms = gateway.probe.ms if gateway.probe is not None else 0.0
        total_ms += ms
        case = ET.SubElement(
            suite,
            "testcase",
            classname=gateway.source,
            name=_name(gateway),
            time=f"{ms / 1000:.3f}",
        )
        _outcome(case, gateway.status, gateway.findings, counts)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total_ms / 1000:.3f}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _has_error(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def _name(gateway: GatewayReport) -> str:
    name = f"gateway {gateway.id}" if gateway.id is not None else "gateway (no id)"
    return f"{name} {gateway.label}" if gateway.label else name


def _outcome(
    case: ET.Element, status: Status, findings: Iterable[Finding], counts: dict[str, int]
) -> None:
    counts["tests"] += 1
    findings = list(findings)
    text = "\n".join(_line(f) for f in findings)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if status is Status.FAILED:
        counts["failures"] += 1
        failure = ET.SubElement(case, "failure", message=_line(errors[0]) if errors else "failed")
        failure.text = text
    elif status is Status.ERROR:
        counts["errors"] += 1
        error = ET.SubElement(case, "error", message=_line(errors[0]) if errors else "error")
        error.text = text
    elif status is Status.SKIPPED:
        counts["skipped"] += 1
        ET.SubElement(case, "skipped", message=text or "not an SMTP gateway")
    elif text:
        ET.SubElement(case, "system-out").text = text


def _line(finding: Finding) -> str:
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    return f"{finding.severity} {finding.code} {finding.slug}: {finding.message}{fix}"
