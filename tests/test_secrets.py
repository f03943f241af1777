"""Secrets never reach any output: stdout, stderr or a file the command writes (DESIGN §7).

Every config below holds an SMTP password, and every run has a panel API hash and password in its
environment. Each command runs in every format, to stdout and to ``-o FILE``, plain and ``-v``,
and everything it produced is searched for the secret values.

To cover a new command, add its argument lists to `COMMANDS` (``{config}`` stands for the config
file, ``{output}`` for a file in the run's own directory); `run_cli` returns every output of one
run and works for any command.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.defaults import FORMATS
from smtpcheck.rules.base import EXAMPLE_GATEWAY
from tests.support.cli import smtpcheck, smtpcheck_process

# Letters and digits only: no format escapes them, so a leak is found in any rendering.
SMTP_PASSWORD = "SmtpPw7Qx4Zr9Lk2"
API_HASH = "ApiHash3Vt8Wm1Pd6"
PANEL_PASSWORD = "PanelPw5Hs0Jy2Nc"
SECRETS = (SMTP_PASSWORD, API_HASH, PANEL_PASSWORD)

ENVIRONMENT = {
    "NAVIXY_HASH": API_HASH,
    "NAVIXY_PASSWORD": PANEL_PASSWORD,
    "SMTPCHECK_TEST_PASSWORD": SMTP_PASSWORD,
}


@dataclass(frozen=True)
class Outputs:
    """Everything one command run produced."""

    exit_code: int
    stdout: str
    stderr: str
    files: dict[str, bytes] = field(default_factory=dict)  # every file left in its directory

    def leaks(self, secrets: Sequence[str]) -> list[str]:
        """Name each place that holds one of the secrets."""
        places = {"stdout": self.stdout.encode(), "stderr": self.stderr.encode(), **self.files}
        return [
            f"{secret!r} in {place}"
            for place, data in places.items()
            for secret in secrets
            if secret.encode() in data
        ]


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes = b"",
    in_process: bool = True,
) -> Outputs:
    """Run ``smtpcheck ARGS`` in the empty directory ``cwd``; return all it wrote there too.

    In-process runs go through the console script's `main` (fast); ``in_process=False`` starts
    ``python -m smtpcheck`` instead, which also catches anything written below Python's streams.
    """
    assert not any(cwd.iterdir()), "run_cli needs an empty directory to see what was written"
    run = smtpcheck if in_process else smtpcheck_process
    code, out, err = run(*args, env=env, stdin=stdin, cwd=cwd)
    files = {str(p.relative_to(cwd)): p.read_bytes() for p in cwd.rglob("*") if p.is_file()}
    return Outputs(code, out, err, files)


def _gateway(gw_id: int = 7, /, **params: Any) -> dict[str, Any]:
    gateway = copy.deepcopy(EXAMPLE_GATEWAY)
    example_params = gateway["params"]
    assert isinstance(example_params, dict)
    merged = {**example_params, "mail.smtp.password": SMTP_PASSWORD, **params}
    return {**gateway, "id": gw_id, "params": merged}


#: Configs holding the SMTP password, valid and not: name -> file text.
CONFIGS: dict[str, str] = {
    "valid": json.dumps(_gateway()),
    "from-environment": json.dumps(
        _gateway(**{"mail.smtp.password": "${SMTPCHECK_TEST_PASSWORD}"})
    ),
    # SC002: a bad field right next to the password, and a password of the wrong type.
    "invalid-gateway": json.dumps(
        [
            _gateway(1, **{"mail.smtp.port": 587.5}),
            _gateway(2, **{"mail.smtp.password": [SMTP_PASSWORD]}),
            _gateway(3, **{"mail.smtp.password": {"value": SMTP_PASSWORD}}),
        ]
    ),
    # SC004: string values are quoted back in messages; the password must not be.
    "string-values": json.dumps(
        _gateway(**{"mail.smtp.port": "587", "mail.smtp.auth": "yes", "mail.smtp.timeout": "x"})
    ),
    # SC008: an unset variable beside a set password.
    "unset-variable": json.dumps(_gateway(**{"mail.smtp.user": "${SMTPCHECK_UNSET_VARIABLE}"})),
    # SC003: the password under a misspelt key is still the password.
    "misspelt-key": json.dumps(_gateway(**{"mail.smtp.pasword": SMTP_PASSWORD})),
    # SC001: the JSON breaks right after the password.
    "broken-json": '{"id": 7, "params": {"mail.smtp.password": "' + SMTP_PASSWORD + '",,}}',
    "list-response": json.dumps(
        {
            "success": True,
            "bound_gateway": 9,
            "own": [_gateway(1), _gateway(1, **{"mail.smtp.use_ssl": "true"})],
            "leasable": [{"id": 2, "label": "Default", "provider": "mandrill_smtp"}],
        }
    ),
}

#: Each command line to run, per format; extend with `check`, `fetch` as they come.
COMMANDS: list[list[str]] = [
    ["validate", "--format", fmt, *extra, "{config}"]
    for fmt in FORMATS
    for extra in ([], ["-v"], ["-o", "{output}"], ["-v", "-o", "{output}"])
]
# The configs name smtp.example.com, which the test guard does not resolve: every probe and every
# discovery ends at DNS, the failure paths with the password in hand. Real servers, and the
# corrected files --write-fixed writes, are in tests/integration/test_cli_discover.py.
COMMANDS += [
    ["check", "--suggest", "--ehlo", "client.test", "--try-port", "2525", *extra, "{config}"]
    for extra in (["-v"], ["-v", "--format", "json", "-o", "{output}"])
]
COMMANDS += [
    ["discover", "smtp.example.com", "--ehlo", "client.test", "--try-port", "2525", *extra]
    for extra in (
        ["--user", "alerts@example.com", "--password-env", "SMTPCHECK_TEST_PASSWORD"],
        ["--format", "json", "-o", "{output}", "--user", "u", "--password-env", "NAVIXY_HASH"],
    )
]


def _expand(args: Sequence[str], config: Path, output: str) -> list[str]:
    return [a.replace("{config}", str(config)).replace("{output}", output) for a in args]


@pytest.fixture
def workdirs(tmp_path: Path) -> tuple[Path, Path]:
    inputs, run_dir = tmp_path / "in", tmp_path / "run"
    inputs.mkdir()
    run_dir.mkdir()
    return inputs, run_dir


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("config_name", CONFIGS)
def test_no_secret_in_any_output(workdirs, config_name, command):
    inputs, run_dir = workdirs
    config = inputs / f"{config_name}.json"
    config.write_text(CONFIGS[config_name], encoding="utf-8")
    outputs = run_cli(_expand(command, config, "report.out"), cwd=run_dir, env=ENVIRONMENT)
    # The run really happened and said something, or this test could pass by saying nothing.
    finished = (0, 1, 2) if "nagios" in command else (0, 1)  # nagios: 2 is CRITICAL
    assert outputs.exit_code in finished, outputs
    assert outputs.files if "{output}" in command else outputs.stdout
    assert outputs.leaks(SECRETS) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_output_of_a_fresh_interpreter(workdirs, fmt):
    inputs, run_dir = workdirs
    for name, text in CONFIGS.items():
        (inputs / f"{name}.json").write_text(text, encoding="utf-8")
    args = ["validate", "--format", fmt, "-v", str(inputs)]  # every config in one run
    outputs = run_cli(args, cwd=run_dir, env=ENVIRONMENT, in_process=False)
    assert outputs.exit_code == (2 if fmt == "nagios" else 1) and outputs.stdout, outputs
    assert outputs.leaks(SECRETS) == []


def test_no_secret_from_standard_input(workdirs):
    _, run_dir = workdirs
    stdin = CONFIGS["invalid-gateway"].encode()
    outputs = run_cli(["validate", "-v", "-"], cwd=run_dir, env=ENVIRONMENT, stdin=stdin)
    assert outputs.exit_code == 1 and "SC002" in outputs.stdout
    assert outputs.leaks(SECRETS) == []


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{config}/missing.json"],
        ["validate", "--select", "bogus", "{config}"],
        ["validate", "--format", "nagios", "--gateway", "99", "{config}"],
        ["validate", "--format", "yaml", "{config}"],
    ],
    ids=" ".join,
)
def test_no_secret_when_the_run_cannot_happen(workdirs, args):
    inputs, run_dir = workdirs
    config = inputs / "valid.json"
    config.write_text(CONFIGS["valid"], encoding="utf-8")
    outputs = run_cli(_expand(args, config, "report.out"), cwd=run_dir, env=ENVIRONMENT)
    assert outputs.exit_code in (2, 3) and (outputs.stderr or outputs.stdout), outputs
    assert outputs.leaks(SECRETS) == []


def test_leak_detector_finds_a_leak():
    # The checks above must be able to fail.
    leaky = Outputs(0, CONFIGS["valid"], "", {"f": API_HASH.encode()})
    assert leaky.leaks(SECRETS) == [f"{SMTP_PASSWORD!r} in stdout", f"{API_HASH!r} in f"]


# The panel API source: `validate` in every format and `fetch`, by session hash and by login,
# against the local panel of tests/platform. It serves CONFIGS["list-response"] (SMTP passwords
# included) and accepts the hash and the password of ENVIRONMENT.
API_COMMANDS: list[list[str]] = [
    *(["validate", "--format", fmt, "--api-url", "{api}"] for fmt in FORMATS),
    ["validate", "-v", "--format", "json", "-o", "{output}", "--api-url", "{api}"],
    ["fetch", "--api-url", "{api}"],
    ["fetch", "-o", "{output}", "--api-url", "{api}"],
]


@pytest.fixture
def api_panel():
    from tests.support.panel import READ, PanelServer

    listing = json.loads(CONFIGS["list-response"])
    del listing["success"]
    server = PanelServer(gateways=listing)
    server.sessions[API_HASH] = READ
    server.add_account("dealer", PANEL_PASSWORD)
    with server.running():
        yield server


def _api_environment(by_login: bool) -> dict[str, str]:
    if not by_login:
        return ENVIRONMENT
    return {
        **{k: v for k, v in ENVIRONMENT.items() if k != "NAVIXY_HASH"},
        "NAVIXY_LOGIN": "dealer",
    }


def _opened_sessions(panel: Any) -> list[str]:
    return [json.loads(r.body)["hash"] for r in panel.requests if r.action.endswith("email/list")]


@pytest.mark.parametrize("by_login", [False, True], ids=["hash", "login"])
@pytest.mark.parametrize("command", API_COMMANDS, ids=" ".join)
def test_no_secret_in_any_output_of_the_panel_api(workdirs, api_panel, command, by_login):
    _, run_dir = workdirs
    args = [a.replace("{api}", api_panel.url) for a in _expand(command, run_dir, "out.json")]
    outputs = run_cli(args, cwd=run_dir, env=_api_environment(by_login))
    finished = (0, 1, 2) if "nagios" in command else (0, 1)  # nagios: 2 is CRITICAL
    assert outputs.exit_code in finished, outputs
    assert outputs.files if "{output}" in command else outputs.stdout
    assert len(_opened_sessions(api_panel)) == 1  # the list really came from the panel
    assert outputs.leaks([*SECRETS, *_opened_sessions(api_panel)]) == []


@pytest.mark.parametrize("by_login", [False, True], ids=["hash", "login"])
def test_no_secret_when_the_panel_api_echoes_it_in_an_error(workdirs, api_panel, by_login):
    from tests.support.panel import panel_error

    _, run_dir = workdirs
    echo = PANEL_PASSWORD if by_login else API_HASH
    api_panel.faults.append(panel_error(7, echo, errors=[{"parameter": "x", "error": echo}]))
    outputs = run_cli(
        ["validate", "--api-url", api_panel.url], cwd=run_dir, env=_api_environment(by_login)
    )
    assert outputs.exit_code == 2 and "(code 7)" in outputs.stderr, outputs
    assert outputs.leaks(SECRETS) == []
