"""Nagios / Icinga plugin output: a status line, one line per gateway, performance data.

The layout follows the Monitoring Plugins guidelines: the first line is what a dashboard shows,
text after ``|`` is perfdata (``'label'=value[UOM];warn;crit;min;max``), long output follows one
line per gateway, and the perfdata after a ``|`` on its last line runs to the end. The plugin's
exit status comes from `nagios_exit_code`, so the text and the status always agree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from enum import IntEnum

from smtpcheck.reporters._common import (
    endpoint_text,
    gateway_keys,
    gateway_name,
    ms_text,
    printable,
    step_keys,
)
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import (
    Finding,
    GatewayKind,
    GatewayReport,
    Report,
    Severity,
    Status,
    worst_first,
)

__all__ = [
    "NagiosState",
    "nagios_exit_code",
    "nagios_state",
    "nagios_unusable",
    "render_nagios",
    "render_unknown",
]


class NagiosState(IntEnum):
    """A plugin's verdict; its value is the exit status Nagios reads."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


_CHECKED = (Status.OK, Status.WARNING, Status.FAILED)
_BADNESS = {Status.FAILED: 3, Status.ERROR: 2, Status.WARNING: 1}
_SOURCE_BADNESS = {Severity.ERROR: 3, Severity.WARNING: 1, Severity.INFO: 0}
_SOURCE_WORD = {Severity.ERROR: "FAILED", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}
_SAFE_LABEL = re.compile(r"[^A-Za-z0-9_]+")
# "Nothing was checked" is not a verdict on any gateway: the check did not happen, UNKNOWN.
_NOTHING_CHECKED = "SC011"


def nagios_state(report: Report, fail_on: Severity | None) -> NagiosState:
    """Return the verdict on a run.

    CRITICAL: a gateway failed (it does not work, or, not probed, an error says it cannot), a
    source could not be read, or — when ``--fail-on`` is given — a finding reached it (so
    ``--fail-on error`` makes an error finding on a working gateway critical, and ``--fail-on
    warning`` every warning). Without ``--fail-on``, a gateway that works but has problems
    ("works, but …") is a WARNING: an alert at night means mail does not go out. UNKNOWN: the
    check itself broke for a gateway (status ``error``), or no SMTP gateway was checked at
    all. A known failure outranks an unknown, so one broken check never hides a failed
    gateway from the alert. WARNING: any warning. Otherwise OK.
    """
    judged = [g for g in report.gateways if g.status is not Status.ERROR]
    sources = [f for f in report.findings if f.code != _NOTHING_CHECKED]
    # An errored gateway's SC901 finding says the check broke, not that the gateway is bad.
    findings = [*sources, *(f for g in judged for f in g.findings)]
    worst = max((f.severity.rank for f in findings), default=Severity.INFO.rank)
    worst_source = max((f.severity.rank for f in sources), default=Severity.INFO.rank)
    critical = fail_on.rank if fail_on is not None else Severity.ERROR.rank
    if any(g.status is Status.FAILED for g in judged) or worst_source >= critical:
        return NagiosState.CRITICAL
    if fail_on is not None and worst >= fail_on.rank:
        return NagiosState.CRITICAL
    checked = any(g.status in _CHECKED for g in report.gateways) and len(sources) == len(
        report.findings
    )
    if len(judged) < len(report.gateways) or not checked:
        return NagiosState.UNKNOWN
    if worst >= Severity.WARNING.rank:
        return NagiosState.WARNING
    return NagiosState.OK


