"""Prometheus text exposition for the node_exporter textfile collector: one gauge per fact.

Written by hand: a handful of gauges does not justify a runtime dependency on prometheus_client.
Names follow blackbox_exporter's with the ``smtpcheck_`` prefix and the unit in the name. Every
gateway series carries ``gateway`` (its id; a repeated id gets ``#2``) and ``label``, and every
series the constant labels of ``--label``. No timestamps: the textfile collector refuses them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from smtpcheck.reporters._common import gateway_keys, step_keys
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import CertInfo, Finding, GatewayReport, Report, Status

__all__ = ["constant_label_problem", "render_prometheus"]

_Labels = Sequence[tuple[str, str]]
_Add = Callable[[str, str, float], None]  # (family, rendered labels, value)

#: Every family, in output order, with its HELP text. All are gauges: each file is a snapshot.
#: node_exporter drops a family whose HELP differs from another file's: two versions of
#: smtpcheck writing into one directory disagree wherever a HELP text below was changed.
_HELP = {
    "smtpcheck_gateway_status": (
        "1 for the gateway's status (ok, warning, failed, skipped, error), 0 for the others."
    ),
    "smtpcheck_gateway_info": (
        "Where the gateway's config connects: host, port and TLS mode (none, starttls, "
        "implicit), empty when unknown (always 1)."
    ),
    "smtpcheck_gateway_works": (
        "1 when the platform's JavaMail gets through with the gateway's config, as probed, else "
        "0; absent when not probed. Kept apart from the findings: a working gateway may still "
        "have error findings."
    ),
    "smtpcheck_config_findings": (
        "Findings of the static rules (SC0xx-SC4xx) about the gateway's config, by rule code "
        "and severity."
    ),
    "smtpcheck_live_findings": (
        "Findings of the live check of the gateway, by rule code and severity: what the probe "
        "saw (SC5xx-SC7xx) and smtpcheck's own failures (SC9xx)."
    ),
    "smtpcheck_source_findings": (
        "Findings about a source as a whole (bad JSON, duplicate ids), by rule code and severity."
    ),
    "smtpcheck_gateways": "Gateways in the run, by status.",
    "smtpcheck_probe_success": (
        "1 when the live probe of the gateway succeeded, else 0 (blackbox_exporter's name)."
    ),
    "smtpcheck_probe_duration_seconds": "How long the live probe of the gateway took.",
    "smtpcheck_probe_step_duration_seconds": (
        "How long each stage of the live probe took; a stage run again gets a number (ehlo_2: "
        "the EHLO after STARTTLS)."
    ),
    "smtpcheck_tls_version_info": "The TLS version the gateway negotiated (always 1).",
    "smtpcheck_tls_cert_expiry_timestamp_seconds": (
        "When the gateway's certificate expires, in seconds since the Unix epoch."
    ),
}

#: Every label name smtpcheck puts on a series itself: a constant label must not take one.
_OWN_LABELS = frozenset(
    [
        "gateway",
        "label",
        "status",
        "host",
        "port",
        "mode",
        "code",
        "severity",
        "source",
        "step",
        "version",
    ]
)
#: Label names with a meaning of their own in Prometheus: histogram buckets, summary quantiles.
_RESERVED_LABELS = frozenset({"le", "quantile"})
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_CAMEL_CASE = re.compile(r"[a-z][A-Z]")  # what promtool's lint calls camelCase
#: Rule groups (the code's hundreds digit) of the static rules: functions of the config alone.
_STATIC_GROUPS = frozenset("01234")
# UTF-8 cannot encode a surrogate code point; JSON ("\ud800") and undecodable bytes in argv or a
# file name (Python's surrogateescape) both put lone ones in a str.
_SURROGATE = re.compile("[\ud800-\udfff]")


def constant_label_problem(name: str) -> str | None:
    """Return why ``name`` cannot be a constant label (``--label NAME=VALUE``), or None."""
    if not _LABEL_NAME.fullmatch(name):
        return f"label name {name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
    if name.startswith("__"):
        return f"label name {name!r} starts with '__', which Prometheus reserves for itself"
    if name in _RESERVED_LABELS:
        return f"label name {name!r} is reserved by Prometheus for histograms and summaries"
    if name in _OWN_LABELS:
        return f"label name {name!r} is one smtpcheck already puts on its series"
    if _CAMEL_CASE.search(name):
        snake = _CAMEL_CASE.sub(lambda m: f"{m.group()[0]}_{m.group()[1]}", name).lower()
        return f"label name {name!r} is camelCase, which promtool refuses: use {snake!r}"
    return None


def render_prometheus(report: Report, options: RenderOptions) -> str:
    """Render the report as gauges in the text exposition format.

    Raises:
        ValueError: a constant label's name is refused by `constant_label_problem`, or given
            twice.
    """
    constant = _constant_labels(options.labels)
    samples: dict[str, list[str]] = {name: [] for name in _HELP}

    def add(name: str, labels: str, value: float) -> None:
        samples[name].append(f"{name}{{{labels}}} {_number(value)}")

    for key, gateway in zip(gateway_keys(report.gateways), report.gateways, strict=True):
        _gateway(gateway, _labels(constant, ("gateway", key), ("label", gateway.label or "")), add)
    sources = Counter((f.source or "", f.code, str(f.severity)) for f in report.findings)
    for (source, code, severity), count in sorted(sources.items()):
        labels = _labels(constant, ("source", source), ("code", code), ("severity", severity))
        add("smtpcheck_source_findings", labels, count)
    statuses = Counter(g.status for g in report.gateways)
    for status in Status:
        add("smtpcheck_gateways", _labels(constant, ("status", str(status))), statuses[status])
    lines = []
    for name, family in samples.items():
        if family:
            lines += [f"# HELP {name} {_help_text(_HELP[name])}", f"# TYPE {name} gauge", *family]
    return "\n".join(lines) + "\n"


def _constant_labels(labels: _Labels) -> str:
    names = [name for name, _ in labels]
    for name in names:
        problem = constant_label_problem(name)
        if problem is not None:
            raise ValueError(problem)
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"constant label {repeated[0]!r} is given more than once")
    return _labels("", *labels)


def _gateway(gateway: GatewayReport, base: str, add: _Add) -> None:
    for status in Status:
        add(
            "smtpcheck_gateway_status",
            _labels(base, ("status", str(status))),
            status is gateway.status,
        )
    add("smtpcheck_gateway_info", _labels(base, *_where(gateway)), 1)
    if gateway.works is not None:
        add("smtpcheck_gateway_works", base, gateway.works)
    _findings(gateway.findings, base, add)
    probe = gateway.probe
    if probe is None:  # not probed: no probe series, as for validate
        return
    add("smtpcheck_probe_success", base, probe.ok)
    add("smtpcheck_probe_duration_seconds", base, probe.ms / 1000)
    for step_key, step in zip(step_keys(probe.steps), probe.steps, strict=True):
        labels = _labels(base, ("step", step_key))
        add("smtpcheck_probe_step_duration_seconds", labels, step.ms / 1000)
    if probe.tls is None:
        return
    add("smtpcheck_tls_version_info", _labels(base, ("version", probe.tls.version)), 1)
    expiry = _expiry(probe.tls.cert)
    if expiry is not None:
        add("smtpcheck_tls_cert_expiry_timestamp_seconds", base, expiry)


def _where(gateway: GatewayReport) -> _Labels:
    # Every gateway has the series, so that a join on it keeps them all; an empty value is
    # Prometheus's way of saying "no such label".
    endpoint = gateway.endpoint
    if endpoint is None:
        return (("host", ""), ("port", ""), ("mode", ""))
    return (
        ("host", endpoint.host or ""),
        ("port", str(endpoint.port)),
        ("mode", endpoint.mode.value),
    )


def _findings(findings: Sequence[Finding], base: str, add: _Add) -> None:
    counts = Counter((f.code, str(f.severity)) for f in findings)
    for (code, severity), count in sorted(counts.items()):
        # The hundreds digit is the rule group. SC9xx (a bug, no file descriptor left, an
        # interrupted run) goes with the live findings: like those it belongs to this run and
        # comes and goes with no edit to the file, whereas a config finding stays until someone
        # edits the config, which is what an alert on that family asks for.
        static = code[2:3] in _STATIC_GROUPS
        family = "smtpcheck_config_findings" if static else "smtpcheck_live_findings"
        add(family, _labels(base, ("code", code), ("severity", severity)), count)


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


def _labels(rendered: str, *labels: tuple[str, str]) -> str:
    """Return labels already rendered (constant ones, a gateway's), then these, escaped."""
    more = ",".join(f'{name}="{_label_value(value)}"' for name, value in labels)
    return f"{rendered},{more}" if rendered and more else rendered or more


def _label_value(value: str) -> str:
    # The exposition format escapes exactly these three inside a quoted label value; any other
    # character, control characters included, is written as it is, in UTF-8.
    return _utf8(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help_text(text: str) -> str:
    # HELP knows only these two escapes; a double quote stands for itself there.
    return _utf8(text).replace("\\", "\\\\").replace("\n", "\\n")


def _utf8(text: str) -> str:
    """Return the text with each lone surrogate as U+FFFD, and a split pair joined again.

    U+FFFD is what every UTF-8 decoder makes of bytes it cannot read, so the value is what a
    reader of the source would have seen; writing the surrogate's number instead would invent
    a notation that reads the same as a label holding those very characters.
    """
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _number(value: float) -> str:
    if isinstance(value, bool) or float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))  # microseconds; drops float noise such as ...0000004
