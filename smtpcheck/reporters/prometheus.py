"""Prometheus text exposition for the node_exporter textfile collector: one gauge per fact.

Written by hand: a handful of gauges does not justify a runtime dependency on prometheus_client.
Names follow blackbox_exporter's with the ``smtpcheck_`` prefix and the unit in the name. Every
gateway series carries ``gateway`` (its id; a repeated id gets ``#2``) and ``label``. No
timestamps: the textfile collector refuses files that carry them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from smtpcheck.reporters._common import gateway_keys, step_keys
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import CertInfo, GatewayReport, Report, Status

__all__ = ["render_prometheus"]

_Labels = Sequence[tuple[str, str]]
_Add = Callable[[str, _Labels, float], None]

#: Every family, in output order, with its HELP text. All are gauges: each file is a snapshot.
_HELP = {
    "smtpcheck_gateway_status": (
        "1 for the gateway's status (ok, warning, failed, skipped, error), 0 for the others."
    ),
    "smtpcheck_gateway_works": (
        "1 when the platform's JavaMail gets through with the gateway's config, as probed, else "
        "0; absent when not probed. Kept apart from the findings: a working gateway may still "
        "have error findings."
    ),
    "smtpcheck_config_findings": "Findings about the gateway, by rule code and severity.",
    "smtpcheck_source_findings": (
        "Findings about a source as a whole (bad JSON, duplicate ids), by rule code and severity."
    ),
    "smtpcheck_gateways": "Gateways in the run, by status.",
    "smtpcheck_probe_success": (
        "1 when the live probe of the gateway succeeded, else 0 (blackbox_exporter's name)."
    ),
    "smtpcheck_probe_duration_seconds": "How long the live probe of the gateway took.",
    "smtpcheck_probe_step_duration_seconds": (
        "How long each stage of the live probe took; a repeated stage (EHLO after STARTTLS) "
        "is step_2."
    ),
    "smtpcheck_tls_version_info": "The TLS version the gateway negotiated (always 1).",
    "smtpcheck_tls_cert_expiry_timestamp_seconds": (
        "When the gateway's certificate expires, in seconds since the Unix epoch."
    ),
}

# Lone surrogates can come out of JSON ("\ud800") but cannot be written as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def render_prometheus(report: Report, options: RenderOptions) -> str:
    """Render the report as gauges in the text exposition format."""
    samples: dict[str, list[str]] = {name: [] for name in _HELP}

    def add(name: str, labels: _Labels, value: float) -> None:
        samples[name].append(f"{name}{_labels(labels)} {_number(value)}")

    for key, gateway in zip(gateway_keys(report.gateways), report.gateways, strict=True):
        _gateway(gateway, (("gateway", key), ("label", gateway.label or "")), add)
    sources = Counter((f.source or "", f.code, str(f.severity)) for f in report.findings)
    for (source, code, severity), count in sorted(sources.items()):
        labels = (("source", source), ("code", code), ("severity", severity))
        add("smtpcheck_source_findings", labels, count)
    statuses = Counter(g.status for g in report.gateways)
    for status in Status:
        add("smtpcheck_gateways", (("status", str(status)),), statuses[status])
    lines = []
    for name, family in samples.items():
        if family:
            lines += [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} gauge", *family]
    return "\n".join(lines) + "\n"


def _gateway(gateway: GatewayReport, base: _Labels, add: _Add) -> None:
    for status in Status:
        add("smtpcheck_gateway_status", (*base, ("status", str(status))), status is gateway.status)
    if gateway.works is not None:
        add("smtpcheck_gateway_works", base, gateway.works)
    findings = Counter((f.code, str(f.severity)) for f in gateway.findings)
    for (code, severity), count in sorted(findings.items()):
        add("smtpcheck_config_findings", (*base, ("code", code), ("severity", severity)), count)
    probe = gateway.probe
    if probe is None:  # not probed: no probe series, as for validate
        return
    add("smtpcheck_probe_success", base, probe.ok)
    add("smtpcheck_probe_duration_seconds", base, probe.ms / 1000)
    for step_key, step in zip(step_keys(probe.steps), probe.steps, strict=True):
        add("smtpcheck_probe_step_duration_seconds", (*base, ("step", step_key)), step.ms / 1000)
    if probe.tls is None:
        return
    add("smtpcheck_tls_version_info", (*base, ("version", probe.tls.version)), 1)
    expiry = _expiry(probe.tls.cert)
    if expiry is not None:
        add("smtpcheck_tls_cert_expiry_timestamp_seconds", base, expiry)


def _expiry(cert: CertInfo | None) -> int | None:
    if cert is None:
        return None
    try:
        moment = datetime.fromisoformat(cert.not_after)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # results keep certificate times in UTC
    return int(moment.timestamp())


def _labels(labels: _Labels) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def _escape(value: str) -> str:
    # The exposition format escapes exactly these three inside a quoted label value.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return _SURROGATE.sub(lambda m: f"\\\\u{ord(m.group()):04x}", escaped)


def _number(value: float) -> str:
    if isinstance(value, bool) or float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))  # microseconds; drops float noise such as ...0000004
