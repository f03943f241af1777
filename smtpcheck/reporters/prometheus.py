"""Prometheus text exposition for the node_exporter textfile collector: one gauge per fact.

The facts (families, and per sample its labels and value) are computed here once, by
`gateway_samples` and `run_samples`: this module formats them by hand (a handful of gauges does
not justify a runtime dependency on prometheus_client) and ``smtpcheck.serve.metrics`` serves
them. Names follow blackbox_exporter's with the ``smtpcheck_`` prefix and the unit in the name.
Every gateway series carries ``gateway`` (its id; a repeated id gets ``#2``) and ``label``, and
every series the constant labels of ``--label``. No timestamps: the textfile collector refuses
them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from smtpcheck.reporters._common import gateway_keys, step_keys
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import (
    CertInfo,
    DeliveryOutcome,
    DeliveryResult,
    Finding,
    GatewayReport,
    Report,
    Status,
)

__all__ = [
    "FAMILIES",
    "GATEWAY_FAMILIES",
    "Family",
    "Labels",
    "Sample",
    "constant_label_problem",
    "constant_labels",
    "format_labels",
    "format_sample",
    "gateway_labels",
    "gateway_samples",
    "join_labels",
    "render_prometheus",
    "run_samples",
]

Labels = tuple[tuple[str, str], ...]
#: One sample: its family's name, its own labels (not the gateway's or the constant ones), value.
Sample = tuple[str, Labels, float]


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family: name, HELP text, type, and unit (OpenMetrics' UNIT; '' for none)."""

    name: str
    help: str
    type: str = "gauge"
    unit: str = ""


_SECONDS = "seconds"
#: Every family, in output order. All are gauges: each file is a snapshot. node_exporter drops a
#: family whose HELP differs from another file's: two versions of smtpcheck writing into one
#: directory disagree wherever a HELP text below was changed.
FAMILIES = (
    Family(
        "smtpcheck_gateway_status",
        "1 for the gateway's status (ok, warning, failed, skipped, error), 0 for the others.",
    ),
    Family(
        "smtpcheck_gateway_info",
        "Where the gateway's config connects: host, port and TLS mode (none, starttls, "
        "implicit), empty when unknown (always 1).",
    ),
    Family(
        "smtpcheck_gateway_works",
        "1 when the platform's JavaMail gets through with the gateway's config, as probed, else "
        "0; absent when not probed. Kept apart from the findings: a working gateway may still "
        "have error findings.",
    ),
    Family(
        "smtpcheck_config_findings",
        "Findings of the static rules (SC0xx-SC4xx) about the gateway's config, by rule code "
        "and severity.",
    ),
    Family(
        "smtpcheck_live_findings",
        "Findings of the live check of the gateway, by rule code and severity: what the probe "
        "saw (SC5xx-SC7xx), where the test message went (SC8xx) and smtpcheck's own failures "
        "(SC9xx).",
    ),
    Family(
        "smtpcheck_source_findings",
        "Findings about a source as a whole (bad JSON, duplicate ids), by rule code and severity.",
    ),
    Family("smtpcheck_gateways", "Gateways in the run, by status."),
    Family(
        "smtpcheck_probe_success",
        "1 when the live probe of the gateway succeeded, else 0 (blackbox_exporter's name).",
    ),
    Family(
        "smtpcheck_probe_duration_seconds",
        "How long the live probe of the gateway took.",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_probe_step_duration_seconds",
        "How long each stage of the live probe took; a stage run again gets a number (ehlo_2: "
        "the EHLO after STARTTLS).",
        unit=_SECONDS,
    ),
    Family(
        "smtpcheck_delivery_success",
        "With --expect-delivery: 1 when the test message the server accepted arrived, 0 when "
        "it did not; absent when it could not be looked for (SC803) or was not sent.",
    ),
    Family(
        "smtpcheck_delivery_seconds",
        "With --expect-delivery: from the server's 250 to the test message found in the "
        "catcher or mailbox; absent when it was not found.",
        unit=_SECONDS,
    ),
    Family("smtpcheck_tls_version_info", "The TLS version the gateway negotiated (always 1)."),
    Family(
        "smtpcheck_tls_cert_expiry_timestamp_seconds",
        "When the gateway's certificate expires, in seconds since the Unix epoch.",
        unit=_SECONDS,
    ),
)
#: Each status with its label, made once: every gateway has a sample of each.
_STATUS_LABELS = tuple((status, (("status", status.value),)) for status in Status)
_RUN_FAMILIES = frozenset({"smtpcheck_source_findings", "smtpcheck_gateways"})
#: The families of one gateway's series, in output order (`gateway_samples` yields only these).
GATEWAY_FAMILIES = tuple(f for f in FAMILIES if f.name not in _RUN_FAMILIES)

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
    constant = format_labels(constant_labels(options.labels))
    lines: dict[str, list[str]] = {family.name: [] for family in FAMILIES}
    for key, gateway in zip(gateway_keys(report.gateways), report.gateways, strict=True):
        base = join_labels(constant, format_labels(gateway_labels(key, gateway)))
        for name, labels, value in gateway_samples(gateway):
            lines[name].append(format_sample(name, join_labels(base, format_labels(labels)), value))
    for name, labels, value in run_samples(report.gateways, report.findings):
        lines[name].append(format_sample(name, join_labels(constant, format_labels(labels)), value))
    out = []
    for family in FAMILIES:
        if lines[family.name]:
            name = family.name
            out += [f"# HELP {name} {_help_text(family.help)}", f"# TYPE {name} {family.type}"]
            out += lines[name]
    return "\n".join(out) + "\n"


