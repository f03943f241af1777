"""The end of the text report: counts, the gateways that failed, and the findings by code.

Short for one gateway (its details are just above); bounded for a fleet of 10 000: a few ids
and codes, then "… and N more".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from smtpcheck.reporters._common import printable
from smtpcheck.reporters.text_layout import Line, Painter, glue
from smtpcheck.results import Finding, GatewayReport, Report, Severity, Status

__all__ = ["MAX_CODES", "MAX_NAMED", "summary"]

#: Gateways named per status before "… and N more".
MAX_NAMED = 10
#: Codes listed before "… and N more codes".
MAX_CODES = 8

_INDENT = "  "  # where the summary's own continuation lines and its code lines start
_NAMED = ((Status.FAILED, "failed", "red"), (Status.ERROR, "error", "magenta"))
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow"}
_STATUS_STYLE = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.FAILED: "red",
    Status.SKIPPED: "cyan",
    Status.ERROR: "magenta",
}


def summary(report: Report, paint: Painter) -> list[Line]:
    """Return the summary lines of a run, each with the indent it wraps to."""
    lines = [(_counts(report, paint), _INDENT)]
    if len(report.gateways) == 1 and not report.findings:
        return lines  # the one gateway's details are just above
    for status, word, style in _NAMED:
        names = [_short_name(g) for g in report.gateways if g.status is status]
        if names:
            lines.append((f"{paint(word + ':', style)} {_bounded(names)}", _INDENT))
    lines.extend((line, _INDENT * 2) for line in _by_code(report.all_findings(), paint))
    return lines


def _counts(report: Report, paint: Painter) -> str:
    s = report.summary
    by_severity = Counter(f.severity for f in report.all_findings())
    found = ", ".join(glue(f"{by_severity[severity]} {severity}") for severity in Severity)
    if s.gateways == 1:
        status = report.gateways[0].status
        return f"1 gateway: {paint(str(status), _STATUS_STYLE[status])} — findings: {found}"
    counts = [
        (s.ok, "ok", "green"),
        (s.warning, "warning", "yellow"),
        (s.failed, "failed", "red"),
        (s.skipped, "skipped", ""),
    ]
    if s.error:
        counts.append((s.error, "error", "magenta"))
    parts = [
        paint(glue(f"{n} {word}"), style) if n and style else glue(f"{n} {word}")
        for n, word, style in counts
    ]
    return f"{s.gateways} gateways: {', '.join(parts)} — findings: {found}"


def _short_name(gateway: GatewayReport) -> str:
    """Return how a list of many gateways names one: its id, or where it is without one."""
    if gateway.id is not None:
        return str(gateway.id)
    position = gateway.position
    if not position or position.startswith("["):
        where = f"{gateway.source}{position}"
    else:
        where = f"{gateway.source} {position}"
    return glue(f"{printable(where)} (no id)")


def _bounded(names: list[str]) -> str:
    noun = "gateway" if len(names) == 1 else "gateways"
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    return f"{noun} {shown}" + (f" … and {more} more" if more > 0 else "")


def _by_code(findings: Iterable[Finding], paint: Painter) -> Iterator[str]:
    """Yield ``8 × SC702 auth-failed`` per code of a warning or worse, worst first."""
    counts: Counter[str] = Counter()
    slugs: dict[str, str] = {}
    worst: dict[str, Severity] = {}
    for finding in findings:
        if finding.severity is Severity.INFO:
            continue
        code = finding.code
        counts[code] += 1
        slugs.setdefault(code, finding.slug)
        if code not in worst or finding.severity.rank > worst[code].rank:
            worst[code] = finding.severity
    order = sorted(counts, key=lambda c: (-worst[c].rank, -counts[c], c))
    digits = len(str(max(counts.values(), default=0)))
    for code in order[:MAX_CODES]:
        count = paint(glue(f"{counts[code]:>{digits}} × {code}"), _SEVERITY_STYLE[worst[code]])
        yield f"{_INDENT}{count}{glue(' ' + slugs[code])}"
    rest = order[MAX_CODES:]
    if rest:
        hidden = sum(counts[c] for c in rest)
        code_word = "code" if len(rest) == 1 else "codes"
        finding_word = "finding" if hidden == 1 else "findings"
        yield f"{_INDENT}… and {len(rest)} more {code_word} ({hidden} {finding_word})"
