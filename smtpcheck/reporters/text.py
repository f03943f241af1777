"""The human report: a table of gateways, details under those that need attention, a summary.

A fleet reads as one line per healthy gateway. A gateway with a warning or worse (every gateway
with ``-v``) also gets its findings with their fixes, the probe stages, TLS and certificate, and
the suggested params change as a diff. ``-q`` shows only what failed or warned. On a terminal
the lines fit its width (`text_layout`); the summary is `text_summary`.
"""

from __future__ import annotations

import dataclasses
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
from smtpcheck.reporters.text_layout import Line, Painter, fit, glue, pad, shorten, unglued
from smtpcheck.reporters.text_summary import summary
from smtpcheck.results import (
    CertInfo,
    DeliveryResult,
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
    worst_first,
)

__all__ = ["render_text"]

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
_FIX = _MESSAGE + " " * len("fix: ")  # where a wrapped fix goes on
_MAX_CELL = 56  # one long label must not push every other row off the screen
_DOT = glue(" ·") + " "  # a wrapped line ends with the dot, never starts with it
_MIN_NAME = 20  # narrower than this, the table gives way: cells unpadded, rows wrapped


@dataclass(frozen=True, slots=True)
class _Columns:
    """What each cell of a row is padded to, and the most a gateway's name may take."""

    widths: tuple[int, int, int]  # name, endpoint, source
    name_room: int | None = None  # None: no limit (no width, or it fits)


def render_text(report: Report, options: RenderOptions) -> str:
    """Render the report for a person at a terminal (colour only when asked)."""
    paint = Painter(options.color)
    lines = list(_sources(report.findings, paint, quiet=options.quiet))
    gateways = [g for g in report.gateways if not options.quiet or _needs_attention(g)]
    if lines and gateways:
        lines.append(("", ""))
    columns = _columns(gateways, options.width)
    for gateway in gateways:
        lines.extend(_gateway(gateway, columns, paint, verbose=options.verbose))
    if lines:
        lines.append(("", ""))
    lines.extend(summary(report, paint))
    fitted = (part for line, indent in lines for part in fit(line, options.width, indent))
    return unglued("\n".join(fitted) + "\n")


def _needs_attention(gateway: GatewayReport) -> bool:
    """Return True for what ``-q`` keeps: a gateway that failed, errored or warned."""
    if gateway.status not in _QUIET:
        return True
    return any(f.severity is not Severity.INFO for f in gateway.findings)


def _sources(findings: Sequence[Finding], paint: Painter, *, quiet: bool) -> Iterator[Line]:
    if quiet:
        findings = [f for f in findings if f.severity is not Severity.INFO]
    order = list(dict.fromkeys(f.source for f in findings))  # as found, each source once
    for source in order:
        mine = [f for f in findings if f.source == source]
        word, style = _SOURCE_STATUS[max((f.severity for f in mine), key=lambda s: s.rank)]
        name = printable(source) if source is not None else "all sources"
        yield f"{pad(paint(word, style), _STATUS_WIDTH)} {paint(name, 'bold')}", _DETAIL
        yield from _findings(mine, paint)


def _row(gateway: GatewayReport) -> tuple[str, str, str]:
    if gateway.endpoint is not None:
        where = glue(endpoint_text(gateway.endpoint))
    else:
        where = "leasable" if gateway.kind is GatewayKind.LEASABLE else "-"
    return _name(gateway, None), where, printable(gateway.source)


def _column_widths(gateways: Iterable[GatewayReport]) -> tuple[int, int, int]:
    # A cell wider than the cap overflows its own row and sets no width for the others.
    widths = [0, 0, 0]
    for gateway in gateways:
        for i, cell in enumerate(_row(gateway)):
            width = display_width(cell)
            if width <= _MAX_CELL:
                widths[i] = max(widths[i], width)
    return widths[0], widths[1], widths[2]


