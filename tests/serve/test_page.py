"""The status page as written: order, escaping of hostile text, times, and the fleet's state."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from smtpcheck.reporters import printable
from smtpcheck.results import (
    CertInfo,
    Endpoint,
    Finding,
    ProbeResult,
    ProbeStep,
    Severity,
    Status,
    TlsInfo,
    TlsMode,
)
from smtpcheck.serve.page import STATUS_ORDER, render_page
from smtpcheck.serve.view import CycleStats, FleetView, GatewayState
from tests.reporters.sample import gateway
from tests.support.chromium import Node, parse_html

NOW = 1_772_444_460.0  # 2026-03-02 09:41:00 UTC
_ENDPOINT = Endpoint("smtp.example.com", 587, TlsMode.STARTTLS)
HOSTILE = '</td><script>alert("x")</script>\'&amp; \x00nul \u202eevil\u202c \x1b[31m'


def state(
    gw_id: int | None,
    status: Status = Status.OK,
    *,
    key: str | None = None,
    label: str | None = "gw",
    findings: tuple[Finding, ...] = (),
    endpoint: Endpoint | None = _ENDPOINT,
    probe: ProbeResult | None = None,
    checked_ago: float = 60.0,
    failing_for: float | None = None,
    failures: int = 0,
) -> GatewayState:
    report = gateway(gw_id, label, status, findings=findings, endpoint=endpoint, probe=probe)
    return GatewayState(
        key=key if key is not None else str(gw_id) if gw_id is not None else "none",
        report=report,
        checked_at=NOW - checked_ago,
        duration_s=1.5,
        consecutive_failures=failures,
        failing_since=None if failing_for is None else NOW - failing_for,
        last_change=None,
    )


def ready_view(*states: GatewayState, **fields: Any) -> FleetView:
    cycle = CycleStats(number=3, started=NOW - 100, finished=NOW - 40, lag_s=0.0)
    return replace(FleetView(gateways=states, cycle=cycle, started_at=NOW - 1000), **fields)


def page(view: FleetView, **options: object) -> Node:
    return parse_html(render_page(view, now=NOW, refresh_s=30, **options))  # type: ignore[arg-type]


def rows(doc: Node) -> list[Node]:
    return list(doc.iter("tr", "gateway"))


def cell(row: Node, column: str) -> Node:
    return row.find("td", f"col-{column}")


def finding(code: str, severity: Severity, message: str = "m", fix: str | None = None) -> Finding:
    return Finding(code, code.lower(), severity, message, fix=fix)


def tls_probe(not_after: str, days_left: int = 99) -> ProbeResult:
    cert = CertInfo("CN=smtp.example.com", "CN=CA", ("smtp.example.com",), not_after, days_left)
    tls = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", verified=True, cert=cert)
    return ProbeResult(steps=(ProbeStep("connect", True, 1.0),), ms=1.0, tls=tls)


def test_page_orders_failures_first_then_by_id() -> None:
    view = ready_view(
        state(5, Status.OK),
        state(3, Status.SKIPPED, endpoint=None),
        state(9, Status.FAILED),
        state(None, Status.FAILED, key="none"),
        state(2, Status.WARNING),
        state(1, Status.OK),
        state(4, Status.ERROR),
        state(7, Status.FAILED),
        state(7, Status.FAILED, key="7#2"),
    )
    got = [(r.attrs["data-status"], r.attrs["data-gateway"]) for r in rows(page(view))]
    assert got == [
        ("failed", "7"),
        ("failed", "7#2"),
        ("failed", "9"),
        ("failed", "none"),
        ("error", "4"),
        ("warning", "2"),
        ("ok", "1"),
        ("ok", "5"),
        ("skipped", "3"),
    ]
    assert [s.value for s in STATUS_ORDER] == ["failed", "error", "warning", "ok", "skipped"]


@pytest.mark.parametrize("status", list(Status))
def test_page_badge_reads_without_colour(status: Status) -> None:
    (row,) = rows(page(ready_view(state(1, status))))
    badge = cell(row, "verdict").find("span", "badge")
    assert f"badge-{status.value}" in badge.classes
    assert badge.text().endswith(status.value), badge.text()
    assert badge.find("span", "glyph").text()  # a shape as well as a colour
    assert row.classes == ["gateway", f"status-{status.value}"]


def test_page_shows_hostile_label_and_messages_as_text() -> None:
    hostile = finding("SC504", Severity.ERROR, message=f"server said {HOSTILE}", fix=HOSTILE)
    view = ready_view(
        state(1, Status.FAILED, key=f'1"><b>{HOSTILE}', label=HOSTILE, findings=(hostile,)),
        list_error=HOSTILE,
        findings=(replace(hostile, source=HOSTILE),),
    )
    text = render_page(view, now=NOW, refresh_s=30, title=HOSTILE)
    assert "<script" not in text.lower()
    assert "\x00" not in text and "\u202e" not in text and "\x1b" not in text
    doc = parse_html(text)
    assert not list(doc.iter("script")) and not list(doc.iter("b"))
    (row,) = rows(doc)
    shown = printable(HOSTILE)  # controls escaped as \x00, \u202e: visible, and inert
    assert "\\x00nul" in shown and "\\u202eevil" in shown
    assert cell(row, "label").text() == " ".join(shown.split())
    assert row.attrs["data-gateway"] == printable(f'1"><b>{HOSTILE}')
    assert cell(row, "finding").find(cls="message").text() == " ".join(
        f"server said {shown}".split()
    )
    assert cell(row, "finding").find("div", "fix").text() == " ".join(f"fix: {shown}".split())
    assert " ".join(shown.split()) in doc.find(cls="list-error").text()
    assert " ".join(shown.split()) in doc.find("h1").text()
    assert doc.find("title").text().startswith(" ".join(shown.split()))
    assert len(list(doc.iter("td"))) == 8  # the label closed no cell early


def test_page_worst_finding_first_with_fix_and_count() -> None:
    findings = (
        finding("SC107", Severity.INFO, "nonstandard port"),
        finding("SC604", Severity.WARNING, "untrusted certificate"),
        finding("SC603", Severity.ERROR, "TLS handshake failed", fix="use STARTTLS"),
    )
    (row,) = rows(page(ready_view(state(1, Status.FAILED, findings=findings))))
    column = cell(row, "finding")
    assert column.find(cls="code").text() == "SC603"
    assert column.find(cls="code").attrs["title"] == "sc603"
    assert column.find(cls="message").text() == "TLS handshake failed"
    assert column.find(cls="fix").text() == "fix: use STARTTLS"
    assert column.find(cls="more").text() == "+2 more"
    (quiet,) = rows(page(ready_view(state(2, Status.OK))))
    assert cell(quiet, "finding").text() == ""


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (0.4, "just now"),
        (5, "5 s ago"),
        (59.9, "59 s ago"),
        (120, "2 min ago"),
        (3599, "59 min ago"),
        (3600, "1 h ago"),
        (3900, "1 h 5 min ago"),
        (90_000, "1 d 1 h ago"),
        (2 * 86400, "2 d ago"),
        (-30, "in 30 s"),  # the clock went back: say so rather than pretend
    ],
)
def test_page_relative_times(ago: float, shown: str) -> None:
    (row,) = rows(page(ready_view(state(1, checked_ago=ago))))
    moment = cell(row, "checked").find("time")
    assert moment.text() == shown
    exact = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(NOW - ago))
    assert moment.attrs["title"] == exact
    assert moment.attrs["datetime"] == exact.replace(" UTC", "Z").replace(" ", "T")


def test_page_failing_since_is_relative_with_the_count() -> None:
    view = ready_view(
        state(1, Status.FAILED, failing_for=3600, failures=12),
        state(2, Status.OK),
    )
    failing, fine = rows(page(view))
    assert cell(failing, "failing").find("time").text() == "1 h ago"
    assert cell(failing, "failing").text() == "1 h ago 12 checks in a row"
    assert cell(fine, "failing").text() == ""


def test_page_totals_count_every_status() -> None:
    view = ready_view(
        state(1, Status.FAILED),
        state(2, Status.FAILED),
        state(3, Status.OK),
        state(4, Status.ERROR),
    )
    doc = page(view)
    totals = {
        li.attrs["data-status"]: li.find(cls="count").text() for li in doc.iter("li", "total")
    }
    assert totals == {"failed": "2", "error": "1", "warning": "0", "ok": "1", "skipped": "0"}
    assert doc.find("title").text() == "smtpcheck — 2 failed, 1 error"


def test_page_empty_fleet() -> None:
    doc = page(ready_view())
    assert rows(doc) == []
    assert doc.find("tr", "empty").text() == "No gateways in the list."
    assert {li.find(cls="count").text() for li in doc.iter("li", "total")} == {"0"}
    assert doc.find("title").text() == "smtpcheck"


def test_page_not_ready_says_first_cycle_running() -> None:
    doc = page(FleetView(gateways=(state(1),), started_at=NOW - 42, interval_s=300))
    line = doc.find("p", "cycle")
    assert line.attrs["data-ready"] == "false"
    assert "first cycle running" in line.text()
    assert "42 s ago" in line.text() and "every 5 min" in line.text()


def test_page_ready_says_when_the_last_cycle_finished() -> None:
    cycle = CycleStats(number=7, started=NOW - 130, finished=NOW - 120, lag_s=12.0)
    line = page(ready_view(cycle=cycle)).find("p", "cycle")
    assert line.attrs["data-ready"] == "true"
    assert line.text() == (
        "Ready. Last cycle (#7) finished 2 min ago, took 10 s, 12 s late; checks run every 5 min."
    )


def test_page_banner_when_the_list_could_not_be_reloaded() -> None:
    assert not list(page(ready_view(state(1))).iter(cls="banner"))
    doc = page(ready_view(state(1), list_error="HTTP 502 from the panel", list_loaded_at=NOW - 900))
    banner = doc.find("div", "list-error")
    assert banner.attrs["role"] == "alert"
    assert banner.text() == (
        "The gateway list could not be reloaded: HTTP 502 from the panel — "
        "the list in use was loaded 15 min ago."
    )
    never = page(ready_view(list_error="refused")).find("div", "list-error")
    assert never.text().endswith("no list has loaded yet.")


def test_page_certificate_days_counted_from_now() -> None:
    day = 86400

    def iso(seconds: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + seconds))

    view = ready_view(
        state(1, probe=tls_probe(iso(83 * day + 60))),
        state(2, probe=tls_probe(iso(5 * day + 60))),
        state(3, probe=tls_probe(iso(-day))),
        state(4, probe=tls_probe("not a date", days_left=40)),
        state(5, probe=tls_probe(iso(day + 60))),
    )
    got = [
        (cell(r, "cert").text(), cell(r, "cert").find(cls="cert").classes[1])
        for r in rows(page(view))
    ]
    assert got == [
        ("83 days", "cert-ok"),
        ("5 days", "cert-soon"),
        ("expired", "cert-expired"),
        ("40 days", "cert-ok"),  # the probe's own count, for a date it could not read
        ("1 day", "cert-soon"),
    ]


def test_page_certificate_absent_without_tls() -> None:
    plain = ProbeResult(steps=(ProbeStep("connect", True, 1.0),), ms=1.0)
    view = ready_view(state(1), state(2, probe=plain), state(3, Status.SKIPPED, endpoint=None))
    for row in rows(page(view)):
        assert cell(row, "cert").text() == "—", row.attrs["data-gateway"]
        assert not list(cell(row, "cert").iter(cls="cert"))


def test_page_endpoint_host_port_and_mode() -> None:
    view = ready_view(
        state(1, endpoint=Endpoint("2001:db8::25", 25, TlsMode.NONE)),
        state(2, endpoint=Endpoint("mx.example.org", 465, TlsMode.IMPLICIT)),
        state(3, endpoint=None),
    )
    assert [cell(r, "endpoint").text() for r in rows(page(view))] == [
        "[2001:db8::25]:25 plain",
        "mx.example.org:465 TLS",
        "—",
    ]


def test_page_refreshes_itself_and_fetches_nothing() -> None:
    doc = page(ready_view(state(1, Status.FAILED), state(2)))
    (meta,) = [m for m in doc.iter("meta") if m.attrs.get("http-equiv") == "refresh"]
    assert meta.attrs["content"] == "30"
    assert doc.find("meta").attrs == {"charset": "utf-8"}
    linked = [n.tag for n in doc.iter() if {"src", "href", "srcset", "action"} & n.attrs.keys()]
    assert linked == []
    assert not list(doc.iter("script")) and not list(doc.iter("link"))
    assert "url(" not in doc.find("style").text() and "@import" not in doc.find("style").text()
    zero = parse_html(render_page(ready_view(), now=NOW, refresh_s=0))
    assert [m.attrs["content"] for m in zero.iter("meta") if "http-equiv" in m.attrs] == ["1"]


def test_page_source_findings_listed_worst_first() -> None:
    view = ready_view(
        findings=(
            replace(finding("SC007", Severity.WARNING, "bound_gateway unknown"), source="a.json"),
            replace(finding("SC001", Severity.ERROR, "not JSON", fix="fix it"), source="b.json"),
        )
    )
    items = list(page(view).find("section", "sources").iter("li"))
    assert [i.find(cls="code").text() for i in items] == ["SC001", "SC007"]
    assert items[0].text() == "b.json SC001 not JSON fix: fix it"
    assert items[0].find(cls="source").text() == "b.json"
    assert "sources" not in render_page(ready_view(), now=NOW, refresh_s=30)


def test_page_renders_10000_gateways(capsys: pytest.CaptureFixture[str]) -> None:
    findings = (finding("SC504", Severity.ERROR, "no greeting", fix="set use_ssl"),)
    states = tuple(
        state(
            i,
            (Status.OK, Status.FAILED, Status.WARNING)[i % 3],
            label=f"dealer {i} <north>",
            findings=findings if i % 3 else (),
            probe=tls_probe("2026-05-01T00:00:00Z"),
            checked_ago=i % 300,
            failing_for=3600 if i % 3 == 1 else None,
        )
        for i in range(10_000)
    )
    view = ready_view(*states)
    started = time.perf_counter()
    text = render_page(view, now=NOW, refresh_s=30)
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nrender_page: 10 000 gateways in {took * 1000:.0f} ms, {len(text) / 1e6:.1f} MB")
    assert text.count('<tr class="gateway ') == 10_000
