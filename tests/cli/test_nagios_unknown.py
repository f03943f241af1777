"""Under --format nagios every run that could not happen is one UNKNOWN line and exit 3.

Nagios shows standard output and reads exit 2 as CRITICAL: a typo in an option used to page
someone at night with "(No output on stdout)" (issue 11, item 1).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.support.cli import smtpcheck, smtpcheck_process

__all__: list[str] = []

_UNKNOWN = "SMTPCHECK UNKNOWN - "


def _config(tmp_path: Path) -> str:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps({"id": 1, "label": "a;b", "provider": "smtp", "params": {}}))
    return str(path)


def _refusing_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_unknown(run, *words: str) -> None:
    assert run.code == 3, run
    assert run.stdout.startswith(_UNKNOWN) and run.stdout.count("\n") == 1, run
    assert all(word in run.stdout for word in words), run
    assert run.stderr == "", run  # Nagios reads one line; nothing else is said


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--api-timeout", "nan"], ["'--api-timeout'", "nan"]),  # refused by click
        (["--bogus"], ["No such option"]),
        (["--format=nagios", "--select", "SC9999"], ["SC9999"]),  # refused by smtpcheck
        (["-o", "/no/such/dir/report.txt"], ["cannot write", "/no/such/dir"]),
        (["--report", "xml=x.xml"], ["'xml' is not a format"]),
        (["--label", "a=b"], ["--label"]),  # no Prometheus output
    ],
    ids=["click-option", "unknown-option", "selector", "output", "report", "label"],
)
@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_run_refused_before_it_starts_is_unknown(tmp_path, command, args, words):
    extra = ["--ehlo", "client.test"] if command == "check" else []
    run = smtpcheck(command, "--format", "nagios", *extra, *args, _config(tmp_path))
    _assert_unknown(run, *words)


def test_a_missing_source_is_unknown(tmp_path):
    _assert_unknown(smtpcheck("validate", "--format", "nagios", str(tmp_path / "nope.json")))


def test_an_unusable_panel_is_unknown():
    url = f"http://127.0.0.1:{_refusing_port()}/v2"
    run = smtpcheck(
        "validate", "--format", "nagios", "--api-url", url, "--hash", "0" * 32,
        "--api-timeout", "0.5",
    )  # fmt: skip
    _assert_unknown(run, "connection refused")
    assert "0" * 32 not in run.output


def test_a_bug_is_unknown_and_says_so(tmp_path, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("smtpcheck.pipeline.validate.validate", broken)
    run = smtpcheck("validate", "--format", "nagios", _config(tmp_path))
    _assert_unknown(run, "internal error: RuntimeError: boom")


def test_without_nagios_an_error_is_one_line_on_stderr_in_one_style(tmp_path):
    for args in (["--bogus"], ["-o", "/no/such/dir/x"], [str(tmp_path / "nope.json")]):
        run = smtpcheck("validate", *args, _config(tmp_path))
        assert run.code == 2 and run.stdout == "", run
        first, *rest = run.stderr.splitlines()
        assert first.startswith("smtpcheck: error: "), run
        assert all(line.startswith("Try 'smtpcheck validate --help'") for line in rest), run


def test_the_status_line_keeps_semicolons(tmp_path):
    run = smtpcheck("validate", "--format", "nagios", _config(tmp_path))
    status = run.stdout.splitlines()[0]
    assert "'a;b'" in status.split(" | ")[0], status


def test_demo_in_nagios_format_says_ok_and_exits_0():
    # The demo's broken gateways fail on purpose: the plugin states the demo's own verdict.
    run = smtpcheck_process("demo", "--format", "nagios", timeout=120)
    assert run.code == 0, run
    assert run.stdout.startswith("SMTPCHECK OK - demo passed"), run
    assert "CRITICAL" not in run.stdout.splitlines()[0]