def _columns(gateways: Sequence[GatewayReport], width: int | None) -> _Columns:
    """Fit the table to ``width``: shorten the names first, give up the padding last."""
    widths = _column_widths(gateways)
    if width is None:
        return _Columns(widths)
    room = width - (_STATUS_WIDTH + 1) - 2 - widths[1] - 2 - widths[2]
    if room >= _MIN_NAME:
        return _Columns((min(widths[0], room), widths[1], widths[2]), room)
    return _Columns((0, 0, 0), max(width - _STATUS_WIDTH - 1, _MIN_NAME))


def _name(gateway: GatewayReport, room: int | None) -> str:
    """Return the gateway's name, its label shortened (never its id) to ``room`` columns."""
    bare = glue(gateway_name(dataclasses.replace(gateway, label=None)))
    if not gateway.label:
        return bare
    label = printable(repr(gateway.label))
    if room is not None and display_width(bare) + 1 + display_width(label) > room:
        label = shorten(label, max(room - display_width(bare) - 1, 2))
    return f"{bare} {label}"


def _gateway(
    gateway: GatewayReport, columns: _Columns, paint: Painter, *, verbose: bool
) -> Iterator[Line]:
    quiet = (
        not verbose
        and gateway.status in _QUIET
        and all(f.severity is Severity.INFO for f in gateway.findings)
    )
    word, style = _STATUS[gateway.status]
    _, where, source = _row(gateway)
    widths = columns.widths
    name = paint(_name(gateway, columns.name_room), "bold")
    head = f"{pad(paint(word, style), _STATUS_WIDTH)} {pad(name, widths[0])}  "
    head += f"{pad(where, widths[1])}  "
    note = _note(gateway, quiet=quiet)
    if note:
        yield f"{head}{pad(paint(source, 'dim'), widths[2])}  {note}", _DETAIL
    else:
        yield head + paint(source, "dim"), _DETAIL
    if quiet:
        return
    if gateway.probe is not None:
        yield from _probe(gateway.probe, paint, verbose=verbose)
    if gateway.delivery is not None:
        yield _tag("delivery", printable(_delivery(gateway.delivery)), paint)
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
                parts.append(glue(f"cert {probe.tls.cert.days_left} days"))
        parts.append(f"{_verdict(gateway)}, {glue(ms_text(probe.ms))}")
    delivery = gateway.delivery
    if delivery is not None and delivery.latency_ms is not None:
        parts.append(glue(f"arrived in {ms_text(delivery.latency_ms)}"))
    if quiet and gateway.findings:
        parts.append("info " + ", ".join(sorted({f.code for f in gateway.findings})))
    return _DOT.join(parts)


def _verdict(gateway: GatewayReport) -> str:
    """Say whether JavaMail gets through, and the worst problem of one that does."""
    if not gateway.works:
        return "does not work"
    problems = [f for f in gateway.findings if f.severity is not Severity.INFO]
    if not problems:
        return "works"
    worst = worst_first(problems)[0]
    return f"works, but {worst.code} {worst.slug}"


def _findings(findings: Iterable[Finding], paint: Painter) -> Iterator[Line]:
    for finding in worst_first(findings):
        severity = pad(paint(finding.severity, _SEVERITY_STYLE[finding.severity]), _TAG_WIDTH)
        code = pad(finding.code, _CODE_WIDTH)
        yield f"{_DETAIL}{severity} {code}  {printable(finding.message)}", _MESSAGE
        if finding.fix:
            yield f"{_MESSAGE}{paint('fix:', 'bold')} {printable(finding.fix)}", _FIX


def _tag(tag: str, text: str, paint: Painter) -> Line:
    return f"{_DETAIL}{pad(paint(tag, 'dim'), _TAG_WIDTH)} {text}", _TEXT


