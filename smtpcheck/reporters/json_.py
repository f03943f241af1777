"""The JSON report: the stable, versioned contract other tools parse (schema 2).

Adding a key is compatible; renaming or removing one, or changing what a value means, needs a
new ``schema``. Schema 2 (from 1): each gateway has ``works`` (true, false, or null when not
probed) beside its findings, ``status`` is ``failed`` only for a gateway that does not work
(or, not probed, has an error finding), the endpoint says ``starttls_required``, and the probe's
always-null ``skipped`` key is gone. The layout puts the
head of the report on the first line and each gateway on a line of its own: one line per gateway
greps and diffs well, and lets ``json`` use its C encoder (``indent`` would switch it to the
pure-Python one, the slowest part of rendering a fleet).
"""

from __future__ import annotations

import json
import re
from typing import Any

from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import (
    CertInfo,
    Finding,
    GatewayReport,
    ProbeResult,
    ProbeStep,
    Report,
    TlsInfo,
)

__all__ = ["SCHEMA_VERSION", "probe_to_dict", "render_json", "report_to_dict"]

SCHEMA_VERSION = 2

_SURROGATE = re.compile("[\ud800-\udfff]")


def report_to_dict(report: Report) -> dict[str, Any]:
    """Return the report as JSON-ready data, in the documented key order."""
    summary = report.summary
    return {
        "schema": SCHEMA_VERSION,
        "tool": "smtpcheck",
        "version": report.version,
        "summary": {
            "gateways": summary.gateways,
            "ok": summary.ok,
            "warning": summary.warning,
            "failed": summary.failed,
            "skipped": summary.skipped,
            "error": summary.error,
        },
        "findings": [_finding(f, with_source=True) for f in report.findings],
        "gateways": [_gateway(g) for g in report.gateways],
    }


def render_json(report: Report, options: RenderOptions) -> str:
    """Render the report as JSON, one gateway per line (``-v`` adds each probe's transcript)."""
    data = report_to_dict(report)
    gateways = data.pop("gateways")
    if options.verbose:
        for gateway, rendered in zip(report.gateways, gateways, strict=True):
            if gateway.probe is not None:
                rendered["probe"]["transcript"] = list(gateway.probe.transcript)
    head = json.dumps(data, ensure_ascii=False)[:-1]  # without its closing brace
    lines = ",\n".join(json.dumps(g, ensure_ascii=False) for g in gateways)
    text = f'{head}, "gateways": [\n{lines}\n]}}' if gateways else f'{head}, "gateways": []}}'
    # A lone surrogate (JSON input may hold "\ud800") cannot be written as UTF-8: keep it escaped.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _finding(finding: Finding, *, with_source: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": finding.code,
        "slug": finding.slug,
        "severity": finding.severity.value,
        "message": finding.message,
        "param": finding.param,
        "fix": finding.fix,
    }
    if with_source:
        data["source"] = finding.source
    return data


def _gateway(gateway: GatewayReport) -> dict[str, Any]:
    endpoint = gateway.endpoint
    return {
        "id": gateway.id,
        "label": gateway.label,
        "kind": gateway.kind.value,
        "source": gateway.source,
        "status": gateway.status.value,
        "works": gateway.works,
        "endpoint": None
        if endpoint is None
        else {
            "host": endpoint.host,
            "port": endpoint.port,
            "mode": endpoint.mode.value,
            "starttls_required": endpoint.starttls_required,
        },
        "findings": [_finding(f) for f in gateway.findings],
        "probe": None if gateway.probe is None else probe_to_dict(gateway.probe),
        "suggestion": None
        if gateway.suggestion is None
        else {
            "params": dict(gateway.suggestion.params),
            "why": gateway.suggestion.why,
            "previous": dict(gateway.suggestion.previous),  # the changed keys as written
        },
    }


def probe_to_dict(probe: ProbeResult) -> dict[str, Any]:
    """Return one probe's result as JSON-ready data (without its transcript)."""
    failure = probe.failure
    return {
        "ok": probe.ok,
        "steps": [_step(s) for s in probe.steps],
        "tls": None if probe.tls is None else _tls(probe.tls),
        "extensions_before_tls": list(probe.extensions_before_tls),
        "extensions": list(probe.extensions),
        "auth_mechanisms_before_tls": list(probe.auth_mechanisms_before_tls),
        "auth_mechanisms": list(probe.auth_mechanisms),
        "failure": None if failure is None else failure.kind.value,
        "failure_detail": "" if failure is None else failure.detail,
        "reply_code": None if failure is None else failure.reply_code,
        "port_hint": None if probe.port_hint is None else probe.port_hint.value,
        "tls_error": None if failure is None else failure.tls_error,
        # Another target's result (the same dead address and port), not connected again.
        "shared": probe.shared,
        "ms": round(probe.ms, 2),
    }


def _step(step: ProbeStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "ok": step.ok,
        "ms": round(step.ms, 2),
        "detail": step.detail,
        "reply_code": step.reply_code,
    }


def _tls(tls: TlsInfo) -> dict[str, Any]:
    return {
        "version": tls.version,
        "cipher": tls.cipher,
        "verified": tls.verified,
        "verify_error": tls.verify_error,
        "verify_code": tls.verify_code,
        "name_matches": tls.name_matches,
        "cert": None if tls.cert is None else _cert(tls.cert),
    }


def _cert(cert: CertInfo) -> dict[str, Any]:
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "san": list(cert.san),
        "not_after": cert.not_after,
        "days_left": cert.days_left,
    }
