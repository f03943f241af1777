"""The JSON report: the stable, versioned contract other tools parse (schema 2).

Adding a key is compatible, and so is a new ``failure`` value (a new way for a probe to stop,
which a consumer reads as "failed for another reason"); consumers ignore keys they do not know.
Renaming or removing a key, or changing what a value means, needs a new ``schema`` number.

Schema 2 (from 1): each gateway has ``works`` (true, false, or null when not probed) beside its
findings, ``status`` is ``failed`` only for a gateway that does not work (or, not probed, has an
error finding), the endpoint says ``starttls_required``, and the probe's always-null ``skipped``
key is gone; since then the head has gained ``started`` and ``host``, and each gateway
``delivery`` (``--expect-delivery``). `json_shape` types every
object; the JSON Schema generated from it (`json_schema`) ships as ``report.schema.json``, and
``smtpcheck schema`` prints it.

The layout puts the head of the report on the first line and each gateway on a line of its own:
one line per gateway greps and diffs well, and lets ``json`` use its C encoder (``indent`` would
switch it to the pure-Python one, the slowest part of rendering a fleet).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from smtpcheck.reporters.base import RenderOptions
from smtpcheck.reporters.json_shape import (
    SCHEMA_VERSION,
    CertDict,
    DeliveryDict,
    EndpointDict,
    FindingDict,
    GatewayDict,
    ProbeDict,
    ReportDict,
    SourceFindingDict,
    StepDict,
    SuggestionDict,
    TlsDict,
)
from smtpcheck.results import (
    CertInfo,
    DeliveryResult,
    Endpoint,
    Finding,
    GatewayReport,
    ProbeResult,
    ProbeStep,
    Report,
    Suggestion,
    TlsInfo,
)

__all__ = ["SCHEMA_VERSION", "probe_to_dict", "render_json", "report_to_dict"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def report_to_dict(report: Report, *, transcripts: bool = False) -> ReportDict:
    """Return the report as JSON-ready data, in the documented key order.

    Enumerated values are the `StrEnum` members themselves: strings that ``json`` writes as
    their values. ``transcripts`` adds each probe's transcript (``-v``).
    """
    summary = report.summary
    return {
        "schema": SCHEMA_VERSION,
        "tool": "smtpcheck",
        "version": report.version,
        "started": None if report.started is None else _utc_text(report.started),
        "host": report.host,
        "summary": {
            "gateways": summary.gateways,
            "ok": summary.ok,
            "warning": summary.warning,
            "failed": summary.failed,
            "skipped": summary.skipped,
            "error": summary.error,
        },
        "findings": [_source_finding(f) for f in report.findings],
        "gateways": [_gateway(g, transcripts) for g in report.gateways],
    }


def render_json(report: Report, options: RenderOptions) -> str:
    """Render the report as JSON, one gateway per line (``-v`` adds each probe's transcript)."""
    data = report_to_dict(report, transcripts=options.verbose)
    gateways = data["gateways"]
    head = {key: value for key, value in data.items() if key != "gateways"}  # it comes last
    text = json.dumps(head, ensure_ascii=False)[:-1]  # without its closing brace
    lines = ",\n".join(json.dumps(g, ensure_ascii=False) for g in gateways)
    text += f', "gateways": [\n{lines}\n]}}' if gateways else ', "gateways": []}'
    # A lone surrogate (JSON input may hold "\ud800") cannot be written as UTF-8: keep it escaped.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _utc_text(moment: datetime) -> str:
    # A naive time is taken as UTC, which is what `Report.started` promises.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    # isoformat, not strftime: it always writes a four-digit year, as RFC 3339 wants.
    return aware.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _finding(finding: Finding) -> FindingDict:
    return {
        "code": finding.code,
        "slug": finding.slug,
        "severity": finding.severity,
        "message": finding.message,
        "param": finding.param,
        "fix": finding.fix,
    }


def _source_finding(finding: Finding) -> SourceFindingDict:
    return {**_finding(finding), "source": finding.source}


def _gateway(gateway: GatewayReport, transcripts: bool) -> GatewayDict:
    probe = gateway.probe
    return {
        "id": gateway.id,
        "label": gateway.label,
        "kind": gateway.kind,
        "source": gateway.source,
        "status": gateway.status,
        "works": gateway.works,
        "endpoint": None if gateway.endpoint is None else _endpoint(gateway.endpoint),
        "findings": [_finding(f) for f in gateway.findings],
        "probe": None if probe is None else probe_to_dict(probe, transcript=transcripts),
        "suggestion": None if gateway.suggestion is None else _suggestion(gateway.suggestion),
        "delivery": None if gateway.delivery is None else _delivery(gateway.delivery),
    }


def _delivery(delivery: DeliveryResult) -> DeliveryDict:
    return {
        "where": delivery.where,
        "outcome": delivery.outcome,
        "token": delivery.token,
        "latency_ms": None if delivery.latency_ms is None else round(delivery.latency_ms, 2),
        "waited_ms": round(delivery.waited_ms, 2),
        "polls": delivery.polls,
        "found_id": delivery.found_id,
        "differences": [
            {"field": d.field, "sent": d.sent, "found": d.found} for d in delivery.differences
        ],
        "detail": delivery.detail,
        "problem": delivery.problem,
        "removed": delivery.removed,
    }


def _endpoint(endpoint: Endpoint) -> EndpointDict:
    return {
        "host": endpoint.host,
        "port": endpoint.port,
        "mode": endpoint.mode,
        "starttls_required": endpoint.starttls_required,
    }


def _suggestion(suggestion: Suggestion) -> SuggestionDict:
    return {
        "params": dict(suggestion.params),
        "why": suggestion.why,
        "previous": dict(suggestion.previous),  # the changed keys as written
    }


def probe_to_dict(probe: ProbeResult, *, transcript: bool = False) -> ProbeDict:
    """Return one probe's result as JSON-ready data, its transcript only when asked for."""
    failure = probe.failure
    data: ProbeDict = {
        "ok": probe.ok,
        "steps": [_step(s) for s in probe.steps],
        "tls": None if probe.tls is None else _tls(probe.tls),
        "extensions_before_tls": list(probe.extensions_before_tls),
        "extensions": list(probe.extensions),
        "auth_mechanisms_before_tls": list(probe.auth_mechanisms_before_tls),
        "auth_mechanisms": list(probe.auth_mechanisms),
        "failure": None if failure is None else failure.kind,
        "failure_detail": "" if failure is None else failure.detail,
        "reply_code": None if failure is None else failure.reply_code,
        "port_hint": probe.port_hint,
        "tls_error": None if failure is None else failure.tls_error,
        # Another target's result (the same dead address and port), not connected again.
        "shared": probe.shared,
        "ms": round(probe.ms, 2),
    }
    if transcript:
        data["transcript"] = list(probe.transcript)
    return data


def _step(step: ProbeStep) -> StepDict:
    return {
        "name": step.name,
        "ok": step.ok,
        "ms": round(step.ms, 2),
        "detail": step.detail,
        "reply_code": step.reply_code,
    }


def _tls(tls: TlsInfo) -> TlsDict:
    return {
        "version": tls.version,
        "cipher": tls.cipher,
        "verified": tls.verified,
        "verify_error": tls.verify_error,
        "verify_code": tls.verify_code,
        "name_matches": tls.name_matches,
        "cert": None if tls.cert is None else _cert(tls.cert),
    }


def _cert(cert: CertInfo) -> CertDict:
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "san": list(cert.san),
        "not_after": cert.not_after,
        "days_left": cert.days_left,
    }
