"""Hostile inputs end as findings on their own gateway or as usage errors, never as a crash.

Each case once stopped the whole run with "internal error … this is a bug" (issue 10, class 1)
or was accepted and broke every gateway (class 2: --timeout nan).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import smtpcheck
from tests.support.panel import PanelServer, raw

__all__: list[str] = []

_GOOD = {
    "id": 2,
    "leasable": False,
    "label": "good",
    "provider": "smtp",
    "params": {"mail.smtp.host": "smtp.example.com", "mail.smtp.port": 587},
}


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fleet.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _fleet(bad_params: str) -> str:
    bad = '{"id": 1, "leasable": false, "label": "bad", "provider": "smtp", "params": '
    return f"[{bad}{bad_params}}}, {json.dumps(_GOOD)}]"


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ('{"mail.smtp.host": "x.example", "mail.smtp.port": ' + "9" * 5000 + "}", "SC004",
         "a number too long to read"),
        ('{"mail.smtp.host": "x.example", "mail.smtp.timeout": -' + "9" * 5000 + "}", "SC004",
         "a number too long to read"),
        ('{"mail.smtp.host": "x.example", "mail.smtp.password": "\\ud800x"}', "SC002",
         "lone surrogate"),
        ('{"mail.smtp.host": "x.example", "mail.smtp.user": "a\\udfffb"}', "SC002",
         "lone surrogate"),
    ],
    ids=["port-of-5000-digits", "negative-timeout-of-5000-digits", "surrogate-password",
         "surrogate-user"],
)  # fmt: skip
def test_hostile_value_is_a_finding_and_the_other_gateway_is_reported(
    tmp_path: Path, params: str, code: str, words: str
) -> None:
    run = smtpcheck("validate", _write(tmp_path, _fleet(params)), "--format", "json")
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout)
    bad, good = report["gateways"]
    found = [f for f in bad["findings"] if f["code"] == code]
    assert found and words in found[0]["message"], bad["findings"]
    assert good["label"] == "good" and good["status"] != "error"


def test_hostile_gateway_id_of_5000_digits_is_sc002(tmp_path: Path) -> None:
    text = json.dumps([_GOOD]).replace('"id": 2', '"id": ' + "7" * 5000)
    run = smtpcheck("validate", _write(tmp_path, text), "--format", "json")
    assert run.code == 1 and "internal error" not in run.stderr, run.stderr
    (gateway,) = json.loads(run.stdout)["gateways"]
    assert [f["code"] for f in gateway["findings"]] == ["SC002"]


@pytest.mark.parametrize(
    "option",
    [
        ["--timeout", "nan"],
        ["--timeout", "inf"],
        ["--timeout", "-1"],
        ["--api-timeout", "nan"],
        ["--api-url", "http://127.0.0.1:65536/v2", "--hash", "0" * 32],
        ["--api-url", "http://127.0.0.1:0/v2", "--hash", "0" * 32],
    ],
    ids=["timeout-nan", "timeout-inf", "timeout-negative", "api-timeout-nan", "port-65536",
         "port-0"],
)  # fmt: skip
def test_hostile_option_is_a_usage_error_before_any_traffic(
    tmp_path: Path, option: list[str]
) -> None:
    run = smtpcheck("check", _write(tmp_path, json.dumps([_GOOD])), "--ehlo", "c.test", *option)
    assert run.code == 2, run
    assert "Invalid value" in run.stderr and "internal error" not in run.stderr, run.stderr


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, b"[" * 100_000 + b"]" * 100_000, ()),
        (200, b'{"success": true, "own": [{"id": ' + b"9" * 5000 + b'}], "leasable": []}', ()),
        (503, b"busy", (("Retry-After", "\u00b2"),)),
    ],
    ids=["nested-100000-deep", "id-of-5000-digits", "retry-after-superscript-two"],
)
def test_hostile_panel_answer_never_crashes(status: int, body: bytes, headers: Any) -> None:
    panel = PanelServer()
    panel.faults.extend([raw(status, body, *headers)] * 4)
    with panel.running():
        session = panel.add_session()
        run = smtpcheck("validate", "--api-url", panel.url, "--hash", session, "--api-timeout", "2")
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.code in (1, 2), run


@pytest.mark.parametrize(
    "argv",
    [
        ("-o", "/tmp/not-utf8-\ud800.json"),
        ("--ca-file", "/tmp/not-utf8-\ud800.pem"),
        ("--api-url", "http://127.0.0.1:9/v2", "--hash", "feed\udcff"),
        ("--api-url", "http://127.0.0.1:9/v2", "--login", "dealer\ud800"),
    ],
    ids=["output", "ca-file", "hash", "login"],
)  # fmt: skip
def test_text_that_is_not_utf8_in_an_option_is_a_usage_error(tmp_path: Path, argv) -> None:
    # Found by the property tests: these once ended as "internal error: UnicodeEncodeError".
    run = smtpcheck("check", _write(tmp_path, json.dumps(_GOOD)), *argv)
    assert run.code == 2, run.output
    assert argv[-2] in run.stderr and "internal error" not in run.output, run.output