def _probe(probe: ProbeResult, paint: Painter, *, verbose: bool) -> Iterator[Line]:
    stages = []
    for step in probe.steps:
        if step.ok:
            stages.append(f"{step.name} {glue(ms_text(step.ms))}")
            continue
        why = step.detail or (str(step.reply_code) if step.reply_code is not None else "")
        failed = paint(f"{step.name} FAILED", "red") + f" {glue(ms_text(step.ms))}"
        stages.append(f"{failed}: {printable(why)}" if why else failed)
    stages.append(f"total {glue(ms_text(probe.ms))}")
    yield _tag("probe", _DOT.join(stages), paint)
    tls_error = None if probe.failure is None else probe.failure.tls_error
    if tls_error:
        failed = paint("TLS handshake failed", "red")
        yield _tag("tls", f"{failed}: {printable(tls_error)}", paint)
    if probe.tls is not None:
        yield _tag("tls", _tls(probe.tls, paint), paint)
        if probe.tls.cert is not None:
            yield _tag("cert", _cert(probe.tls.cert), paint)
    if probe.auth_mechanisms or probe.auth_mechanisms_before_tls:
        yield _tag("auth", _auth(probe), paint)
    if verbose:
        if probe.extensions:
            yield _tag("ehlo", printable(", ".join(probe.extensions)), paint)
        for line in probe.transcript:
            yield f"{_TEXT}{paint('|', 'dim')} {printable(line)}", _TEXT + "  "


def _delivery(delivery: DeliveryResult) -> str:
    looks = f"{delivery.polls} look" + ("" if delivery.polls == 1 else "s")
    if delivery.latency_ms is None:
        return f"{delivery.outcome} at {delivery.where} ({looks}, {ms_text(delivery.waited_ms)})"
    removed = ", removed" if delivery.removed else ""
    return (
        f"{delivery.outcome} to {delivery.where} as {delivery.found_id}, "
        f"{ms_text(delivery.latency_ms)} after the 250 ({looks}{removed})"
    )


def _tls(tls: TlsInfo, paint: Painter) -> str:
    if tls.verified:
        verdict = "certificate verified"
    else:
        verdict = paint("certificate NOT verified", "red")
        if tls.verify_error:
            verdict += f": {printable(tls.verify_error)}"
    if tls.name_matches is False:
        verdict += _DOT + paint("certificate does not name the host", "red")
    return f"{printable(tls.version)} {printable(tls.cipher)}{_DOT}{verdict}"


def _cert(cert: CertInfo) -> str:
    day = printable(cert.not_after[:10])
    if cert.days_left >= 0:
        expiry = f"expires {day} {glue(f'({cert.days_left} days left)')}"
    else:
        expiry = f"EXPIRED {day} {glue(f'({-cert.days_left} days ago)')}"
    parts = [printable(cert.subject), f"issuer {printable(cert.issuer)}"]
    if cert.san:
        parts.append("SAN " + printable(", ".join(cert.san)))
    return _DOT.join([*parts, expiry])


def _auth(probe: ProbeResult) -> str:
    text = "offered " + (" ".join(probe.auth_mechanisms).upper() or "nothing after TLS")
    if probe.auth_mechanisms_before_tls:
        text += " (before TLS: " + " ".join(probe.auth_mechanisms_before_tls).upper() + ")"
    return printable(text)


def _suggestion(
    suggestion: Suggestion, endpoint: Endpoint | None, paint: Painter
) -> Iterator[Line]:
    tag = pad(paint("suggest", "green"), _TAG_WIDTH)
    yield f"{_DETAIL}{tag} {printable(suggestion.why)}", _TEXT
    diff = _TEXT + "    "  # a long value goes on under itself, after "- key"
    for key, value in suggestion.params.items():
        new = printable(json_text(value))
        if key in suggestion.previous:  # as the config wrote it
            old: str | None = printable(json_text(suggestion.previous[key]))
        else:
            old = _current_value(endpoint, key)
        if old == new:
            yield f"{_TEXT}  {key}: {new}", diff
            continue
        if old is not None:
            yield _TEXT + paint(f"- {key}: {old}", "red"), diff
        yield _TEXT + paint(f"+ {key}: {new}", "green"), diff


def _current_value(endpoint: Endpoint | None, key: str) -> str | None:
    # Without the value as written, the connection as JavaMail derives it stands in: only the
    # params that connection pins down get a "-" line; the others are shown as "+" alone.
    if endpoint is None:
        return None
    known = pinned_params(endpoint)
    return printable(json_text(known[key])) if key in known else None
