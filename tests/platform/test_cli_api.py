"""The panel API through the command line: `validate` and `fetch` against the local panel.

Commands run in-process through `smtpcheck.cli.main`, so exit codes and both output streams are
exactly what a user sees; two runs go through a real ``python -m smtpcheck`` process.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.cli import api_options
from smtpcheck.config.params import REDACTED
from tests.platform.conftest import (
    PANEL_LOGIN,
    PANEL_PASSWORD,
    SESSION_HASH,
    SMTP_PASSWORD,
)
from tests.support.cli import smtpcheck, smtpcheck_process
from tests.support.panel import PanelServer, slow

ENV_NAMES = ("NAVIXY_HASH", "NAVIXY_LOGIN", "NAVIXY_PASSWORD")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    yield


def gateway_file(tmp_path: Path) -> Path:
    path = tmp_path / "extra.json"
    gateway = {
        "id": 50,
        "label": "From a file",
        "provider": "smtp",
        "params": {"mail.smtp.host": "relay.test", "mail.smtp.port": 25},
    }
    path.write_text(json.dumps(gateway))
    return path


def report_of(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


def codes_by_gateway(report: dict[str, Any]) -> dict[int, list[str]]:
    return {g["id"]: sorted(f["code"] for f in g["findings"]) for g in report["gateways"]}


def test_validate_checks_the_panel_list_bound_gateway_included(panel: PanelServer):
    code, out, err = smtpcheck(
        "validate", "--api-url", panel.url, "--hash", SESSION_HASH, "--format", "json"
    )
    report = report_of(out)
    assert code == 1, err
    assert [g["id"] for g in report["gateways"]] == [10, 11, 1]
    assert {g["source"] for g in report["gateways"]} == {f"{panel.url}/panel/gateways/email/list"}
    assert [f["code"] for f in report["findings"]] == ["SC007"]
    assert "SC104" in codes_by_gateway(report)[11]
    assert err == ""


def test_validate_takes_the_hash_from_the_environment(panel, monkeypatch):
    monkeypatch.setenv("NAVIXY_HASH", SESSION_HASH)
    code, out, _ = smtpcheck("validate", "--api-url", panel.url, "--format", "json")
    assert code == 1
    assert len(report_of(out)["gateways"]) == 3


def test_validate_logs_in_with_login_and_password_from_the_environment(panel, monkeypatch):
    monkeypatch.setenv("NAVIXY_LOGIN", PANEL_LOGIN)
    monkeypatch.setenv("NAVIXY_PASSWORD", PANEL_PASSWORD)
    code, out, _ = smtpcheck("validate", "--api-url", panel.url, "--format", "json")
    assert code == 1
    assert len(report_of(out)["gateways"]) == 3
    assert panel.actions() == [
        "panel/account/auth",
        "panel/gateways/email/list",
        "panel/account/logout",
    ]


def test_validate_combines_the_api_and_files(panel, tmp_path):
    extra = gateway_file(tmp_path)
    code, out, _ = smtpcheck("validate", str(extra), "--api-url", panel.url, "--hash", SESSION_HASH,
        "--format", "json",
    )  # fmt: skip
    ids = [g["id"] for g in report_of(out)["gateways"]]
    assert code == 1
    assert ids == [10, 11, 1, 50]


def test_api_data_is_never_expanded_from_the_environment(panel, monkeypatch):
    # Gateway 11's sender is "${SMTPCHECK_TEST_FROM}": in a file that reads the environment,
    # from the panel it is text like any other.
    monkeypatch.setenv("SMTPCHECK_TEST_FROM", "alerts@dealer.test")
    _, out, _ = smtpcheck(
        "validate", "--api-url", panel.url, "--hash", SESSION_HASH, "--format", "json"
    )
    (broken,) = [g for g in report_of(out)["gateways"] if g["id"] == 11]
    (sender,) = [f for f in broken["findings"] if f["code"] == "SC405"]
    assert "${SMTPCHECK_TEST_FROM}" in sender["message"]


def test_a_saved_list_validates_like_the_live_one(panel, tmp_path, monkeypatch):
    # The panel's "${SMTPCHECK_TEST_FROM}" is text; fetch escapes it, so the saved file does not
    # read this machine's environment for it either (see above).
    monkeypatch.setenv("SMTPCHECK_TEST_FROM", "alerts@dealer.test")
    panel.gateways["own"][1]["params"]["default_from_address"] = "not an address"
    saved = tmp_path / "fleet.json"
    api = ["--api-url", panel.url, "--hash", SESSION_HASH]
    assert smtpcheck("fetch", *api, "--include-secrets", "-o", str(saved))[0] == 0
    _, live, _ = smtpcheck("validate", *api, "--format", "json")
    _, offline, _ = smtpcheck("validate", str(saved), "--format", "json")
    assert codes_by_gateway(report_of(live)) == codes_by_gateway(report_of(offline))
    assert report_of(live)["summary"] == report_of(offline)["summary"]


def test_a_redacted_list_says_it_holds_no_password(panel, tmp_path):
    saved = tmp_path / "fleet.json"
    api = ["--api-url", panel.url, "--hash", SESSION_HASH]
    assert smtpcheck("fetch", *api, "-o", str(saved))[0] == 0
    _, live, _ = smtpcheck("validate", *api, "--format", "json")
    _, offline, _ = smtpcheck("validate", str(saved), "--format", "json")
    with_password = {
        gw["id"] for gw in panel.gateways["own"] if gw["params"].get("mail.smtp.password")
    }
    assert with_password
    for gw_id, codes in codes_by_gateway(report_of(offline)).items():
        expected = codes_by_gateway(report_of(live))[gw_id]
        if gw_id in with_password:
            expected = sorted([*expected, "SC010"])
        assert sorted(codes) == sorted(expected), gw_id


def test_region_selects_the_hosted_api():
    # The test guard refuses DNS beyond loopback, which shows where the request went.
    code, _, err = smtpcheck("validate", "--region", "me", "--hash", SESSION_HASH)
    assert code == 2
    assert err.startswith(
        "smtpcheck: error: panel/gateways/email/list: cannot resolve api.me.navixy.com: "
    )


def test_an_api_error_is_one_line_and_exit_2(panel):
    del panel.sessions[SESSION_HASH]
    code, out, err = smtpcheck("validate", "--api-url", panel.url, "--hash", SESSION_HASH)
    assert code == 2
    assert out == ""
    assert err == (
        "smtpcheck: error: panel/gateways/email/list: session hash invalid or expired "
        "(code 4): log in again (a panel session lasts 24 hours)\n"
    )


def test_api_timeout_bounds_the_run(panel):
    panel.faults.extend([slow(10)] * 10)
    code, _, err = smtpcheck(
        "fetch", "--api-url", panel.url, "--hash", SESSION_HASH, "--api-timeout", "0.2"
    )
    assert code == 2
    assert "timed out waiting for the answer of 127.0.0.1" in err
    assert len(panel.requests) <= 3  # 3 × 0.2 s allowed in all, tries and pauses together


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["validate", "--hash", "h"], "--hash needs --api-url or --region"),
        (["validate", "--login", "me"], "--login needs --api-url or --region"),
        (["fetch"], "fetch needs the panel API"),
        (["validate", "--region", "eu"], "the panel API needs a session"),
        (
            ["validate", "--region", "eu", "--api-url", "https://x.test/v2", "--hash", "h"],
            "not both",
        ),
        (["validate", "--region", "eu", "--hash", "h", "--login", "me"], "not both"),
        (["validate", "--region", "xx", "--hash", "h"], "'xx' is not one of"),
        (["validate", "--api-url", "ftp://x.test/v2", "--hash", "h"], "http(s) base URL"),
        (["validate", "--api-url", "https://[::1/v2", "--hash", "h"], "http(s) base URL"),
        (
            ["validate", "--api-url", "https://x.test/v2", "--hash", "h", "--api-timeout", "0"],
            "--api-timeout",
        ),
        (["validate"], "give at least one SOURCE"),
    ],
)
def test_option_mistakes_are_usage_errors(argv, expected):
    code, _, err = smtpcheck(*argv)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "secret"),
    [
        (["--api-url", "https://me:Url-S3cret@x.test/v2", "--hash", "h"], "Url-S3cret"),
        (["--api-url", "https://x.test/v2?hash=Qry-S3cret", "--hash", "h"], "Qry-S3cret"),
        (["--api-url", "https://x.test/v2", "--password", "Opt-S3cret"], "Opt-S3cret"),
        (["--api-url", "https://x.test/v2", "--password=Opt-S3cret"], "Opt-S3cret"),
    ],
)
def test_secrets_written_into_options_are_refused_without_echo(argv, secret):
    code, out, err = smtpcheck("fetch", *argv)
    assert code == 2
    assert "smtpcheck: error: Invalid value for" in err
    assert secret not in out + err


def test_a_hash_left_in_the_environment_does_not_call_the_api(panel, monkeypatch, tmp_path):
    monkeypatch.setenv("NAVIXY_HASH", SESSION_HASH)
    code, out, _ = smtpcheck("validate", str(gateway_file(tmp_path)), "--format", "json")
    assert code == 0
    assert [g["id"] for g in report_of(out)["gateways"]] == [50]
    assert panel.requests == []


def test_login_without_a_password_and_no_terminal(panel):
    code, _, err = smtpcheck("fetch", "--api-url", panel.url, "--login", PANEL_LOGIN)
    assert code == 2
    assert "--login needs the panel password: set NAVIXY_PASSWORD" in err
    assert panel.requests == []


def test_login_asks_for_the_password_on_a_terminal(panel, monkeypatch):
    monkeypatch.setattr(api_options, "_interactive", lambda: True)
    result = smtpcheck(
        "fetch", "--api-url", panel.url, "--login", PANEL_LOGIN, stdin=PANEL_PASSWORD + "\n"
    )
    assert result.code == 0, result.output
    assert f"Panel password for {PANEL_LOGIN}:" in result.stderr
    assert PANEL_PASSWORD not in result.output  # the prompt does not echo it
    assert json.loads(result.stdout)["own"][0]["id"] == 10
    assert panel.actions()[0] == "panel/account/auth"


def test_plain_http_beyond_loopback_is_warned_about():
    code, _, err = smtpcheck("fetch", "--api-url", "http://panel.invalid/v2", "--hash", "h")
    assert code == 2
    first, second = err.splitlines()
    assert first.startswith("smtpcheck: warning: --api-url is plain http")
    assert "cannot resolve panel.invalid" in second


def test_fetch_writes_the_list_to_stdout_passwords_redacted(panel):
    code, out, err = smtpcheck("fetch", "--api-url", panel.url, "--hash", SESSION_HASH)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["bound_gateway"] == 99
    assert data["own"][0]["params"]["mail.smtp.password"] == REDACTED
    assert data["own"][1]["params"]["mail.smtp.password"] is None  # none stays none
    assert SMTP_PASSWORD not in out
    assert out.startswith('{\n  "success": true,')  # pretty, in the order the API sent


def test_fetch_include_secrets_keeps_the_passwords(panel):
    _, out, _ = smtpcheck(
        "fetch", "--api-url", panel.url, "--hash", SESSION_HASH, "--include-secrets"
    )
    assert json.loads(out)["own"][0]["params"]["mail.smtp.password"] == SMTP_PASSWORD


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-0644-file"])
def test_fetch_output_file_is_created_private(panel, tmp_path, existing):
    target = tmp_path / "gateways.json"
    if existing:
        target.write_text("old")
        target.chmod(0o644)
    old_umask = os.umask(0)  # the mode must not depend on the umask
    try:
        code, out, err = smtpcheck(
            "fetch", "--api-url", panel.url, "--hash", SESSION_HASH, "-o", str(target),
            "--include-secrets",
        )  # fmt: skip
    finally:
        os.umask(old_umask)
    assert (code, out) == (0, "")
    assert err == f"smtpcheck: saved 3 gateways to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["own"][0]["params"]["mail.smtp.password"] == SMTP_PASSWORD
    assert [p.name for p in tmp_path.iterdir()] == ["gateways.json"]  # no temporary file left


def test_fetch_output_file_is_redacted_by_default(panel, tmp_path):
    target = tmp_path / "gateways.json"
    code, _, err = smtpcheck(
        "fetch", "--api-url", panel.url, "--hash", SESSION_HASH, "-o", str(target)
    )
    assert code == 0
    assert err.endswith("; SMTP passwords redacted\n")
    assert SMTP_PASSWORD not in target.read_text()


def test_fetch_to_an_unwritable_place(panel, tmp_path):
    target = tmp_path / "missing-dir" / "gateways.json"
    code, _, err = smtpcheck(
        "fetch", "--api-url", panel.url, "--hash", SESSION_HASH, "-o", str(target)
    )
    assert code == 2
    assert err.startswith(f"smtpcheck: error: cannot write {target}:")


def test_end_to_end_in_a_real_process(panel: PanelServer):
    done = smtpcheck_process("validate", "--api-url", panel.url, "--hash", SESSION_HASH)
    assert done.code == 1, done.stderr
    assert "SC007" in done.stdout
    assert "gateway 11" in done.stdout
    del panel.sessions[SESSION_HASH]
    failed = smtpcheck_process("validate", "--api-url", panel.url, "--hash", SESSION_HASH)
    assert failed.code == 2
    assert failed.stdout == ""
    assert failed.stderr.count("\n") == 1
    assert "session hash invalid or expired" in failed.stderr


def test_an_api_error_under_nagios_is_unknown(panel):
    del panel.sessions[SESSION_HASH]
    argv = ["validate", "--format", "nagios", "--api-url", panel.url, "--hash", SESSION_HASH]
    code, out, _ = smtpcheck(*argv)
    assert code == 3  # the check could not run: not a mail outage
    assert "session hash invalid or expired (code 4)" in out


@pytest.mark.parametrize(
    ("argv", "environment", "first_action"),
    [
        (["--login", PANEL_LOGIN], {"NAVIXY_HASH": SESSION_HASH}, "panel/account/auth"),
        (["--hash", SESSION_HASH], {"NAVIXY_LOGIN": PANEL_LOGIN}, "panel/gateways/email/list"),
    ],
    ids=["login-typed", "hash-typed"],
)
def test_the_command_line_beats_the_environment(
    panel, monkeypatch, argv, environment, first_action
):
    monkeypatch.setenv("NAVIXY_PASSWORD", PANEL_PASSWORD)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code, _, err = smtpcheck("fetch", "--api-url", panel.url, *argv)
    assert code == 0, err
    assert panel.actions()[0] == first_action


def test_hash_and_login_both_from_the_environment_clash(panel, monkeypatch):
    monkeypatch.setenv("NAVIXY_HASH", SESSION_HASH)
    monkeypatch.setenv("NAVIXY_LOGIN", PANEL_LOGIN)
    code, _, err = smtpcheck("fetch", "--api-url", panel.url)
    assert code == 2
    assert "not both" in err
    assert panel.requests == []


def test_api_options_repr_hides_the_hash():
    options = api_options.ApiOptions("https://x.test/v2", SESSION_HASH, None)
    assert SESSION_HASH not in repr(options)
    assert "https://x.test/v2" in repr(options)
