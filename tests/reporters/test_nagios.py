from __future__ import annotations

import re

import pytest

from smtpcheck.reporters import RenderOptions, nagios_exit_code, render
from smtpcheck.reporters.nagios import NagiosState, nagios_state, render_unknown
from smtpcheck.results import Finding, GatewayKind, GatewayReport, Report, Severity, Status
from tests.reporters.sample import STARTTLS_PROBE, fleet_report, full_report, gateway

_PERF = re.compile(r"'[A-Za-z0-9_]+'=[0-9.]+(ms)?;;;0")


def _finding(severity: Severity, *, source: str | None = None) -> Finding:
    return Finding("SC999", "test", severity, f"a {severity} finding", source=source)


def _gw(status: Status, *severities: Severity) -> GatewayReport:
    kind = GatewayKind.LEASABLE if status is Status.SKIPPED else GatewayKind.OWN
    return gateway(1, None, status, kind=kind, findings=tuple(_finding(s) for s in severities))


OK = _gw(Status.OK)
NOTE = _gw(Status.OK, Severity.INFO)
WARN = _gw(Status.WARNING, Severity.WARNING)
FAIL = _gw(Status.FAILED, Severity.ERROR)
ERROR = _gw(Status.ERROR, Severity.ERROR)
SKIP = _gw(Status.SKIPPED)
WORKS_BUT = _gw(Status.WARNING, Severity.ERROR)  # works, with an error finding (SC303, SC701…)


@pytest.mark.parametrize(
    ("gateways", "sources", "fail_on", "state"),
    [
        ((OK,), (), Severity.ERROR, NagiosState.OK),
        ((OK, NOTE, SKIP), (), Severity.ERROR, NagiosState.OK),
        ((OK, WARN), (), Severity.ERROR, NagiosState.WARNING),
        ((OK, WARN), (), Severity.WARNING, NagiosState.CRITICAL),
        ((OK, FAIL, WARN), (), Severity.ERROR, NagiosState.CRITICAL),
        ((OK, ERROR), (), Severity.ERROR, NagiosState.UNKNOWN),
        ((WARN, ERROR), (), Severity.ERROR, NagiosState.UNKNOWN),
        ((WARN, ERROR), (), Severity.WARNING, NagiosState.CRITICAL),
        ((FAIL, ERROR), (), Severity.ERROR, NagiosState.CRITICAL),
        ((), (), Severity.ERROR, NagiosState.UNKNOWN),
        ((SKIP, SKIP), (), Severity.ERROR, NagiosState.UNKNOWN),
        ((OK,), (Severity.ERROR,), Severity.ERROR, NagiosState.CRITICAL),
        ((), (Severity.ERROR,), Severity.ERROR, NagiosState.CRITICAL),
        ((OK,), (Severity.WARNING,), Severity.ERROR, NagiosState.WARNING),
        ((OK,), (Severity.WARNING,), Severity.WARNING, NagiosState.CRITICAL),
        ((OK,), (Severity.INFO,), Severity.WARNING, NagiosState.OK),
        ((OK, WORKS_BUT), (), None, NagiosState.WARNING),
        ((OK, WORKS_BUT), (), Severity.ERROR, NagiosState.CRITICAL),
        ((OK, FAIL), (), None, NagiosState.CRITICAL),
        ((OK, WARN), (), None, NagiosState.WARNING),
        ((OK,), (Severity.ERROR,), None, NagiosState.CRITICAL),
    ],
    ids=[
        "all-ok",
        "info-and-skipped-are-ok",
        "warning",
        "warning-with-fail-on-warning",
        "failed-wins",
        "error-is-unknown",
        "unknown-outranks-warning",
        "fail-on-warning-outranks-unknown",
        "failed-outranks-unknown",
        "nothing-at-all",
        "nothing-probe-able",
        "bad-source",
        "bad-source-alone",
        "source-warning",
        "source-warning-fail-on-warning",
        "info-never-fails",
        "works-but-is-a-warning-without-fail-on",
        "works-but-is-critical-under-fail-on-error",
        "not-working-is-critical-without-fail-on",
        "warning-without-fail-on",
        "bad-source-without-fail-on",
    ],
)
def test_nagios_state_and_exit_code(gateways, sources, fail_on, state):
    report = Report(
        gateways=gateways, findings=tuple(_finding(s, source="x.json") for s in sources)
    )
    assert nagios_state(report, fail_on) is state
    assert nagios_exit_code(report, fail_on) == state.value
    first = render(report, "nagios", RenderOptions(fail_on=fail_on)).splitlines()[0]
    assert first.startswith(f"SMTPCHECK {state.name} - "), "the text disagrees with the code"


def test_nagios_layout_status_long_output_and_perfdata():
    lines = render(full_report(), "nagios").splitlines()
    status, _, counts = lines[0].partition(" | ")
    assert status.startswith("SMTPCHECK CRITICAL - 9 gateways: 3 failed, 1 error, 1 warning")
    assert "gateway 4 'Legacy ¦ 465': SC105 plain-on-implicit-tls-port" in status
    assert counts.split() == [
        "'gateways'=9;;;0",
        "'ok'=3;;;0",
        "'warning'=1;;;0",
        "'failed'=3;;;0",
        "'skipped'=1;;;0",
        "'error'=1;;;0",
        "'findings_error'=6;;;0",
        "'findings_warning'=4;;;0",
        "'findings_info'=1;;;0",
    ]
    # Long output: 3 source lines and one per gateway, the last one opening the perfdata.
    text_lines = [line for line in lines[1:] if not line.startswith("'")]
    assert len(text_lines) == 3 + 9
    assert text_lines[-1].startswith("OK: gateway 1 'Main relay (copy)'")
    first_perf = text_lines[-1].partition(" | ")[2]
    perf = [first_perf, *lines[len(text_lines) + 1 :]]
    assert all(_PERF.fullmatch(p) for p in perf), perf
    labels = [p.split("=")[0] for p in perf]
    assert len(labels) == len(set(labels)), "perfdata labels must be unique"
    assert "'gw1_ehlo_2'=0.36ms;;;0" in perf
    assert "'gw4_greeting'=10000ms;;;0" in perf


def test_nagios_text_never_holds_a_stray_pipe_or_newline():
    lines = render(full_report(), "nagios").splitlines()
    assert lines[0].count("|") == 1
    assert sum(line.count("|") for line in lines[1:]) == 1
    assert 'Dealer "Nord"\\nbackup' in "\n".join(lines)


def test_nagios_repeated_id_gets_distinct_perfdata_labels():
    twice = Report(gateways=(gateway(5, None, Status.OK, probe=STARTTLS_PROBE),) * 2)
    text = render(twice, "nagios")
    assert "'gw5_time'=" in text and "'gw5_2_time'=" in text


def test_nagios_fleet_is_ok_with_one_line_per_gateway():
    lines = render(fleet_report(), "nagios").splitlines()
    assert lines[0].startswith("SMTPCHECK OK - 5 gateways: 4 ok, 1 skipped | ")
    assert [line.split(":")[0] for line in lines[1:6]] == ["OK"] * 4 + ["SKIPPED"]


def test_nagios_unknown_line_for_a_run_that_could_not_happen():
    assert render_unknown("x.json: no such file | or\ndirectory") == (
        "SMTPCHECK UNKNOWN - x.json: no such file ¦ or\\ndirectory\n"
    )
