"""`smtpcheck demo` runs the real live check against the servers it starts, and says so honestly."""

from __future__ import annotations

import dataclasses

import pytest

from smtpcheck import demo
from smtpcheck.reporters import REPORTERS, RenderOptions, render
from smtpcheck.results import Status
from tests.support.cli import smtpcheck, smtpcheck_process
from tests.support.report_schema import parse_report


def test_demo_cli_exits_zero_when_every_gateway_gets_its_verdict():
    run = smtpcheck_process("demo", "--format", "json")
    assert run.code == 0, run.stderr
    report = parse_report(run.stdout)
    by_id = {g["id"]: g for g in report["gateways"]}
    assert set(by_id) == set(demo.EXPECTED)
    for gw_id, (status, codes) in demo.EXPECTED.items():
        gateway = by_id[gw_id]
        assert gateway["status"] == status, gw_id
        assert codes <= {f["code"] for f in gateway["findings"]}, gw_id
        assert gateway["probe"]["steps"], gw_id  # really probed: no gateway was skipped
    fixed_id, fix = demo.EXPECTED_FIX
    assert by_id[fixed_id]["suggestion"]["params"].items() >= fix.items()
    assert [g["id"] for g in report["gateways"] if g["suggestion"]] == [fixed_id]
    for gw_id, gateway in by_id.items():
        delivery = gateway["delivery"]
        if gw_id in demo.DELIVERED:  # sent through the demo's servers, found in its catcher
            assert delivery["outcome"] == "delivered", gw_id
            assert delivery["latency_ms"] > 0 and delivery["removed"], gw_id
            assert delivery["where"].startswith("mailpit+http://127.0.0.1:"), gw_id
        else:  # the broken gateways never got as far as sending
            assert delivery is None, gw_id
    assert run.stderr == ""  # nothing but the report: no server log lines, no warnings


def test_demo_text_says_the_failures_are_meant():
    run = smtpcheck_process("demo", "--no-color")
    assert run.code == 0, run.stderr
    assert "SC504" in run.stdout and "SC702" in run.stdout
    assert "meant" in run.stderr and "smtpcheck check" in run.stderr


def test_demo_unmet_expectations_are_named():
    result = demo.run_demo()
    assert result.unmet == ()
    broken = [
        dataclasses.replace(g, status=Status.OK, findings=()) if g.id == 4 else g
        for g in result.report.gateways
    ]
    report = dataclasses.replace(result.report, gateways=tuple(broken))
    (unmet,) = demo.unmet_expectations(report)
    assert unmet.startswith("gateway 4 is ok") and "SC504" in unmet


def test_demo_unmet_expectations_name_a_message_that_did_not_arrive():
    result = demo.run_demo()
    lost = [
        dataclasses.replace(g, delivery=None) if g.id == 2 else g for g in result.report.gateways
    ]
    report = dataclasses.replace(result.report, gateways=tuple(lost))
    assert demo.unmet_expectations(report) == [
        "gateway 2's test message was not checked, expected delivered"
    ]


def test_demo_password_never_shows(monkeypatch: pytest.MonkeyPatch):
    password = "demo-Secret-4711"
    monkeypatch.setattr("smtpcheck.demo.secrets.token_urlsafe", lambda _n: password)
    result = demo.run_demo(verbose=True)
    assert {g.status for g in result.report.gateways if g.id in (1, 2)} == {Status.OK}
    for fmt in REPORTERS:
        text = render(result.report, fmt, RenderOptions(verbose=True))
        assert password not in text, fmt


def test_demo_command_in_process_reports_unmet_expectations(monkeypatch: pytest.MonkeyPatch):
    result = smtpcheck("demo", "--no-color")
    assert result.code == 0, result.output
    assert "meant" in result.stderr
    # A demo gateway that does not get its verdict makes the demo fail, loudly.
    expected = {**demo.EXPECTED, 3: (Status.FAILED, frozenset({"SC502"}))}
    monkeypatch.setattr(demo, "EXPECTED", expected)
    result = smtpcheck("demo", "--format", "json")
    assert result.code == 1
    assert "unexpected: gateway 3 is ok" in result.stderr
