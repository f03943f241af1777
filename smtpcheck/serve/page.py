"""The status page of `smtpcheck serve`: one self-contained HTML document rendered from a view.

No scripts, fonts or images, nothing fetched from anywhere: it must work on an isolated network.
Every label, message and server reply is hostile text, shown escaped and on one line.
"""

from __future__ import annotations

import functools
import html
import math
import time
from collections import Counter
from datetime import UTC, datetime

from smtpcheck.defaults import CERT_WARN_DAYS
from smtpcheck.reporters import printable
from smtpcheck.results import Finding, GatewayReport, Status, worst_first
from smtpcheck.serve.view import FleetView, GatewayState

__all__ = ["STATUS_ORDER", "render_page"]

#: The order rows and totals come in: what needs a person first.
STATUS_ORDER = (Status.FAILED, Status.ERROR, Status.WARNING, Status.OK, Status.SKIPPED)
_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}
#: A glyph per status, so a badge reads without colour (and in a monochrome print) too.
_GLYPH = {
    Status.FAILED: "✗",
    Status.ERROR: "?",
    Status.WARNING: "!",
    Status.OK: "✓",
    Status.SKIPPED: "–",
}
_NONE = '<span class="none">—</span>'

_CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--mute:#5b6470;--line:#d8dde3;
--failed:#b3261e;--error:#7b3fa0;--warning:#8a5a00;--ok:#1e7b34;--skipped:#5b6470}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--bg:#16191d;--mute:#9aa4af;
--line:#2e343b;--failed:#ff7b72;--error:#d2a8ff;--warning:#e3b341;--ok:#56d364}}
body{font:14px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:1rem 1.5rem}
h1{font-size:1.3rem;margin:0 0 .4rem}
.totals{display:flex;gap:1rem;list-style:none;padding:0;margin:.3rem 0}
.total .count{font-weight:700;font-size:1.2rem}
.total-failed .count{color:var(--failed)}.total-error .count{color:var(--error)}
.total-warning .count{color:var(--warning)}.total-ok .count{color:var(--ok)}
.cycle,.footer,.none,.fix,.more,.mode,.ago{color:var(--mute)}
.banner{border:2px solid var(--failed);padding:.5rem .8rem;margin:.6rem 0;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:.6rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}
.badge{display:inline-block;min-width:5.5em;padding:0 .4em;border:1px solid;border-radius:3px;
font-weight:700}
.badge-failed{color:var(--failed)}.badge-error{color:var(--error)}
.badge-warning{color:var(--warning)}.badge-ok{color:var(--ok)}.badge-skipped{color:var(--skipped)}
.code{font-family:ui-monospace,monospace;font-weight:700}
.col-endpoint,.col-id{font-family:ui-monospace,monospace;white-space:nowrap}
.col-cert,.col-checked,.col-failing,.col-label{white-space:nowrap}
.cert-soon{color:var(--warning);font-weight:700}.cert-expired{color:var(--failed);font-weight:700}
.fix{font-size:.9em}
"""


def render_page(view: FleetView, *, now: float, refresh_s: int, title: str = "smtpcheck") -> str:
    """Return the status page of the view as one HTML5 document, as it stands at ``now``."""
    counts = Counter(state.report.status for state in view.gateways)
    states = sorted(view.gateways, key=_row_order)
    rows = "".join(_row(state, now) for state in states) or (
        '<tr class="empty"><td colspan="8">No gateways in the list.</td></tr>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{max(1, int(refresh_s))}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_text(title)}{_title_counts(counts)}</title><style>{_CSS}</style></head>\n"
        f"<body><header><h1>{_text(title)}</h1>{_totals(counts)}{_cycle(view, now)}"
        f"{_banner(view, now)}</header>\n{_sources(view.findings)}"
        '<table class="gateways"><thead><tr><th>Verdict</th><th>ID</th><th>Label</th>'
        "<th>Endpoint</th><th>Worst finding</th><th>Certificate</th><th>Last checked</th>"
        f"<th>Failing since</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n"
        f'<p class="footer">Rendered {_utc(now)}; this page reloads itself every '
        f"{max(1, int(refresh_s))} s.</p></body></html>\n"
    )


def _row_order(state: GatewayState) -> tuple[int, bool, int, str]:
    gw_id = state.report.id
    return (_RANK.get(state.report.status, len(_RANK)), gw_id is None, gw_id or 0, state.key)


def _title_counts(counts: Counter[Status]) -> str:
    bad = [f"{counts[s]} {s.value}" for s in STATUS_ORDER[:3] if counts[s]]
    return f" — {', '.join(bad)}" if bad else ""


def _totals(counts: Counter[Status]) -> str:
    items = "".join(
        f'<li class="total total-{s.value}" data-status="{s.value}">'
        f'<span class="count">{counts[s]}</span> {s.value}</li>'
        for s in STATUS_ORDER
    )
    return f'<ul class="totals">{items}</ul>'


def _cycle(view: FleetView, now: float) -> str:
    every = f"every {_duration(view.interval_s)}"
    if view.cycle is None:
        since = _time(view.started_at, now) if view.started_at else "just now"
        return (
            f'<p class="cycle not-ready" data-ready="false">Not ready: first cycle running '
            f"(serve started {since}); checks run {every}.</p>"
        )
    cycle = view.cycle
    late = f", {_duration(cycle.lag_s)} late" if cycle.lag_s >= 1 else ""
    return (
        f'<p class="cycle ready" data-ready="true">Ready. Last cycle (#{cycle.number}) finished '
        f"{_time(cycle.finished, now)}, took {_duration(cycle.duration_s)}{late}; "
        f"checks run {every}.</p>"
    )


def _banner(view: FleetView, now: float) -> str:
    if view.list_error is None:
        return ""
    loaded = (
        f"the list in use was loaded {_time(view.list_loaded_at, now)}"
        if view.list_loaded_at is not None
        else "no list has loaded yet"
    )
    return (
        '<div class="banner list-error" role="alert">The gateway list could not be reloaded: '
        f"{_text(view.list_error)} — {loaded}.</div>"
    )


def _sources(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return ""
    items = "".join(_source_finding(f) for f in worst_first(findings))
    return f'<section class="sources"><h2>The gateway list</h2><ul>{items}</ul></section>\n'


def _source_finding(finding: Finding) -> str:
    source = f'<span class="source">{_text(finding.source)}</span> ' if finding.source else ""
    return (
        f'<li class="source-finding severity-{finding.severity.value}">{source}'
        f'<span class="code">{_text(finding.code)}</span> {_text(finding.message)}'
        f"{_fix(finding)}</li>"
    )


def _row(state: GatewayState, now: float) -> str:
    report = state.report
    status = report.status.value
    return (
        f'<tr class="gateway status-{status}" data-gateway="{_text(state.key)}" '
        f'data-status="{status}">'
        f'<td class="col-verdict"><span class="badge badge-{status}">'
        f'<span class="glyph" aria-hidden="true">{_GLYPH.get(report.status, "")}</span> '
        f"{status}</span></td>"
        f'<td class="col-id">{_NONE if report.id is None else report.id}</td>'
        f'<td class="col-label">{_NONE if not report.label else _text(report.label)}</td>'
        f'<td class="col-endpoint">{_endpoint(report)}</td>'
        f'<td class="col-finding">{_finding(report.findings)}</td>'
        f'<td class="col-cert">{_cert(report, now)}</td>'
        f'<td class="col-checked">{_time(state.checked_at, now)}</td>'
        f'<td class="col-failing">{_failing(state, now)}</td></tr>\n'
    )


def _endpoint(report: GatewayReport) -> str:
    endpoint = report.endpoint
    if endpoint is None:
        return _NONE
    host = endpoint.host or "?"
    if ":" in host and not host.startswith("["):  # an IPv6 address, bracketed as in a URL
        host = f"[{host}]"
    return f'{_text(host)}:{endpoint.port} <span class="mode">{endpoint.mode.short}</span>'


def _finding(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return ""
    worst, *rest = worst_first(findings)
    more = f' <span class="more">+{len(rest)} more</span>' if rest else ""
    return (
        f'<span class="code" title="{_text(worst.slug)}">{_text(worst.code)}</span> '
        f'<span class="message">{_text(worst.message)}</span>{more}{_fix(worst)}'
    )


def _fix(finding: Finding) -> str:
    return f'<div class="fix">fix: {_text(finding.fix)}</div>' if finding.fix else ""


def _cert(report: GatewayReport, now: float) -> str:
    tls = report.probe.tls if report.probe is not None else None
    if tls is None or tls.cert is None:
        return _NONE
    expires = _timestamp(tls.cert.not_after)
    # Counted against ``now``, not the probe's count, which is one check old; that count
    # serves only for a date that is not ISO 8601.
    days = tls.cert.days_left if expires is None else math.floor((expires - now) / 86400)
    kind = "expired" if days < 0 else "soon" if days < CERT_WARN_DAYS else "ok"
    shown = "expired" if days < 0 else f"{days} day{'' if days == 1 else 's'}"
    return (
        f'<span class="cert cert-{kind}" data-days="{days}" '
        f'title="not after {_text(tls.cert.not_after)}">{shown}</span>'
    )


@functools.lru_cache(maxsize=4096)  # a fleet shares a few certificates; parse each once
def _timestamp(iso: str) -> float | None:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:  # the probe writes UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _failing(state: GatewayState, now: float) -> str:
    if state.failing_since is None:
        return ""
    checks = state.consecutive_failures
    count = f'<div class="more">{checks} check{"" if checks == 1 else "s"} in a row</div>'
    return _time(state.failing_since, now) + (count if checks else "")


def _time(moment: float, now: float) -> str:
    """Return a moment as people read it ("2 min ago"), with the exact UTC time on hover."""
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
    return f'<time class="ago" datetime="{iso}" title="{_utc(moment)}">{_ago(now - moment)}</time>'


def _ago(seconds: float) -> str:
    if -1 < seconds < 1:
        return "just now"
    words = _duration(math.floor(abs(seconds)))  # whole seconds: "2.5 s ago" is noise
    return f"{words} ago" if seconds > 0 else f"in {words}"


def _duration(seconds: float) -> str:
    """Return ``42 s``, ``5 min``, ``1 h 5 min``, ``3 d 4 h``: two units at most."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if 0 < seconds < 10 and seconds != whole else f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(whole // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))


# Findings repeat across a fleet (one message per code and host): escape each text once.
@functools.lru_cache(maxsize=16384)
def _text(text: str) -> str:
    """Return hostile text for an element or a quoted attribute: controls shown, markup escaped."""
    return html.escape(printable(text), quote=True)
