"""JUnit XML for CI: a ``<testsuite>`` per source, a test case per gateway and per bad source.

Valid against the Jenkins xunit and the Ant JUnit schemas. A case fails exactly when it makes
the run exit 1 (``--fail-on`` included), errors when the check could not run, and is skipped
for a gateway that is not SMTP.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from smtpcheck.defaults import FAIL_ON
from smtpcheck.reporters._common import endpoint_text, gateway_name, json_text
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import (
    DeliveryOutcome,
    DeliveryResult,
    Finding,
    GatewayReport,
    ProbeResult,
    Report,
    Severity,
    Status,
    worst_first,
)

__all__ = ["render_junit"]

# XML 1.0 cannot carry most C0 controls even as character references; a label or a server reply
# holding one would make the whole file unparsable, so they are written as visible escapes.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: The suite of the findings that span sources (SC005: one id in two files), bracketed as
#: ``<stdin>`` is, so that it reads as no file's name.
_ALL_SOURCES = "<all sources>"
#: The name of the case that holds a source's own findings (SC001: not JSON).
_SOURCE_CASE = "source"
#: Ant's schema wants a package on each suite of a ``<testsuites>``: the tool that ran.
_PACKAGE = "smtpcheck"
#: The element and the suite's count of each outcome that is not a pass.
_OUTCOMES = {
    Status.FAILED: ("failure", "failures"),
    Status.ERROR: ("error", "errors"),
    Status.SKIPPED: ("skipped", "skipped"),
}
_COUNTS = ("failures", "errors", "skipped")


@dataclass(frozen=True, slots=True)
class _Case:
    """One test case: its verdict (``--fail-on`` applied), findings and what was measured."""

    name: str
    status: Status
    findings: tuple[Finding, ...]
    details: tuple[str, ...] = ()
    seconds: float = 0.0


def render_junit(report: Report, options: RenderOptions) -> str:
    """Render the report as JUnit ``<testsuites>``, one suite per source in the order read.

    The Ant schema allows no attribute on ``<testsuites>`` and no output inside a case, so the
    totals are the suites' own, and each suite's ``system-out`` holds its cases' stage timings
    and TLS sessions, one block per case; a failing case's details follow its findings too.
    """
    fail_on = options.fail_on or Severity(FAIL_ON)
    root = ET.Element("testsuites")
    for index, (source, cases) in enumerate(_by_source(report, fail_on, options.verbose)):
        root.append(_suite(source, cases, index, report))
    _make_safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _by_source(
    report: Report, fail_on: Severity, verbose: bool
) -> Iterator[tuple[str, list[_Case]]]:
    """Yield each source with its cases: its own findings first, then its gateways in order."""
    own: dict[str, list[Finding]] = {}
    for finding in report.findings:
        own.setdefault(finding.source or _ALL_SOURCES, []).append(finding)
    order = dict.fromkeys([*(g.source for g in report.gateways), *own])
    if _ALL_SOURCES in order:  # about every source: after them all
        order[_ALL_SOURCES] = order.pop(_ALL_SOURCES)
    suites: dict[str, list[_Case]] = {source: [] for source in order}
    for source, findings in own.items():
        status = Status.FAILED if _fails(findings, fail_on) else Status.OK
        suites[source].append(_Case(_SOURCE_CASE, status, tuple(findings)))
    for gateway in report.gateways:
        suites[gateway.source].append(_gateway_case(gateway, fail_on, verbose))
    yield from suites.items()


def _gateway_case(gateway: GatewayReport, fail_on: Severity, verbose: bool) -> _Case:
    status = gateway.status
    if status not in (Status.FAILED, Status.ERROR) and _fails(gateway.findings, fail_on):
        # It works (or was not probed), but a finding fails the run: so it fails the test too.
        status = Status.FAILED
    ms = gateway.probe.ms if gateway.probe is not None else 0.0
    if gateway.delivery is not None:  # the case lasted until the message was found (or not)
        ms += gateway.delivery.waited_ms
    details = tuple(_details(gateway, verbose=verbose))
    return _Case(gateway_name(gateway), status, gateway.findings, details, ms / 1000)


def _fails(findings: Iterable[Finding], fail_on: Severity) -> bool:
    return any(f.severity.rank >= fail_on.rank for f in findings)


def _suite(source: str, cases: list[_Case], index: int, report: Report) -> ET.Element:
    """Build one suite, its attributes and children in the order the Ant schema requires."""
    counts = Counter(_OUTCOMES[c.status][1] for c in cases if c.status in _OUTCOMES)
    seconds = sum(_finite(c.seconds) for c in cases)
    suite = ET.Element("testsuite", name=source if source.strip() else repr(source))
    suite.set("id", str(index))
    suite.set("package", _PACKAGE)
    if report.started is not None:  # None only in a report built by hand
        suite.set("timestamp", _timestamp(report.started))
    # The Ant schema asks for 'localhost' when the machine's name is not known.
    suite.set("hostname", report.host if report.host and report.host.strip() else "localhost")
    for key, value in (("tests", len(cases)), *((k, counts[k]) for k in _COUNTS)):
        suite.set(key, str(value))
    suite.set("time", f"{seconds:.3f}")
    properties = ET.SubElement(suite, "properties")
    if report.version:
        ET.SubElement(properties, "property", name="smtpcheck.version", value=report.version)
    suite.extend(_testcase(source, case) for case in cases)
    blocks = [_block(case) for case in cases]
    ET.SubElement(suite, "system-out").text = "\n\n".join(b for b in blocks if b) or None
    ET.SubElement(suite, "system-err")
    return suite


def _testcase(classname: str, case: _Case) -> ET.Element:
    """Build one case; the Ant schema allows it at most one child, its outcome."""
    element = ET.Element(
        "testcase", classname=classname, name=case.name, time=f"{_finite(case.seconds):.3f}"
    )
    ordered = worst_first(case.findings)
    lines = [_line(f) for f in ordered]
    if case.status is Status.SKIPPED:
        ET.SubElement(element, "skipped", message="\n".join(lines) or "not an SMTP gateway")
    elif case.status in _OUTCOMES:
        tag = _OUTCOMES[case.status][0]
        # What failed is what CI shows first; the details say how (GitLab shows only this).
        outcome = ET.SubElement(
            element,
            tag,
            message=lines[0] if lines else tag,
            type=ordered[0].code if ordered else case.status.value,
        )
        outcome.text = "\n".join([*lines, *([""] if lines and case.details else []), *case.details])
    return element


def _block(case: _Case) -> str:
    """Return the case's lines for the suite's output: a passing case's findings, the details."""
    findings = [] if case.status in _OUTCOMES else [_line(f) for f in worst_first(case.findings)]
    lines = [*findings, *case.details]
    return "\n".join([case.name, *(f"  {line}" for line in lines)]) if lines else ""


