"""The human report: a table of gateways, details under those that need attention, a summary.

A fleet reads as one line per healthy gateway. A gateway with a warning or worse (every gateway
with ``-v``) also gets its findings with their fixes, the probe stages, TLS and certificate, and
the suggested params change as a diff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from smtpcheck.config.javamail import pinned_params
from smtpcheck.reporters._common import (
    display_width,
    endpoint_text,
    gateway_name,
    json_text,
    ms_text,
    printable,
)
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import (
    CertInfo,
    Endpoint,
    Finding,
    GatewayKind,
    GatewayReport,
    ProbeResult,
    Report,
    Severity,
    Status,
    Suggestion,
    TlsInfo,
)

__all__ = ["render_text"]

_RESET = "\x1b[0m"
_STYLES = {
    "red": "\x1b[31m",
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "cyan": "\x1b[36m",
    "magenta": "\x1b[35m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
_STATUS = {
    Status.OK: ("OK", "green"),
    Status.WARNING: ("WARN", "yellow"),
    Status.FAILED: ("FAIL", "red"),
    Status.SKIPPED: ("SKIP", "cyan"),
    Status.ERROR: ("ERROR", "magenta"),
}
_SOURCE_STATUS = {
    Severity.ERROR: ("FAIL", "red"),
    Severity.WARNING: ("WARN", "yellow"),
    Severity.INFO: ("NOTE", "cyan"),
}
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_QUIET = (Status.OK, Status.SKIPPED)

# The layout, in columns: a status word, then details indented under the gateway's name, each
# behind a tag ("warning", "probe"); a finding's code, then its message with the fix below it.
_STATUS_WIDTH = 5
_DETAIL = " " * (_STATUS_WIDTH + 1)
_TAG_WIDTH = 8
_CODE_WIDTH = 5
_TEXT = _DETAIL + " " * (_TAG_WIDTH + 1)  # where the text behind a tag starts
_MESSAGE = _TEXT + " " * (_CODE_WIDTH + 2)  # where a finding's message and its fix start
_MAX_CELL = 56  # one long label must not push every other row off the screen


@dataclass(frozen=True, slots=True)
class _Painter:
    enabled: bool

    def __call__(self, text: str, style: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.enabled and text else text


def render_text(report: Report, options: RenderOptions) -> str:
    """Render the report for a person at a terminal (colour only when asked)."""
    paint = _Painter(options.color)
    lines = list(_sources(report.findings, paint))
    if lines and report.gateways:
        lines.append("")
    widths = _column_widths(report.gateways)
    for gateway in report.gateways:
        lines.extend(_gateway(gateway, widths, paint, verbose=options.verbose))
    if lines:
        lines.append("")
    lines.append(_summary(report, paint))
    return "\n".join(lines) + "\n"


def _sources(findings: Sequence[Finding], paint: _Painter) -> Iterator[str]:
    order = list(dict.fromkeys(f.source for f in findings))  # as found, each source once
    for source in order:
        mine = [f for f in findings if f.source == source]
        word, style = _SOURCE_STATUS[max((f.severity for f in mine), key=lambda s: s.rank)]
        name = printable(source) if source is not None else "all sources"
        yield f"{paint(_pad(word, _STATUS_WIDTH), style)} {paint(name, 'bold')}"
        yield from _findings(mine, paint)


def _row(gateway: GatewayReport) -> tuple[str, str, str]:
    if gateway.endpoint is not None:
        where = endpoint_text(gateway.endpoint)
    else:
        where = "leasable" if gateway.kind is GatewayKind.LEASABLE else "-"
    return printable(gateway_name(gateway)), where, printable(gateway.source)


def _column_widths(gateways: Iterable[GatewayReport]) -> tuple[int, ...]:
    # A cell wider than the cap overflows its own row and sets no width for the others.
    widths = [0, 0, 0]
    for gateway in gateways:
        for i, cell in enumerate(_row(gateway)):
            width = display_width(cell)
            if width <= _MAX_CELL:
                widths[i] = max(widths[i], width)
    return tuple(widths)


def _gateway(
    gateway: GatewayReport, widths: tuple[int, ...], paint: _Painter, *, verbose: bool
) -> Iterator[str]:
    quiet = (
        not verbose
        and gateway.status in _QUIET
        and all(f.severity is Severity.INFO for f in gateway.findings)
    )
    word, style = _STATUS[gateway.status]
    name, where, source = _row(gateway)
    note = _note(gateway, quiet=quiet)
    head = f"{paint(_pad(word, _STATUS_WIDTH), style)} {paint(_pad(name, widths[0]), 'bold')}  "
    head += f"{_pad(where, widths[1])}  "
    if note:
        yield f"{head}{paint(_pad(source, widths[2]), 'dim')}  {note}"
    else:
        yield head + paint(source, "dim")
    if quiet:
        return
    if gateway.probe is not None:
        yield from _probe(gateway.probe, paint, verbose=verbose)
    yield from _findings(gateway.findings, paint)
    if gateway.suggestion is not None:
        yield from _suggestion(gateway.suggestion, gateway.endpoint, paint)


def _note(gateway: GatewayReport, *, quiet: bool) -> str:
    parts = []
    probe = gateway.probe
    if probe is not None:
        if probe.tls is not None:
            parts.append(printable(probe.tls.version))
            if probe.tls.cert is not None:
                parts.append(f"cert {probe.tls.cert.days_left} days")
        parts.append(f"{_verdict(gateway)}, {ms_text(probe.ms)}")
    if quiet and gateway.findings:
        parts.append("info " + ", ".join(sorted({f.code for f in gateway.findings})))
    return " · ".join(parts)


def _verdict(gateway: GatewayReport) -> str:
    """Say whether JavaMail gets through, and the worst problem of one that does."""
    if not gateway.works:
        return "does not work"
    problems = [f for f in gateway.findings if f.severity is not Severity.INFO]
    if not problems:
        return "works"
    worst = min(problems, key=lambda f: (-f.severity.rank, f.code))
    return f"works, but {worst.code} {worst.slug}"


def _findings(findings: Iterable[Finding], paint: _Painter) -> Iterator[str]:
    for finding in sorted(findings, key=lambda f: (-f.severity.rank, f.code)):
        severity = paint(_pad(finding.severity, _TAG_WIDTH), _SEVERITY_STYLE[finding.severity])
        code = _pad(finding.code, _CODE_WIDTH)
        yield f"{_DETAIL}{severity} {code}  {printable(finding.message)}"
        if finding.fix:
            yield f"{_MESSAGE}{paint('fix:', 'bold')} {printable(finding.fix)}"


def _tag(tag: str, text: str, paint: _Painter) -> str:
    return f"{_DETAIL}{paint(_pad(tag, _TAG_WIDTH), 'dim')} {text}"


def _probe(probe: ProbeResult, paint: _Painter, *, verbose: bool) -> Iterator[str]:
    stages = []
    for step in probe.steps:
        if step.ok:
            stages.append(f"{step.name} {ms_text(step.ms)}")
            continue
        why = step.detail or (str(step.reply_code) if step.reply_code is not None else "")
        failed = paint(f"{step.name} FAILED", "red") + f" {ms_text(step.ms)}"
        stages.append(f"{failed}: {printable(why)}" if why else failed)
    stages.append(f"total {ms_text(probe.ms)}")
    yield _tag("probe", " · ".join(stages), paint)
    tls_error = None if probe.failure is None else probe.failure.tls_error
    if tls_error:
        failed = paint("TLS handshake failed", "red")
        yield _tag("tls", f"{failed}: {printable(tls_error)}", paint)
    if probe.tls is not None:
        yield _tag("tls", _tls(probe.tls, paint), paint)
        if probe.tls.cert is not None:
            yield _tag("cert", printable(_cert(probe.tls.cert)), paint)
    if probe.auth_mechanisms or probe.auth_mechanisms_before_tls:
        yield _tag("auth", _auth(probe), paint)
    if verbose:
        if probe.extensions:
            yield _tag("ehlo", printable(", ".join(probe.extensions)), paint)
        for line in probe.transcript:
            yield f"{_TEXT}{paint('|', 'dim')} {printable(line)}"


def _tls(tls: TlsInfo, paint: _Painter) -> str:
    if tls.verified:
        verdict = "certificate verified"
    else:
        verdict = paint("certificate NOT verified", "red")
        if tls.verify_error:
            verdict += f": {printable(tls.verify_error)}"
    if tls.name_matches is False:
        verdict += " · " + paint("certificate does not name the host", "red")
    return f"{printable(tls.version)} {printable(tls.cipher)} · {verdict}"


def _cert(cert: CertInfo) -> str:
    day = cert.not_after[:10]
    if cert.days_left >= 0:
        expiry = f"expires {day} ({cert.days_left} days left)"
    else:
        expiry = f"EXPIRED {day} ({-cert.days_left} days ago)"
    parts = [cert.subject, f"issuer {cert.issuer}"]
    if cert.san:
        parts.append("SAN " + ", ".join(cert.san))
    return " · ".join([*parts, expiry])


def _auth(probe: ProbeResult) -> str:
    text = "offered " + (" ".join(probe.auth_mechanisms).upper() or "nothing after TLS")
    if probe.auth_mechanisms_before_tls:
        text += " (before TLS: " + " ".join(probe.auth_mechanisms_before_tls).upper() + ")"
    return printable(text)


def _suggestion(
    suggestion: Suggestion, endpoint: Endpoint | None, paint: _Painter
) -> Iterator[str]:
    yield f"{_DETAIL}{paint(_pad('suggest', _TAG_WIDTH), 'green')} {printable(suggestion.why)}"
    for key, value in suggestion.params.items():
        new = printable(json_text(value))
        if key in suggestion.previous:  # as the config wrote it
            old: str | None = printable(json_text(suggestion.previous[key]))
        else:
            old = _current_value(endpoint, key)
        if old == new:
            yield f"{_TEXT}  {key}: {new}"
            continue
        if old is not None:
            yield _TEXT + paint(f"- {key}: {old}", "red")
        yield _TEXT + paint(f"+ {key}: {new}", "green")


def _current_value(endpoint: Endpoint | None, key: str) -> str | None:
    # Without the value as written, the connection as JavaMail derives it stands in: only the
    # params that connection pins down get a "-" line; the others are shown as "+" alone.
    if endpoint is None:
        return None
    known = pinned_params(endpoint)
    return printable(json_text(known[key])) if key in known else None


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def _summary(report: Report, paint: _Painter) -> str:
    s = report.summary
    parts = [
        paint(f"{s.ok} ok", "green") if s.ok else f"{s.ok} ok",
        paint(f"{s.warning} warning", "yellow") if s.warning else f"{s.warning} warning",
        paint(f"{s.failed} failed", "red") if s.failed else f"{s.failed} failed",
        f"{s.skipped} skipped",
    ]
    if s.error:
        parts.append(paint(f"{s.error} error", "magenta"))
    counts = Counter(f.severity for f in report.all_findings())
    noun = "gateway" if s.gateways == 1 else "gateways"
    return (
        f"{s.gateways} {noun}: {', '.join(parts)} — findings: "
        f"{counts[Severity.ERROR]} error, {counts[Severity.WARNING]} warning, "
        f"{counts[Severity.INFO]} info"
    )
