from __future__ import annotations

import dataclasses
import re

import pytest

from smtpcheck.reporters import RenderOptions, render
from smtpcheck.reporters._common import display_width, ms_text, printable
from smtpcheck.reporters.text_layout import fit, shorten
from smtpcheck.reporters.text_summary import MAX_CODES
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


def _summary(text: str) -> list[str]:
    """The summary: the lines after the last empty one."""
    return text.rstrip("\n").split("\n\n")[-1].splitlines()


def _finding(code: str, slug: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code, slug, severity, f"{slug} happened")


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
    summary = _summary(_text(full_report()))
    assert summary[0] == (
        "9 gateways: 3 ok, 1 warning, 3 failed, 1 skipped, 1 error — "
        "findings: 6 error, 4 warning, 1 info"
    )


def test_text_summary_names_the_failed_and_errored_gateways():
    summary = _summary(_text(full_report()))
    assert summary[1:3] == ["failed: gateways 4, 5, other.json (no id)", "error: gateway 7"]


def test_text_summary_counts_findings_per_code_worst_first():
    fleet = [
        gateway(gid, None, Status.FAILED, findings=(_finding("SC702", "auth-failed"),))
        for gid in range(8)
    ]
    fleet.append(gateway(8, None, Status.FAILED, findings=(_finding("SC503", "connect-timeout"),)))
    fleet.append(
        gateway(9, None, Status.WARNING, findings=(_finding("SC203", "x", Severity.WARNING),) * 9)
    )
    fleet.append(gateway(10, None, Status.OK, findings=(_finding("SC107", "y", Severity.INFO),)))
    summary = _summary(_text(Report(gateways=tuple(fleet))))
    # Errors before warnings whatever their counts; info is only counted in the first line.
    assert summary[2:] == [
        "  8 × SC702 auth-failed",
        "  1 × SC503 connect-timeout",
        "  9 × SC203 x",
    ]


def test_text_summary_is_one_line_for_one_gateway():
    finding = _finding("SC702", "auth-failed")
    text = _text(Report(gateways=(gateway(7, "Dealer", Status.FAILED, findings=(finding,)),)))
    assert _summary(text) == ["1 gateway: failed — findings: 1 error, 0 warning, 0 info"]


def test_text_summary_is_bounded_for_a_fleet_of_ten_thousand():
    fleet = tuple(
        gateway(
            gid,
            None,
            Status.FAILED if gid % 2 else Status.OK,
            findings=(_finding(f"SC{500 + gid % 40}", f"slug-{gid % 40}"),) if gid % 2 else (),
        )
        for gid in range(10_000)
    )
    summary = _summary(_text(Report(gateways=fleet)))
    assert summary[1] == "failed: gateways 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 … and 4990 more"
    codes = summary[2:]
    assert len(codes) == MAX_CODES + 1
    assert codes[0] == "  250 × SC501 slug-1"
    assert codes[-1] == f"  … and {20 - MAX_CODES} more codes ({(20 - MAX_CODES) * 250} findings)"


def test_text_quiet_shows_only_what_failed_warned_or_errored():
    text = render(full_report(), "text", RenderOptions(quiet=True))
    rows = _rows(text)
    shown = [row.split()[0] + " " + " ".join(row.split()[1:3]) for row in rows]
    assert shown[:3] == ["FAIL broken.json", "WARN fleet.json", "WARN all sources"]
    assert [row.split()[0] for row in rows[3:-3]] == ["WARN", "FAIL", "FAIL", "FAIL", "ERROR"]
    assert "Main relay" not in text and "leasable" not in text
    assert _summary(text)[0].startswith("9 gateways: 3 ok")  # the summary still counts all


def test_text_quiet_keeps_a_healthy_gateway_with_a_warning_and_drops_notes():
    note = Finding("SC107", "nonstandard-port", Severity.INFO, "port 2525", source="a.json")
    warned = gateway(2, None, Status.SKIPPED, findings=(_finding("SC006", "p", Severity.WARNING),))
    report = Report(gateways=(gateway(1, None, Status.OK), warned), findings=(note,))
    text = render(report, "text", RenderOptions(quiet=True))
    assert [row.split()[:3] for row in _rows(text)[:-1]] == [["SKIP", "gateway", "2"]]


def test_text_quiet_fleet_that_is_fine_is_only_its_summary():
    text = render(fleet_report(), "text", RenderOptions(quiet=True))
    assert text.splitlines() == [
        "5 gateways: 4 ok, 0 warning, 0 failed, 1 skipped — findings: 0 error, 0 warning, 0 info"
    ]


# --- fitting the terminal's width ---------------------------------------------------------

_WIDTHS = (40, 80, 200)
_TOKEN = re.compile(r"SC\d{3}|[\w.\[\]:-]+:\d+|mail\.smtp\.[\w.]+")


