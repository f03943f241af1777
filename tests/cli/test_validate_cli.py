"""`smtpcheck validate` from the outside: exit codes, options, output files, colour."""

from __future__ import annotations

import copy
import json
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from smtpcheck.cli import cli
from smtpcheck.cli.output import use_color
from smtpcheck.defaults import FORMATS
from smtpcheck.reporters import REPORTERS
from smtpcheck.rules.base import EXAMPLE_GATEWAY
from tests.support.cli import Run, environment, smtpcheck, smtpcheck_process


def _gateway(gw_id: int = 7, /, **params: Any) -> dict[str, Any]:
    gateway = copy.deepcopy(EXAMPLE_GATEWAY)
    example_params = gateway["params"]
    assert isinstance(example_params, dict)
    return {**gateway, "id": gw_id, "params": {**example_params, **params}}


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    files: dict[str, Any] = {
        "good.json": _gateway(),
        # STARTTLS enabled but not required: SC203, a warning.
        "warn.json": _gateway(**{"mail.smtp.starttls.required": False}),
        # use_ssl on 587 (SC104) together with STARTTLS (SC201): errors.
        "bad.json": _gateway(**{"mail.smtp.use_ssl": True}),
        "two.json": [_gateway(7), _gateway(8, **{"mail.smtp.starttls.required": False})],
        "leasable.json": {"id": 3, "label": "Default", "provider": "mandrill_smtp"},
    }
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"id": 7,,}', encoding="utf-8")
    return tmp_path


def _one_line_error(run: Run) -> str:
    assert run.code == 2, run
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("name", "extra", "code"),
    [
        ("good.json", [], 0),
        ("warn.json", [], 0),
        ("warn.json", ["--fail-on", "warning"], 1),
        ("good.json", ["--fail-on", "warning"], 0),
        ("bad.json", [], 1),
        ("broken.json", [], 1),  # SC001 is a finding, not an abort
    ],
)
def test_validate_exit_codes(configs, name, extra, code):
    run = smtpcheck("validate", *extra, str(configs / name))
    assert run.code == code, run
    assert run.stderr == ""


def test_validate_broken_json_says_where(configs):
    run = smtpcheck("validate", str(configs / "broken.json"))
    assert "SC001" in run.stdout and "broken.json:1:10: not valid JSON" in run.stdout


def test_validate_missing_path_is_one_line_and_exit_2(configs):
    line = _one_line_error(smtpcheck("validate", str(configs / "nope.json")))
    assert line == f"smtpcheck: error: {configs / 'nope.json'}: no such file or directory"


def test_validate_without_sources_is_a_usage_error():
    run = smtpcheck("validate")
    assert run.code == 2 and "SOURCE" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "present", "absent"),
    [
        (["--ignore", "SC203"], [], ["SC203"]),
        (["--ignore", "SC2"], [], ["SC203"]),  # a prefix
        (["--ignore", "opportunistic-starttls"], [], ["SC203"]),  # a slug
        (["--select", "SC1,SC2"], ["SC203"], []),
        (["--select", "SC1", "--select", "SC3"], [], ["SC203"]),
    ],
)
def test_validate_select_and_ignore(configs, args, present, absent):
    run = smtpcheck("validate", *args, str(configs / "warn.json"))
    assert run.code == 0, run
    for code in present:
        assert code in run.stdout
    for code in absent:
        assert code not in run.stdout


def test_validate_ignore_a_comma_list_turns_failure_into_success(configs):
    assert smtpcheck("validate", str(configs / "bad.json")).code == 1
    run = smtpcheck("validate", "--ignore", "SC104,SC201", str(configs / "bad.json"))
    assert run.code == 0, run.stdout


def test_validate_select_keeps_only_those_rules(configs):
    run = smtpcheck("validate", "--select", "SC104", "--format", "json", str(configs / "bad.json"))
    codes = [f["code"] for f in json.loads(run.stdout)["gateways"][0]["findings"]]
    assert codes == ["SC104"]


@pytest.mark.parametrize("selector", ["SC999", "no-such-rule", "SC1,bogus"])
def test_validate_unknown_selector_is_one_line_and_exit_2(configs, selector):
    line = _one_line_error(smtpcheck("validate", "--select", selector, str(configs / "good.json")))
    assert "names no rule" in line


def test_validate_gateway_option_filters(configs):
    run = smtpcheck("validate", "--gateway", "8", "--format", "json", str(configs / "two.json"))
    assert [g["id"] for g in json.loads(run.stdout)["gateways"]] == [8]
    both = smtpcheck("validate", "--gateway", "8", "--gateway", "7", str(configs / "two.json"))
    assert "gateway 7" in both.stdout and "gateway 8" in both.stdout


def test_validate_unknown_gateway_id_is_exit_2(configs):
    line = _one_line_error(smtpcheck("validate", "--gateway", "99", str(configs / "two.json")))
    assert "--gateway 99" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_validate_output_file_holds_what_stdout_would(configs, tmp_path, fmt):
    target = tmp_path / f"report.{fmt}"
    to_file = smtpcheck("validate", "--format", fmt, "-o", str(target), str(configs / "two.json"))
    to_stdout = smtpcheck("validate", "--format", fmt, str(configs / "two.json"))
    assert to_file.stdout == "" and to_file.code == to_stdout.code
    assert target.read_text(encoding="utf-8") == to_stdout.stdout != ""