def nagios_exit_code(report: Report, fail_on: Severity | None) -> int:
    """Return the Nagios exit status of a run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    return int(nagios_state(report, fail_on))


def render_unknown(message: str) -> str:
    """Render the UNKNOWN status line for a run that could not happen (bad path, bad option)."""
    return f"SMTPCHECK {NagiosState.UNKNOWN.name} - {_flat(message)}\n"


def nagios_unusable(message: str) -> tuple[str, int]:
    """Return what Nagios reads for a run that could not happen: UNKNOWN, exit 3.

    Nagios reads exit 2 as CRITICAL: a typo in a path must read as "the check could not run",
    not as a mail outage.
    """
    return render_unknown(message), int(NagiosState.UNKNOWN)


def render_nagios(
    report: Report, options: RenderOptions, *, verdict: tuple[NagiosState, str] | None = None
) -> str:
    """Render the report as plugin output; pair it with `nagios_exit_code`.

    ``verdict``: a state and headline of the caller's own, for a run judged by something else
    than its gateways (the demo passes when its broken gateways fail as meant).
    """
    state = nagios_state(report, options.fail_on) if verdict is None else verdict[0]
    headline = _headline(report, state) if verdict is None else _flat(verdict[1])
    status = f"SMTPCHECK {state.name} - {headline} | {' '.join(_counts(report))}"
    long_lines = [*_source_lines(report), *(_gateway_line(g) for g in report.gateways)]
    perf = list(_gateway_perfdata(report))
    if long_lines and perf:
        long_lines[-1] += f" | {perf[0]}"
        long_lines.extend(perf[1:])
    return "\n".join([status, *long_lines]) + "\n"


def _flat(text: str) -> str:
    # "|" starts the perfdata: in text it would cut the line short.
    return printable(text).replace("|", "\N{BROKEN BAR}")


def _headline(report: Report, state: NagiosState) -> str:
    s = report.summary
    counts = [
        (s.failed, "failed"),
        (s.error, "error"),
        (s.warning, "warning"),
        (s.ok, "ok"),
        (s.skipped, "skipped"),
    ]
    noun = "gateway" if s.gateways == 1 else "gateways"
    text = f"{s.gateways} {noun}: " + ", ".join(f"{n} {word}" for n, word in counts if n)
    if not s.gateways:
        text = "no gateway found in the sources"
    focus = _focus(report)
    if focus is not None:
        text += f"; {focus}"
    elif state is NagiosState.UNKNOWN and s.gateways:
        text += "; no SMTP gateway was checked"
    return _flat(text)


def _focus(report: Report) -> str | None:
    """Name the worst problem: the gateway or source that a reader should look at first."""
    candidates: list[tuple[int, str, list[Finding]]] = [
        (_BADNESS.get(g.status, 0), gateway_name(g), list(g.findings)) for g in report.gateways
    ]
    for source, findings in _by_source(report.findings).items():
        worst = max((f.severity for f in findings), key=lambda s: s.rank)
        candidates.append((_SOURCE_BADNESS[worst], source, findings))
    badness, name, findings = max(candidates, key=lambda c: c[0], default=(0, "", []))
    if not badness or not findings:
        return None
    first = worst_first(findings)[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{name}: {first.code} {first.slug}{more}"


def _by_source(findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.source or "all sources", []).append(finding)
    return grouped


def _summary_of(findings: list[Finding] | tuple[Finding, ...]) -> str:
    ordered = worst_first(findings)
    first = f"{ordered[0].code} {ordered[0].message}"
    rest = [f.code for f in ordered[1:]]
    return first + (f" (+{len(rest)} more: {', '.join(rest)})" if rest else "")


def _source_lines(report: Report) -> Iterator[str]:
    for source, findings in _by_source(report.findings).items():
        word = _SOURCE_WORD[max((f.severity for f in findings), key=lambda s: s.rank)]
        yield _flat(f"{word}: {source} - {_summary_of(findings)}")


def _gateway_line(gateway: GatewayReport) -> str:
    where = ""
    if gateway.endpoint is not None:
        where = f" {endpoint_text(gateway.endpoint)}"
    elif gateway.kind is GatewayKind.LEASABLE:
        where = " leasable"
    line = f"{gateway.status.upper()}: {gateway_name(gateway)}{where}"
    facts = []
    if gateway.probe is not None:
        tls = f", {gateway.probe.tls.version}" if gateway.probe.tls is not None else ""
        facts.append(f"{ms_text(gateway.probe.ms)}{tls}")
    if gateway.delivery is not None and gateway.delivery.latency_ms is not None:
        facts.append(f"arrived in {ms_text(gateway.delivery.latency_ms)}")
    if gateway.findings and gateway.status is not Status.OK:
        facts.append(_summary_of(gateway.findings))
    elif gateway.findings:
        facts.append("info " + ", ".join(f.code for f in worst_first(gateway.findings)))
    return _flat(f"{line} - {'; '.join(facts)}" if facts else line)


def _counts(report: Report) -> Iterator[str]:
    s = report.summary
    for label, value in (
        ("gateways", s.gateways),
        ("ok", s.ok),
        ("warning", s.warning),
        ("failed", s.failed),
        ("skipped", s.skipped),
        ("error", s.error),
    ):
        yield _perf(label, str(value))
    severities = Counter(f.severity for f in report.all_findings())
    for severity in Severity:
        yield _perf(f"findings_{severity}", str(severities[severity]))


def _gateway_perfdata(report: Report) -> Iterator[str]:
    for key, gateway in zip(gateway_keys(report.gateways), report.gateways, strict=True):
        probe = gateway.probe
        if probe is None:
            continue
        prefix = "gw" + _SAFE_LABEL.sub("_", key)
        yield _perf(f"{prefix}_time", _ms(probe.ms), "ms")
        for step_key, step in zip(step_keys(probe.steps), probe.steps, strict=True):
            yield _perf(f"{prefix}_{_SAFE_LABEL.sub('_', step_key)}", _ms(step.ms), "ms")
        delivery = gateway.delivery
        if delivery is not None:
            # From the 250 to the message found; "U" (the guidelines' unknown) when it never was.
            latency = delivery.latency_ms
            yield _perf(f"{prefix}_delivery", "U" if latency is None else _ms(latency), "ms")


def _perf(label: str, value: str, unit: str = "") -> str:
    # No thresholds of our own (the verdict is the status), minimum 0. Labels are already
    # reduced to [A-Za-z0-9_]; the quotes keep the form the guidelines show.
    return f"'{label}'={value}{'' if value == 'U' else unit};;;0"


def _ms(ms: float) -> str:
    # Perfdata values are plain decimals ([-0-9.]): no exponent, no trailing zeros.
    return f"{max(ms, 0.0):.3f}".rstrip("0").rstrip(".")