def _unlabelled(report: Report) -> Report:
    """The report without labels: nothing in it may be shortened, only wrapped."""
    return dataclasses.replace(
        report, gateways=tuple(dataclasses.replace(g, label=None) for g in report.gateways)
    )


@pytest.mark.parametrize("width", _WIDTHS)
@pytest.mark.parametrize("verbose", [False, True], ids=["normal", "verbose"])
def test_text_lines_fit_the_width_or_are_one_word(width, verbose):
    text = render(full_report(), "text", RenderOptions(width=width, verbose=verbose))
    for line in text.splitlines():
        if display_width(line) > width:
            # One word that cannot be cut, perhaps with the dot that is glued to it.
            words = line.removesuffix(" ·").split()
            assert len(words) == 1, f"{line!r} is wider than {width} and could be wrapped"


@pytest.mark.parametrize("width", _WIDTHS)
def test_text_wrapping_moves_words_and_cuts_none(width):
    report = _unlabelled(full_report())
    whole = _text(report, verbose=True)
    fitted = render(report, "text", RenderOptions(width=width, verbose=True))
    assert fitted.split() == whole.split()
    # Codes, host:port and param names are words of their own: none is split across lines.
    tokens = set(_TOKEN.findall(whole))
    assert {"SC105", "mx.example.net:465", "mail.smtp.use_ssl"} <= tokens
    for token in tokens:
        assert any(token in line for line in fitted.splitlines()), token


_FINDING_LINE = re.compile(r" {6}(error|warning|info) +SC\d{3}  ")


@pytest.mark.parametrize("width", _WIDTHS)
def test_text_wrapped_findings_go_on_under_their_message_and_fix(width):
    lines = render(_unlabelled(full_report()), "text", RenderOptions(width=width)).splitlines()
    message, fix = 22, 27  # the columns where a finding's message and its fix text start
    column = None  # where the lines of the finding being read go on
    continued = 0
    for line in lines:
        if _FINDING_LINE.match(line):
            column = message
        elif column is not None and line.strip().startswith("fix:"):
            assert line.index("fix:") == message, line
            column = fix
        elif column is not None and line.startswith(" " * message) and line.strip():
            assert line.index(line.strip()) == column, line
            continued += 1
        else:
            column = None
    if width < 100:
        assert continued, "nothing was wrapped: the test would prove nothing"


def test_text_width_shortens_long_labels_to_keep_one_row_per_gateway():
    text = render(fleet_report(), "text", RenderOptions(width=80))
    rows = [line for line in _rows(text)[:-1]]
    assert len(rows) == 5 and all(display_width(row) <= 80 for row in rows), rows
    assert "gateway 1234 'A much" in text and "2019'" not in text and "…" in text
    assert "m.example:587 STARTTLS" in text  # the endpoint is never what gives way


def test_text_width_never_cuts_a_gateway_id():
    long = gateway(
        123456789, "x" * 200, Status.OK, endpoint=Endpoint("h.example", 25, TlsMode.NONE)
    )
    text = render(Report(gateways=(long,)), "text", RenderOptions(width=40))
    assert "gateway 123456789 'x" in text and "h.example:25 plain" in text


def test_text_without_width_cuts_nothing():
    long_label = "word " * 60
    report = Report(gateways=(gateway(1, long_label, Status.OK),))
    assert repr(long_label) in _text(report)


def test_text_width_counts_wide_characters_as_two_columns():
    text = render(fleet_report(), "text", RenderOptions(width=40))
    assert all(display_width(line) <= 40 for line in text.splitlines() if len(line.split()) > 1)
    assert "東京" in text


@pytest.mark.parametrize("width", _WIDTHS)
def test_text_colour_changes_nothing_at_any_width(width):
    plain = render(full_report(), "text", RenderOptions(width=width))
    coloured = render(full_report(), "text", RenderOptions(width=width, color=True))
    assert _ANSI.sub("", coloured) == plain


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


@pytest.mark.parametrize(
    ("line", "width", "expected"),
    [
        ("a b c", None, ["a b c"]),
        ("a b c", 5, ["a b c"]),
        ("aa bb cc", 5, ["aa bb", "  cc"]),
        ("  aa    bb", 6, ["  aa", "  bb"]),  # the spaces at a break are dropped
        ("x mail.smtp.starttls.required", 10, ["x", "  mail.smtp.starttls.required"]),
        ("東京 東京", 6, ["東京", "  東京"]),
        ("\x1b[31maa\x1b[0m bb", 4, ["\x1b[31maa\x1b[0m", "  bb"]),  # colour takes no column
        ("a\x00b c", 3, ["a\x00b", "  c"]),  # glued words stay together
    ],
)
def test_fit_wraps_between_words_only(line, width, expected):
    assert fit(line, width, "  ") == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdef", 4, "abc…"),
        ("東京東京", 5, "東京…"),
        ("e\u0301e\u0301x", 2, "e\u0301…"),
    ],
)
def test_shorten_counts_columns(text, width, expected):
    assert shorten(text, width) == expected