def _details(gateway: GatewayReport, *, verbose: bool) -> Iterator[str]:
    if gateway.endpoint is not None:
        yield f"endpoint {endpoint_text(gateway.endpoint)}"
    if gateway.probe is not None:
        yield from _probe(gateway.probe, verbose=verbose)
    if gateway.delivery is not None:
        yield from _delivery(gateway.delivery)
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


def _delivery(delivery: DeliveryResult) -> Iterator[str]:
    """The delivery check as one more step, in the probe's columns."""
    state = "ok" if delivery.outcome is DeliveryOutcome.DELIVERED else "FAILED"
    ms = delivery.latency_ms if delivery.latency_ms is not None else delivery.waited_ms
    yield f"  {'delivery':<10} {state:<6} {ms:8.1f} ms  {delivery.outcome}: {delivery.detail}"
    for difference in delivery.differences:
        found = "gone" if difference.found is None else repr(difference.found)
        yield f"    {difference.field}: sent {difference.sent!r}, arrived {found}"


def _line(finding: Finding) -> str:
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    return f"{finding.severity} {finding.code} {finding.slug}: {finding.message}{fix}"


def _timestamp(started: datetime) -> str:
    # Both schemas take an ISO 8601 time; Ant's wants it without a zone, so it is UTC's.
    if started.tzinfo is not None:
        started = started.astimezone(UTC)
    return started.replace(tzinfo=None, microsecond=0).isoformat()


def _finite(seconds: float) -> float:
    # xs:decimal has no nan or inf, and a time is never below zero.
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _make_safe(element: ET.Element) -> None:
    for node in element.iter():
        if node.text:
            node.text = _xml_text(node.text)
        for key, value in node.attrib.items():
            node.set(key, _xml_text(value))


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
