"""The human report: one block per gateway, one line per finding with its fix, a summary last."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import Finding, GatewayReport, ProbeResult, Report, Severity, Status

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
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_INDENT = " " * 2
_MESSAGE_COLUMN = " " * 17  # where a finding's message starts: indent + severity + code


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.enabled else text


def render_text(report: Report, options: RenderOptions) -> str:
    """Render the report for a person at a terminal (colour only when asked)."""
    paint = _Painter(options.color)
    lines: list[str] = []
    sources = sorted({f.source or "" for f in report.findings})
    for source in sources:
        lines.append(paint(source or "all sources", "bold"))
        lines.extend(_findings([f for f in report.findings if (f.source or "") == source], paint))
    for gateway in report.gateways:
        lines.extend(_gateway(gateway, paint, verbose=options.verbose))
    if lines:
        lines.append("")
    lines.append(_summary(report, paint))
    return "\n".join(lines) + "\n"


def _gateway(gateway: GatewayReport, paint: _Painter, *, verbose: bool) -> Iterator[str]:
    word, style = _STATUS[gateway.status]
    name = f"gateway {gateway.id}" if gateway.id is not None else "gateway (no id)"
    if gateway.label:
        name += f" {gateway.label!r}"
    where = ""
    if gateway.endpoint is not None:
        endpoint = gateway.endpoint
        where = f"  {endpoint.host or '?'}:{endpoint.port} ({endpoint.mode})"
    elif gateway.kind == "leasable":
        where = "  leasable"
    source = paint(gateway.source, "dim")
    yield f"{paint(f'{word:<5}', style)} {paint(name, 'bold')}{where}  {source}"
    if gateway.probe is not None:
        yield from _probe(gateway.probe, paint, verbose=verbose)
    yield from _findings(gateway.findings, paint)
    if gateway.suggestion is not None:
        yield f"{_INDENT}{paint('suggested', 'green')}  {gateway.suggestion.why}"
        for key, value in gateway.suggestion.params.items():
            yield f"{_MESSAGE_COLUMN}{paint(f'+ {key}: {_json_value(value)}', 'green')}"


def _findings(findings: tuple[Finding, ...] | list[Finding], paint: _Painter) -> Iterator[str]:
    for finding in sorted(findings, key=lambda f: (-f.severity.rank, f.code)):
        severity = paint(f"{finding.severity:<8}", _SEVERITY_STYLE[finding.severity])
        yield f"{_INDENT}{severity} {finding.code}  {finding.message}"
        if finding.fix:
            yield f"{_MESSAGE_COLUMN}{paint('fix:', 'bold')} {finding.fix}"


def _probe(probe: ProbeResult, paint: _Painter, *, verbose: bool) -> Iterator[str]:
    steps = " · ".join(
        f"{s.name} {s.ms:.1f}" if s.ok else paint(f"{s.name} failed", "red") for s in probe.steps
    )
    yield f"{_INDENT}{paint('probe', 'dim')}     {steps}  ({probe.ms:.1f} ms)"
    if probe.tls is not None:
        tls = probe.tls
        cert = tls.cert
        verified = "verified" if tls.verified else f"NOT verified: {tls.verify_error or 'unknown'}"
        line = f"{tls.version} {tls.cipher}, certificate {verified}"
        if cert is not None:
            line += f"; {cert.subject}, expires {cert.not_after[:10]} ({cert.days_left} days)"
        yield f"{_INDENT}{paint('tls', 'dim')}       {line}"
    if probe.auth_mechanisms:
        yield f"{_INDENT}{paint('auth', 'dim')}      offered: {' '.join(probe.auth_mechanisms)}"
    if verbose:
        for line in probe.transcript:
            yield f"{_INDENT}{paint('|', 'dim')} {line}"


def _json_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
