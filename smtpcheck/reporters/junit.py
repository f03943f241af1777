"""JUnit XML for CI: one test case per gateway (and one per source with source-level findings).

Failed gateways fail, errored ones error, skipped ones skip; each probed gateway's stage timings
and TLS session go to its ``system-out``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from smtpcheck.defaults import FAIL_ON
from smtpcheck.reporters._common import endpoint_text, gateway_name, json_text
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import Finding, GatewayReport, ProbeResult, Report, Severity, Status

__all__ = ["render_junit"]

# XML 1.0 cannot carry most C0 controls even as character references; a label or a server reply
# holding one would make the whole file unparsable, so they are written as visible escapes.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(report: Report, options: RenderOptions) -> str:
    """Render the report as a JUnit ``<testsuite>``."""
    suite = ET.Element("testsuite", name="smtpcheck")
    fail_on = options.fail_on or Severity(FAIL_ON)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_ms = 0.0
    for source in dict.fromkeys(f.source for f in report.findings):
        findings = [f for f in report.findings if f.source == source]
        case = ET.SubElement(
            suite, "testcase", classname="sources", name=source or "all sources", time="0.000"
        )
        status = Status.FAILED if _fails(findings, fail_on) else Status.WARNING
        _system_out(case, _outcome(case, status, findings, counts))
    for gateway in report.gateways:
        ms = gateway.probe.ms if gateway.probe is not None else 0.0
        total_ms += ms
        case = ET.SubElement(
            suite,
            "testcase",
            classname=gateway.source,
            name=gateway_name(gateway),
            time=f"{ms / 1000:.3f}",
        )
        status = gateway.status
        if status in (Status.OK, Status.WARNING) and _fails(gateway.findings, fail_on):
            # It works, but a finding fails the run (the exit code): so it fails the test too.
            status = Status.FAILED
        notes = _outcome(case, status, gateway.findings, counts)
        _system_out(case, [*notes, *_details(gateway, verbose=options.verbose)])
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total_ms / 1000:.3f}")
    _make_safe(suite)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _fails(findings: Iterable[Finding], fail_on: Severity) -> bool:
    return any(f.severity.rank >= fail_on.rank for f in findings)


def _outcome(
    case: ET.Element, status: Status, findings: Iterable[Finding], counts: dict[str, int]
) -> list[str]:
    """Mark the case failed, errored or skipped; return the finding lines of a passing case."""
    counts["tests"] += 1
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.code))
    text = "\n".join(_line(f) for f in ordered)
    first = _line(ordered[0]) if ordered else ""
    if status is Status.FAILED:
        counts["failures"] += 1
        ET.SubElement(case, "failure", message=first or "failed").text = text
    elif status is Status.ERROR:
        counts["errors"] += 1
        ET.SubElement(case, "error", message=first or "error").text = text
    elif status is Status.SKIPPED:
        counts["skipped"] += 1
        ET.SubElement(case, "skipped", message=text or "not an SMTP gateway")
    else:
        # A passing case has no element of its own for its warnings and notes.
        return text.splitlines()
    return []


def _system_out(case: ET.Element, lines: list[str]) -> None:
    if lines:
        ET.SubElement(case, "system-out").text = "\n".join(lines)


def _details(gateway: GatewayReport, *, verbose: bool) -> Iterator[str]:
    if gateway.endpoint is not None:
        yield f"endpoint {endpoint_text(gateway.endpoint)}"
    if gateway.probe is not None:
        yield from _probe(gateway.probe, verbose=verbose)
    if gateway.suggestion is not None:
        yield f"suggested change: {gateway.suggestion.why}"
        for key, value in gateway.suggestion.params.items():
            yield f"  {key}: {json_text(value)}"


def _probe(probe: ProbeResult, *, verbose: bool) -> Iterator[str]:
    failure = probe.failure
    verdict = "ok" if failure is None else f"failed ({failure.kind})"
    detail = f": {failure.detail}" if failure is not None and failure.detail else ""
    yield f"probe {verdict} in {probe.ms:.1f} ms{detail}"
    for step in probe.steps:
        state = "ok" if step.ok else "FAILED"
        detail = f"  {step.detail}" if step.detail else ""
        yield f"  {step.name:<10} {state:<6} {step.ms:8.1f} ms{detail}"
    if failure is not None and failure.tls_error:
        yield f"tls handshake failed: {failure.tls_error}"
    if probe.tls is not None:
        tls = probe.tls
        verified = "verified" if tls.verified else f"NOT verified: {tls.verify_error or '?'}"
        yield f"tls {tls.version} {tls.cipher}, certificate {verified}"
        if tls.name_matches is False:
            yield "  the certificate does not name the host"
        if tls.cert is not None:
            cert = tls.cert
            yield f"certificate {cert.subject}, issuer {cert.issuer}, SAN {', '.join(cert.san)}"
            yield f"  not after {cert.not_after} ({cert.days_left} days left)"
    if verbose and probe.transcript:
        yield "transcript:"
        yield from (f"  {line}" for line in probe.transcript)


def _line(finding: Finding) -> str:
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    return f"{finding.severity} {finding.code} {finding.slug}: {finding.message}{fix}"


def _make_safe(element: ET.Element) -> None:
    for node in element.iter():
        if node.text:
            node.text = _xml_text(node.text)
        for key, value in node.attrib.items():
            node.set(key, _xml_text(value))


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
