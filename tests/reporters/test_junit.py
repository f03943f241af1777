from __future__ import annotations

import xml.etree.ElementTree as ET

from smtpcheck.reporters import RenderOptions, render
from smtpcheck.results import Finding, Report, Severity, Status
from tests.reporters.sample import QUOTED_LABEL, fleet_report, full_report, gateway


def _suite(report: Report, *, verbose: bool = False) -> ET.Element:
    return ET.fromstring(render(report, "junit", RenderOptions(verbose=verbose)))


def _case(suite: ET.Element, name_part: str) -> ET.Element:
    matches = [c for c in suite.iter("testcase") if name_part in c.get("name", "")]
    assert len(matches) == 1, [c.get("name") for c in suite.iter("testcase")]
    return matches[0]


def test_junit_counts_match_the_cases():
    suite = _suite(full_report())
    cases = list(suite.iter("testcase"))
    assert suite.get("tests") == str(len(cases)) == "12"  # 3 sources + 9 gateways
    for element, attribute in (
        ("failure", "failures"),
        ("error", "errors"),
        ("skipped", "skipped"),
    ):
        found = sum(1 for c in cases if c.find(element) is not None)
        assert suite.get(attribute) == str(found), attribute
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "1", "1")


def test_junit_probe_timings_go_to_system_out():
    suite = _suite(full_report())
    out = _case(suite, "'Main relay'").findtext("system-out") or ""
    lines = out.splitlines()
    assert "probe ok in 9.4 ms" in lines
    assert [line.split()[0] for line in lines if line.startswith("  ") and " ms" in line] == [
        "connect",
        "greeting",
        "ehlo",
        "starttls",
        "ehlo",
        "auth",
        "quit",
    ]
    assert "tls TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified" in lines
    assert _case(suite, "'Main relay'").get("time") == "0.009"


def test_junit_failed_probe_keeps_failure_and_timings():
    case = _case(_suite(full_report()), "Legacy")
    failure = case.find("failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("error SC105 plain-on-implicit-tls-port:")
    out = case.findtext("system-out") or ""
    assert "probe failed (no_greeting) in 10000.6 ms" in out
    assert "mail.smtp.use_ssl: true" in out


def test_junit_passing_case_keeps_its_warnings_in_system_out():
    case = _case(_suite(full_report()), "gateway 3")
    assert case.find("failure") is None
    assert "warning SC607 certificate-expires-soon" in (case.findtext("system-out") or "")


def test_junit_labels_survive_and_control_characters_do_not_break_the_xml():
    report = Report(
        gateways=(
            gateway(1, QUOTED_LABEL, Status.OK),
            gateway(
                2,
                "nul\x00 bell\x07",
                Status.FAILED,
                findings=(Finding("SC506", "protocol-error", Severity.ERROR, "got \x01\x02"),),
            ),
        )
    )
    suite = _suite(report)  # parses: nothing XML cannot hold was written
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names[0] == f"gateway 1 {QUOTED_LABEL!r}"
    assert names[1] == "gateway 2 'nul\\x00 bell\\x07'"
    failure = suite.find("testcase/failure")
    assert failure is not None and "got \\x01\\x02" in (failure.text or "")


def test_junit_transcript_only_with_verbose():
    plain = _case(_suite(fleet_report()), "'Main'").findtext("system-out") or ""
    verbose = _case(_suite(fleet_report(), verbose=True), "'Main'").findtext("system-out") or ""
    assert "transcript:" not in plain
    assert "  C: AUTH PLAIN ********" in verbose.splitlines()


def test_junit_failures_are_what_fails_the_run():
    # A gateway that works with an error finding fails the run (exit 1), so its case fails;
    # one with only a warning passes unless --fail-on warning.
    error = Finding("SC303", "cleartext-auth", Severity.ERROR, "logs in in clear text")
    warning = Finding("SC203", "opportunistic-starttls", Severity.WARNING, "not required")
    report = Report(
        gateways=(
            gateway(1, "works, but", Status.WARNING, findings=(error,)),
            gateway(2, "works, warned", Status.WARNING, findings=(warning,)),
        )
    )
    for fail_on, failures in ((None, 1), (Severity.ERROR, 1), (Severity.WARNING, 2)):
        text = render(report, "junit", RenderOptions(fail_on=fail_on))
        suite = ET.fromstring(text)
        assert suite.get("failures") == str(failures), fail_on
        assert (report.fails(fail_on or Severity.ERROR)) is (failures > 0)
