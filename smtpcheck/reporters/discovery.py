"""What `smtpcheck discover` prints: a table of the combinations tried, or the same as JSON.

The text names the best working combination and the params that select it; the JSON carries
every probe in the report's own shapes (see `json_`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from smtpcheck._version import __version__
from smtpcheck.config.javamail import connection_params
from smtpcheck.reporters._common import display_width, json_text, printable
from smtpcheck.reporters.json_ import SCHEMA_VERSION, probe_to_dict
from smtpcheck.results import Attempt, Discovery

__all__ = ["discovery_to_dict", "render_discovery"]

_GREEN, _RED, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[0m"
_MAX_CELL = 40  # a long greeting must not push the other columns off the screen
_HEADINGS = ("", "port", "mode", "result", "greeting", "TLS", "AUTH offered", "login")


def render_discovery(discovery: Discovery, fmt: str, *, color: bool = False) -> str:
    """Render a discovery as ``text`` (colour only when asked) or ``json``."""
    if fmt == "json":
        return json.dumps(discovery_to_dict(discovery), indent=2, ensure_ascii=False) + "\n"
    return "\n".join(_text(discovery, color)) + "\n"


def discovery_to_dict(discovery: Discovery) -> dict[str, Any]:
    """Return the discovery as JSON-ready data."""
    best = discovery.best
    return {
        "schema": SCHEMA_VERSION,
        "tool": "smtpcheck",
        "version": __version__,
        "host": discovery.host,
        "credentials": discovery.credentials,
        "verdict": discovery.verdict(),
        "best": None
        if best is None
        else {
            "port": best.candidate.port,
            "mode": str(best.candidate.mode),
            "params": connection_params(best.candidate),
        },
        "combinations": [_attempt(a) for a in discovery.attempts],
    }


def _attempt(attempt: Attempt) -> dict[str, Any]:
    candidate, tls = attempt.candidate, attempt.tls
    return {
        "port": candidate.port,
        "mode": str(candidate.mode),
        "works": attempt.works,
        "problem": attempt.problem or None,
        "reachable": attempt.reachable,
        "greeting": attempt.greeting,
        "tls_version": None if tls is None else tls.version,
        "certificate_verified": None if tls is None else tls.verified,
        "auth_mechanisms": list(attempt.probe.auth_mechanisms),
        "login": {"accepted": attempt.logged_in, "detail": attempt.login_detail or None},
        "probe": probe_to_dict(attempt.probe),
        "login_probe": None if attempt.login is None else probe_to_dict(attempt.login),
    }


def _text(discovery: Discovery, color: bool) -> Iterator[str]:
    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if color and text else text

    host = printable(discovery.host)
    yield f"{paint(host, _BOLD)}: {printable(discovery.verdict())}"
    yield ""
    # Without credentials there is no login to report.
    columns = len(_HEADINGS) if discovery.credentials else len(_HEADINGS) - 1
    headings = _HEADINGS[:columns]
    rows = [_row(number, attempt)[:columns] for number, attempt in enumerate(discovery.attempts, 1)]
    widths = [max(display_width(r[i]) for r in [headings, *rows]) for i in range(columns)]
    yield _line(headings, widths).rstrip()
    for attempt, row in zip(discovery.attempts, rows, strict=True):
        cells = list(row)
        cells[3] = paint(_pad(row[3], widths[3]), _GREEN if attempt.works else _RED)
        yield _line(cells, [*widths[:3], 0, *widths[4:]]).rstrip()
        if not attempt.works:
            yield " " * (widths[0] + 2) + printable(attempt.problem)
    best = discovery.best
    if best is None:
        return
    yield ""
    yield f"best: {best.candidate.describe()}; set these params:"
    for key, value in connection_params(best.candidate).items():
        yield f"  {key}: {json_text(value)}"


def _row(number: int, attempt: Attempt) -> tuple[str, ...]:
    tls = attempt.tls
    if tls is None:
        tls_text = "-"
    else:
        tls_text = f"{tls.version} " + ("verified" if tls.verified else "NOT verified")
    mechanisms = " ".join(attempt.probe.auth_mechanisms).upper() or "-"
    return (
        str(number) if attempt.works else "-",
        str(attempt.candidate.port),
        attempt.candidate.mode.short,
        "works" if attempt.works else "fails",
        _clip(attempt.greeting or "-"),
        printable(tls_text),
        printable(mechanisms),
        _clip(_login(attempt)),
    )


def _login(attempt: Attempt) -> str:
    if not attempt.probe.ok:
        return "-"
    if attempt.logged_in is None:
        return "not tried"  # why is the row's problem line
    return attempt.login_detail if attempt.logged_in else "failed"


def _clip(text: str) -> str:
    text = printable(text)
    return text if display_width(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(_pad(cell, width) for cell, width in zip(cells, widths, strict=True))


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))