def constant_labels(labels: Sequence[tuple[str, str]]) -> Labels:
    """Return the ``--label`` labels checked, their values as UTF-8 can hold them.

    Raises:
        ValueError: a name is refused by `constant_label_problem`, or given twice.
    """
    names = [name for name, _ in labels]
    for name in names:
        problem = constant_label_problem(name)
        if problem is not None:
            raise ValueError(problem)
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"constant label {repeated[0]!r} is given more than once")
    return tuple((name, _utf8(value)) for name, value in labels)


def gateway_labels(key: str, gateway: GatewayReport) -> Labels:
    """Return the labels on every series of the gateway: its key and its label."""
    return (("gateway", _utf8(key)), ("label", _utf8(gateway.label or "")))


def gateway_samples(gateway: GatewayReport) -> Iterator[Sample]:
    """Yield the gateway's samples, family by family in `GATEWAY_FAMILIES` order."""
    for status, labels in _STATUS_LABELS:
        yield "smtpcheck_gateway_status", labels, status is gateway.status
    yield "smtpcheck_gateway_info", _where(gateway), 1
    if gateway.works is not None:
        yield "smtpcheck_gateway_works", (), gateway.works
    yield from _findings(gateway.findings)
    probe = gateway.probe
    if probe is None:  # not probed: no probe series, as for validate
        return
    yield "smtpcheck_probe_success", (), probe.ok
    yield "smtpcheck_probe_duration_seconds", (), probe.ms / 1000
    for step_key, step in zip(step_keys(probe.steps), probe.steps, strict=True):
        yield "smtpcheck_probe_step_duration_seconds", (("step", step_key),), step.ms / 1000
    yield from _delivery(gateway.delivery)
    if probe.tls is None:
        return
    yield "smtpcheck_tls_version_info", (("version", _utf8(probe.tls.version)),), 1
    expiry = _expiry(probe.tls.cert)
    if expiry is not None:
        yield "smtpcheck_tls_cert_expiry_timestamp_seconds", (), expiry


def _delivery(delivery: DeliveryResult | None) -> Iterator[Sample]:
    if delivery is None or delivery.outcome is DeliveryOutcome.UNREACHABLE:
        return  # nothing was learnt: a 0 would page someone for a catcher that is down
    yield "smtpcheck_delivery_success", (), delivery.arrived
    if delivery.latency_ms is not None:
        yield "smtpcheck_delivery_seconds", (), delivery.latency_ms / 1000


def run_samples(gateways: Iterable[GatewayReport], findings: Iterable[Finding]) -> Iterator[Sample]:
    """Yield the samples of the run as a whole: source-level findings, gateways by status."""
    sources = Counter((_utf8(f.source or ""), f.code, str(f.severity)) for f in findings)
    for (source, code, severity), count in sorted(sources.items()):
        where = (("source", source), ("code", code), ("severity", severity))
        yield "smtpcheck_source_findings", where, count
    statuses = Counter(g.status for g in gateways)
    for status, labels in _STATUS_LABELS:
        yield "smtpcheck_gateways", labels, statuses[status]


def _where(gateway: GatewayReport) -> Labels:
    # Every gateway has the series, so that a join on it keeps them all; an empty value is
    # Prometheus's way of saying "no such label".
    endpoint = gateway.endpoint
    if endpoint is None:
        return (("host", ""), ("port", ""), ("mode", ""))
    return (
        ("host", _utf8(endpoint.host or "")),
        ("port", str(endpoint.port)),
        ("mode", endpoint.mode.value),
    )


def _findings(findings: Sequence[Finding]) -> Iterator[Sample]:
    if not findings:
        return
    counts = Counter((f.code, str(f.severity)) for f in findings)
    # The hundreds digit is the rule group. SC9xx (a bug, no file descriptor left, an
    # interrupted run) goes with the live findings: like those it belongs to this run and
    # comes and goes with no edit to the file, whereas a config finding stays until someone
    # edits the config, which is what an alert on that family asks for. Config findings first:
    # each family's samples stay together.
    ordered = sorted(counts.items(), key=lambda item: (item[0][0][2:3] not in _STATIC_GROUPS, item))
    for (code, severity), count in ordered:
        static = code[2:3] in _STATIC_GROUPS
        family = "smtpcheck_config_findings" if static else "smtpcheck_live_findings"
        yield family, (("code", code), ("severity", severity)), count


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


def format_labels(labels: Labels) -> str:
    """Return the labels as the exposition writes them inside braces, values escaped."""
    return ",".join([f'{name}="{_label_value(value)}"' for name, value in labels])


def join_labels(rendered: str, more: str) -> str:
    """Return two label lists already rendered (constant ones, a gateway's), as one."""
    return f"{rendered},{more}" if rendered and more else rendered or more


def format_sample(name: str, labels: str, value: float) -> str:
    """Return one sample line (no line feed) of the text format, and of OpenMetrics' too."""
    return f"{name}{{{labels}}} {_number(value)}"


def _label_value(value: str) -> str:
    # The exposition format escapes exactly these three inside a quoted label value; any other
    # character, control characters included, is written as it is, in UTF-8.
    if "\\" not in value and '"' not in value and "\n" not in value:
        return value  # nearly every value: looking costs less than replacing
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
    if value.__class__ is not float or value.is_integer():  # bool and int too
        return str(int(value))
    return repr(round(value, 6))  # microseconds; drops float noise such as ...0000004
