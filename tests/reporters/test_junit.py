"""JUnit: a suite per source, cases that fail exactly when the run fails, details in system-out.

The schemas themselves (Jenkins xunit, Ant) are checked in test_junit_schemas.py.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpcheck.cli.exits import EXIT_FAIL, exit_code
from smtpcheck.defaults import FAIL_ON
from smtpcheck.reporters import RenderOptions, render
from smtpcheck.results import Finding, GatewayKind, Report, Severity, Status
from tests.reporters.sample import (
    QUOTED_LABEL,
    empty_report,
    fleet_report,
    full_report,
    gateway,
)

PANEL = "https://api.eu.navixy.com/v2/panel/gateways/email/list"  # how PanelSource names it
ERROR = Finding("SC303", "cleartext-auth", Severity.ERROR, "logs in in clear text")
WARNING = Finding("SC203", "opportunistic-starttls", Severity.WARNING, "not required")
INFO = Finding("SC107", "nonstandard-port", Severity.INFO, "port 2525")


def _root(report: Report, **options: object) -> ET.Element:
    root = ET.fromstring(render(report, "junit", RenderOptions(**options)))  # type: ignore[arg-type]
    assert root.tag == "testsuites"
    return root


def _suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name", ""): s for s in root.findall("testsuite")}


def _case(root: ET.Element, name_part: str) -> ET.Element:
    matches = [c for c in root.iter("testcase") if name_part in c.get("name", "")]
    assert len(matches) == 1, [c.get("name") for c in root.iter("testcase")]
    return matches[0]


def _out(root: ET.Element, case_name: str) -> list[str]:
    """Return the lines of a case's block in its suite's system-out, without their indent."""
    for suite in root.findall("testsuite"):
        for block in (suite.findtext("system-out") or "").split("\n\n"):
            head, *lines = block.split("\n")
            if head == case_name:
                return [line.removeprefix("  ") for line in lines]
    raise AssertionError(f"no block for {case_name!r}")


def test_junit_has_one_suite_per_source_in_the_order_read():
    root = _root(full_report())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "fleet.json",
        "other.json",
        "broken.json",  # read, but only its SC001 to show
        "<all sources>",  # SC005: one id in two files
    ]
    assert [s.get("id") for s in suites] == ["0", "1", "2", "3"]
    for suite in suites:
        assert {c.get("classname") for c in suite.iter("testcase")} == {suite.get("name")}
    assert [c.get("name") for c in suites[1].iter("testcase")] == [
        "gateway (no id)",
        "gateway 1 'Main relay (copy)'",
    ]


def test_junit_source_findings_belong_to_their_source_suite():
    suites = _suites(_root(full_report()))
    (broken,) = suites["broken.json"].iter("testcase")
    failure = broken.find("failure")
    assert broken.get("name") == "source" and failure is not None
    assert failure.get("type") == "SC001"
    assert (failure.get("message") or "").startswith("error SC001 invalid-json: broken.json:3:14")
    first = next(suites["fleet.json"].iter("testcase"))
    assert first.get("name") == "source" and len(first) == 0  # a warning passes
    assert any("SC007" in line for line in _out(_root(full_report()), "source"))
    (fleet,) = suites["<all sources>"].iter("testcase")
    assert len(fleet) == 0 and "SC005" in (suites["<all sources>"].findtext("system-out") or "")


def test_junit_panel_gateways_get_the_suite_of_the_panel_source():
    report = Report(
        gateways=(
            gateway(1, "from the panel", Status.OK, source=PANEL),
            gateway(2, "from a file", Status.OK),
        )
    )
    suites = _suites(_root(report))
    assert list(suites) == [PANEL, "fleet.json"]
    assert [c.get("classname") for c in suites[PANEL].iter("testcase")] == [PANEL]


def test_junit_suites_say_when_and_where_the_run_was():
    started = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    report = dataclasses.replace(full_report(), started=started, host="ci-runner-7")
    for suite in _root(report).findall("testsuite"):
        assert (suite.get("timestamp"), suite.get("hostname")) == (
            "2025-03-04T05:06:07",  # both schemas: ISO 8601; Ant's: without a zone
            "ci-runner-7",
        )
        assert suite.get("package") == "smtpcheck"
    elsewhere = started.astimezone(timezone(timedelta(hours=2)))  # the same moment, as UTC
    shifted = _root(dataclasses.replace(report, started=elsewhere)).find("testsuite")
    assert shifted is not None and shifted.get("timestamp") == "2025-03-04T05:06:07"


def test_junit_suite_without_stamp_or_host_says_localhost():
    suite = _root(full_report()).find("testsuite")
    assert suite is not None
    assert suite.get("timestamp") is None  # a report built by hand: no time to tell
    assert suite.get("hostname") == "localhost"  # as Ant's schema asks when it is unknown
    blank = _root(dataclasses.replace(full_report(), host=" ")).find("testsuite")
    assert blank is not None and blank.get("hostname") == "localhost"


def test_junit_counts_match_the_cases_of_each_suite():
    suites = _root(full_report()).findall("testsuite")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        cases = list(suite.iter("testcase"))
        assert suite.get("tests") == str(len(cases))
        for element, attribute in (
            ("failure", "failures"),
            ("error", "errors"),
            ("skipped", "skipped"),
        ):
            found = sum(1 for c in cases if c.find(element) is not None)
            assert suite.get(attribute) == str(found), (suite.get("name"), attribute)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        assert float(suite.get("time", "")) == pytest.approx(
            sum(float(c.get("time", "")) for c in cases), abs=0.002
        )
    # 3 source cases + 9 gateways; failures: broken.json, gateways 4, 5 and (no id)
    assert totals == {"tests": 12, "failures": 4, "errors": 1, "skipped": 1}


def test_junit_probe_timings_and_tls_go_to_system_out():
    root = _root(full_report())
    lines = _out(root, "gateway 1 'Main relay'")
    assert "probe ok in 9.4 ms" in lines
    assert [line.split()[0] for line in lines if line.startswith("  ") and " ms" in line] == [
        "connect",
        "greeting",
        "ehlo",
        "starttls",
        "ehlo",
        "auth",
        "quit",
        "delivery",  # --expect-delivery: one more step, in the same columns
    ]
    assert "tls TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified" in lines
    case = _case(root, "'Main relay'")
    # The case lasts from the connect to the message found: the probe and the delivery wait.
    assert case.get("time") == "0.071" and len(case) == 0  # Ant: no output inside a case


def test_junit_failed_probe_keeps_failure_and_timings():
    root = _root(full_report())
    failure = _case(root, "Legacy").find("failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("error SC105 plain-on-implicit-tls-port:")
    assert failure.get("type") == "SC105"
    for text in (failure.text or "", "\n".join(_out(root, "gateway 4 'Legacy | 465'"))):
        # In the failure too: GitLab shows a failed case's text, not its suite's output.
        assert "probe failed (no_greeting) in 10000.6 ms" in text
        assert "mail.smtp.use_ssl: true" in text
    assert not any(
        line.startswith("error SC105") for line in _out(root, "gateway 4 'Legacy | 465'")
    )


def test_junit_passing_case_keeps_its_warnings_in_system_out():
    root = _root(full_report())
    assert len(_case(root, "gateway 3")) == 0
    assert any(
        line.startswith("warning SC607 certificate-expires-soon")
        for line in _out(root, f"gateway 3 {QUOTED_LABEL!r}")
    )


def test_junit_skipped_and_errored_cases():
    root = _root(full_report())
    skipped = _case(root, "'Default'").find("skipped")
    assert skipped is not None and skipped.get("message") == "not an SMTP gateway"
    error = _case(root, "Broken").find("error")
    assert error is not None and error.get("type") == "SC901"


def test_junit_labels_survive_and_control_characters_do_not_break_the_xml():
    report = Report(
        gateways=(
            gateway(1, QUOTED_LABEL, Status.OK),
            gateway(
                2,
                "nul\x00 bell\x07 \U0001d11e",
                Status.FAILED,
                findings=(Finding("SC506", "protocol-error", Severity.ERROR, "got \x01\x02"),),
            ),
        )
    )
    root = _root(report)  # parses: nothing XML cannot hold was written
    names = [c.get("name") for c in root.iter("testcase")]
    assert names[0] == f"gateway 1 {QUOTED_LABEL!r}"
    assert names[1] == "gateway 2 'nul\\x00 bell\\x07 \U0001d11e'"
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "got \\x01\\x02" in (failure.text or "")


def test_junit_blank_source_name_still_names_its_suite():
    report = Report(gateways=(gateway(1, "x", Status.OK, source=" "),))
    assert list(_suites(_root(report))) == ["' '"]


def test_junit_transcript_only_with_verbose():
    plain = _out(_root(fleet_report()), "gateway 10 'Main'")
    verbose = _out(_root(fleet_report(), verbose=True), "gateway 10 'Main'")
    assert "transcript:" not in plain
    assert "  C: AUTH PLAIN ********" in verbose


def test_junit_a_warning_fails_its_case_under_fail_on_warning():
    # A gateway that works with an error finding fails the run (exit 1), so its case fails;
    # one with only a warning passes unless --fail-on warning; so does a skipped one's.
    report = Report(
        gateways=(
            gateway(1, "works, but", Status.WARNING, findings=(ERROR,)),
            gateway(2, "works, warned", Status.WARNING, findings=(WARNING,)),
            gateway(3, "leased", Status.SKIPPED, kind=GatewayKind.LEASABLE, findings=(WARNING,)),
        ),
        findings=(dataclasses.replace(WARNING, source="fleet.json"),),
    )
    for fail_on, failures in ((None, 1), (Severity.ERROR, 1), (Severity.WARNING, 4)):
        suite = _root(report, fail_on=fail_on).find("testsuite")
        assert suite is not None and suite.get("failures") == str(failures), fail_on
    leased = _case(_root(report, fail_on=Severity.WARNING), "leased").find("failure")
    assert leased is not None and leased.get("type") == "SC203"


def _failing(root: ET.Element) -> int:
    return sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in root)


def _one_of_each() -> Report:
    return Report(
        gateways=(
            gateway(1, "ok", Status.OK, findings=(INFO,)),
            gateway(2, "down", Status.FAILED, findings=(ERROR,), source="b.json"),
            gateway(3, "leased", Status.SKIPPED, kind=GatewayKind.LEASABLE),
        ),
        findings=(dataclasses.replace(WARNING, source="b.json"),),
    )


SAMPLES: list[Callable[[], Report]] = [
    full_report,
    fleet_report,
    empty_report,
    _one_of_each,
    lambda: Report(gateways=(gateway(1, "broke", Status.ERROR, findings=()),)),
    lambda: Report(gateways=(), findings=(dataclasses.replace(INFO, source="a.json"),)),
    lambda: Report(gateways=(), findings=(WARNING,)),  # a fleet warning, no source
    lambda: Report(gateways=(gateway(1, "warned", Status.WARNING, findings=(WARNING,)),)),
]


@pytest.mark.parametrize("build", SAMPLES)
@pytest.mark.parametrize("fail_on", [None, Severity.ERROR, Severity.WARNING, Severity.INFO])
def test_junit_fails_a_case_exactly_when_the_run_fails(build, fail_on):
    report = build()
    failing = _failing(_root(report, fail_on=fail_on))
    fails = report.fails(fail_on or Severity(FAIL_ON))
    assert (failing > 0) is fails is (exit_code(report, fmt="junit", fail_on=fail_on) == EXIT_FAIL)


_STATUSES = st.sampled_from(list(Status))
_FINDINGS = st.lists(st.sampled_from([ERROR, WARNING, INFO]), max_size=3).map(tuple)
_SOURCES = st.sampled_from(["a.json", "b.json", PANEL])


@st.composite
def _reports(draw: st.DrawFn) -> Report:
    gateways = draw(
        st.lists(
            st.builds(
                lambda i, status, findings, source: gateway(
                    i, None, status, findings=findings, source=source
                ),
                st.integers(1, 9),
                _STATUSES,
                _FINDINGS,
                _SOURCES,
            ),
            max_size=5,
        )
    )
    sources = st.one_of(st.none(), _SOURCES)
    findings = draw(
        st.lists(
            st.builds(
                lambda f, s: dataclasses.replace(f, source=s),
                st.sampled_from([ERROR, WARNING, INFO]),
                sources,
            ),
            max_size=3,
        )
    )
    return Report(gateways=tuple(gateways), findings=tuple(findings))


@settings(max_examples=150, deadline=None, database=None)
@given(report=_reports(), fail_on=st.sampled_from([None, *Severity]))
def test_junit_failures_agree_with_the_exit_code_for_any_report(report, fail_on):
    failing = _failing(_root(report, fail_on=fail_on))
    assert (failing > 0) is report.fails(fail_on or Severity(FAIL_ON))
