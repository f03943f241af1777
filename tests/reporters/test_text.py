from __future__ import annotations

import dataclasses
import re

import pytest

from smtpcheck.reporters import RenderOptions, render
from smtpcheck.reporters._common import display_width, ms_text, printable
from smtpcheck.results import (
    CertInfo,
    Endpoint,
    FailureKind,
    Finding,
    GatewayKind,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Report,
    Severity,
    Status,
    Suggestion,
    TlsInfo,
    TlsMode,
)
from tests.reporters.sample import STARTTLS_PROBE, fleet_report, full_report, gateway

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _text(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    return render(report, "text", RenderOptions(color=color, verbose=verbose))


def _rows(text: str) -> list[str]:
    """The gateway and source rows: the lines that start at the left margin."""
    return [line for line in text.splitlines() if line and not line.startswith(" ")]


def test_text_fleet_keeps_each_healthy_gateway_on_one_line():
    text = _text(fleet_report())
    lines = text.splitlines()
    assert lines[-2] == ""
    assert lines[-1].startswith("5 gateways: 4 ok")
    assert lines[:-2] == _rows(text)[:-1], "an OK or skipped gateway got detail lines"
    assert len(lines[:-2]) == 5


def test_text_verbose_expands_healthy_gateways():
    text = _text(fleet_report(), verbose=True)
    assert "      probe    connect 0.42 ms" in text
    assert "| C: AUTH PLAIN ********" in text


def test_text_columns_line_up_across_rows():
    rows = _rows(_text(fleet_report()))[:-1]
    # Every row but the one whose label is longer than the column cap starts its endpoint at
    # the same screen column, wide characters included.
    starts = set()
    for row in rows:
        if "much longer label" in row:
            continue
        endpoint = re.search(r"\S+:\d+ (STARTTLS|TLS|plain)|leasable", row)
        assert endpoint is not None, row
        starts.add(display_width(row[: endpoint.start()]))
    assert len(starts) == 1, rows


def test_text_fix_starts_under_the_message():
    lines = _text(full_report()).splitlines()
    pairs = [
        (lines[i - 1], line) for i, line in enumerate(lines) if line.lstrip().startswith("fix:")
    ]
    assert pairs
    for finding, fix in pairs:
        message_column = re.match(r"\s+\w+\s+SC\d{3}\s+", finding)
        assert message_column is not None, finding
        assert fix.index("fix:") == message_column.end(), (finding, fix)


def test_text_colour_only_when_asked_and_changes_nothing_else():
    plain = _text(full_report())
    coloured = _text(full_report(), color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m" in coloured
    assert _ANSI.sub("", coloured) == plain


def test_text_escapes_control_characters_from_labels_and_servers():
    bad = gateway(
        9,
        "evil\x1b]0;title\x07",
        Status.FAILED,
        endpoint=Endpoint("mx.example.com", 25, TlsMode.NONE),
        findings=(Finding("SC506", "protocol-error", Severity.ERROR, "reply: 5\x1b[2J\u202e"),),
        probe=ProbeResult(
            (ProbeStep("greeting", False, 1.0, "junk\r\nmore"),),
            1.0,
            failure=ProbeFailure(FailureKind.PROTOCOL, "junk"),
        ),
    )
    text = _text(Report(gateways=(bad,)))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\u202e" not in text
    assert "junk\\r\\nmore" in text


def test_text_suggestion_is_a_diff_with_old_values_where_known():
    text = _text(full_report())
    block = text[text.index("suggest") :].splitlines()[:4]
    assert block[1:] == [
        " " * 15 + "- mail.smtp.use_ssl: false",
        " " * 15 + "+ mail.smtp.use_ssl: true",
        " " * 15 + "+ mail.smtp.ssl.port: 465",  # ssl.port is not used without use_ssl: unknown
    ]


@pytest.mark.parametrize(
    ("mode", "params", "expected"),
    [
        (
            TlsMode.IMPLICIT,
            {"mail.smtp.ssl.port": 587, "mail.smtp.port": 587, "mail.smtp.use_ssl": False},
            [
                "- mail.smtp.ssl.port: 465",
                "+ mail.smtp.ssl.port: 587",
                "+ mail.smtp.port: 587",  # not used under use_ssl: its value is unknown
                "- mail.smtp.use_ssl: true",
                "+ mail.smtp.use_ssl: false",
            ],
        ),
        (
            TlsMode.NONE,
            {"mail.smtp.starttls.enable": True, "mail.smtp.port": 465},
            [
                "- mail.smtp.starttls.enable: false",
                "+ mail.smtp.starttls.enable: true",
                "  mail.smtp.port: 465",  # unchanged: a context line, not "-" and "+"
            ],
        ),
        (
            TlsMode.STARTTLS,
            {"mail.smtp.starttls.required": True, "mail.smtp.host": "relay.example.com"},
            [
                "+ mail.smtp.starttls.required: true",  # enable or required? unknown
                '- mail.smtp.host: "smtp.example.com"',
                '+ mail.smtp.host: "relay.example.com"',
            ],
        ),
    ],
    ids=["implicit", "none", "starttls"],
)
def test_text_suggestion_old_values_follow_the_connection_mode(mode, params, expected):
    suggestion = Suggestion(params=params, why="it works")
    endpoint = Endpoint("smtp.example.com", 465, mode)
    report = Report(
        gateways=(gateway(5, None, Status.FAILED, endpoint=endpoint, suggestion=suggestion),)
    )
    lines = _text(report).splitlines()
    start = next(i for i, line in enumerate(lines) if "suggest  it works" in line)
    assert [line[15:] for line in lines[start + 1 : -2]] == expected


def test_text_suggestion_shows_previous_values_as_written():
    suggestion = Suggestion(
        params={"mail.smtp.use_ssl": True, "mail.smtp.port": 465},
        why="it works",
        previous={"mail.smtp.use_ssl": "false"},  # a string: shown as the config wrote it
    )
    endpoint = Endpoint("smtp.example.com", 587, TlsMode.STARTTLS)
    report = Report(
        gateways=(gateway(5, None, Status.FAILED, endpoint=endpoint, suggestion=suggestion),)
    )
    lines = _text(report).splitlines()
    start = next(i for i, line in enumerate(lines) if "suggest  it works" in line)
    assert [line[15:] for line in lines[start + 1 : -2]] == [
        '- mail.smtp.use_ssl: "false"',
        "+ mail.smtp.use_ssl: true",
        "- mail.smtp.port: 587",  # not written down: the connection's port stands in
        "+ mail.smtp.port: 465",
    ]


def test_text_failed_probe_names_the_stage_and_why():
    text = _text(full_report())
    assert "greeting FAILED 10.00 s: no reply in 10.0 s" in text
    assert "does not work, 10.00 s" in text


def test_text_tls_and_certificate_summary():
    text = _text(full_report())
    assert (
        "tls      TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 · certificate NOT verified: self-signed"
        in text
    )
    assert "expires 2030-01-12 (12 days left)" in text


def test_text_expired_certificate_says_so():
    cert = CertInfo("CN=old", "CN=ca", (), "2020-01-01T00:00:00+00:00", -5)
    probe = ProbeResult((), 1.0, tls=TlsInfo("TLSv1.2", "X", False, "expired", cert))
    report = Report(gateways=(gateway(1, None, Status.FAILED, probe=probe),))
    assert "EXPIRED 2020-01-01 (5 days ago)" in _text(report)


def test_text_source_findings_come_first_grouped_by_source():
    rows = _rows(_text(full_report()))
    assert rows[:3] == ["FAIL  broken.json", "WARN  fleet.json", "WARN  all sources"]


def test_text_summary_counts_everything():
    last = _text(full_report()).splitlines()[-1]
    assert last == (
        "9 gateways: 3 ok, 1 warning, 3 failed, 1 skipped, 1 error — "
        "findings: 6 error, 4 warning, 1 info"
    )


def test_text_skipped_with_a_warning_gets_details():
    finding = Finding("SC008", "unresolved-env-var", Severity.WARNING, "x is unset")
    report = Report(gateways=(gateway(1, None, Status.SKIPPED, findings=(finding,)),))
    assert "      warning  SC008  x is unset" in _text(report)


def test_text_leasable_and_invalid_gateways_have_placeholder_endpoints():
    report = Report(
        gateways=(
            gateway(1, None, Status.SKIPPED, kind=GatewayKind.LEASABLE),
            gateway(None, None, Status.FAILED),
        )
    )
    rows = _rows(_text(report))
    assert rows[0].split()[:4] == ["SKIP", "gateway", "1", "leasable"]
    assert rows[1].split()[:5] == ["FAIL", "gateway", "(no", "id)", "-"]


def test_text_auth_mechanisms_before_tls_are_shown():
    probe = dataclasses.replace(STARTTLS_PROBE, auth_mechanisms_before_tls=("plain",))
    report = Report(gateways=(gateway(1, None, Status.WARNING, probe=probe),))
    assert "auth     offered PLAIN LOGIN (before TLS: PLAIN)" in _text(report)


@pytest.mark.parametrize(
    ("text", "width"), [("abc", 3), ("東京", 4), ("e\u0301", 1), ("✉", 1), ("", 0)]
)
def test_display_width_counts_screen_columns(text, width):
    assert display_width(text) == width


@pytest.mark.parametrize(
    ("ms", "text"), [(0.42, "0.42 ms"), (12.5, "12.5 ms"), (250.0, "250 ms"), (1500, "1.50 s")]
)
def test_ms_text(ms, text):
    assert ms_text(ms) == text


def test_printable_keeps_unicode_and_escapes_controls():
    assert printable("Zürich 東京 ✉") == "Zürich 東京 ✉"
    assert printable("a\nb\x1b\u2028\ud800") == "a\\nb\\x1b\\u2028\\ud800"