def test_validate_output_into_a_missing_directory_is_exit_2(configs, tmp_path):
    run = smtpcheck("validate", "-o", str(tmp_path / "no" / "r.txt"), str(configs / "good.json"))
    assert run.code == 2 and "Traceback" not in run.stderr


def test_report_formats_match_the_reporters():
    assert set(FORMATS) == set(REPORTERS)


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("json", lambda text: json.loads(text)["schema"] == 2),
        ("junit", lambda text: ET.fromstring(text).tag == "testsuites"),
        ("nagios", lambda text: text.startswith("SMTPCHECK WARNING - 2 gateways")),
        ("prometheus", lambda text: text.startswith("# HELP smtpcheck_")),
        ("text", lambda text: "gateway 8 'Dealer mail'" in text),
    ],
)
def test_validate_every_format_renders(configs, fmt, check):
    run = smtpcheck("validate", "--format", fmt, str(configs / "two.json"))
    assert check(run.stdout), run.stdout


@pytest.mark.parametrize(
    ("name", "extra", "code"),
    [
        ("good.json", [], 0),
        ("warn.json", [], 1),
        ("warn.json", ["--fail-on", "warning"], 2),
        ("bad.json", [], 2),
        ("leasable.json", [], 3),  # nothing to check
        ("nope.json", [], 3),  # the run could not happen
    ],
)
def test_validate_nagios_exit_codes(configs, name, extra, code):
    run = smtpcheck("validate", "--format", "nagios", *extra, str(configs / name))
    assert run.code == code, run
    state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code]
    assert run.stdout.startswith(f"SMTPCHECK {state} - "), run.stdout


def test_validate_nagios_unknown_selector_is_unknown(configs):
    run = smtpcheck(
        "validate", "--format", "nagios", "--select", "bogus", str(configs / "good.json")
    )
    assert run.code == 3 and run.stdout.startswith("SMTPCHECK UNKNOWN - 'bogus' names no rule")


def test_validate_reads_stdin(configs):
    data = (configs / "bad.json").read_text(encoding="utf-8")
    run = smtpcheck("validate", "-", stdin=data)
    assert run.code == 1 and "<stdin>" in run.stdout


def test_validate_verbose_expands_healthy_gateways(configs):
    (configs / "odd.json").write_text(json.dumps(_gateway(**{"mail.smtp.port": 2626})))
    quiet = smtpcheck("validate", str(configs / "odd.json"))
    verbose = smtpcheck("validate", "-v", str(configs / "odd.json"))
    assert "info SC107" in quiet.stdout and "info     SC107" not in quiet.stdout
    assert "info     SC107" in verbose.stdout


def test_validate_through_clirunner_invoke(configs):
    result = CliRunner().invoke(cli, ["validate", str(configs / "bad.json")])
    assert result.exit_code == 1 and "FAIL  gateway 7" in result.output


# Colour: only for text, to a terminal, unless --no-color or NO_COLOR says otherwise.


@pytest.mark.parametrize(
    ("fmt", "output", "no_color", "env", "tty", "expected"),
    [
        ("text", None, False, {}, True, True),
        ("text", None, False, {}, False, False),
        ("text", None, True, {}, True, False),
        ("text", None, False, {"NO_COLOR": "1"}, True, False),
        ("text", None, False, {"NO_COLOR": ""}, True, True),  # no-color.org: empty is unset
        ("text", Path("r.txt"), False, {}, True, False),
        ("json", None, False, {}, True, False),
    ],
)
def test_use_color(monkeypatch, fmt, output, no_color, env, tty, expected):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    assert use_color(fmt, output, no_color) is expected


def _run_on_a_terminal(*argv: str, env: Mapping[str, str] | None = None) -> str:
    primary, secondary = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "smtpcheck", *argv],
            stdout=secondary,
            stderr=subprocess.DEVNULL,
            env=environment(env),
            check=False,
            timeout=60,
        )
    finally:
        os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return b"".join(chunks).decode()


def test_validate_colours_a_terminal_only(configs):
    assert "\x1b[" in _run_on_a_terminal("validate", str(configs / "bad.json"))
    assert "\x1b[" not in _run_on_a_terminal("validate", "--no-color", str(configs / "bad.json"))
    no_color = _run_on_a_terminal("validate", str(configs / "bad.json"), env={"NO_COLOR": "1"})
    assert "FAIL" in no_color and "\x1b[" not in no_color
    piped = smtpcheck_process("validate", str(configs / "bad.json"))
    assert "FAIL" in piped.stdout and "\x1b[" not in piped.stdout


# The same, through `python -m smtpcheck`.


@pytest.mark.parametrize(("name", "code"), [("good.json", 0), ("bad.json", 1), ("nope.json", 2)])
def test_python_m_smtpcheck_exit_codes(configs, name, code):
    run = smtpcheck_process("validate", str(configs / name))
    assert run.code == code, run
    assert "Traceback" not in run.stderr
    if code == 2:
        assert run.stderr.count("\n") == 1 and run.stdout == ""


def test_python_m_smtpcheck_unknown_option_is_exit_2(configs):
    run = smtpcheck_process("validate", "--format", "yaml", str(configs / "good.json"))
    assert run.code == 2 and "Traceback" not in run.stderr and "yaml" in run.stderr
