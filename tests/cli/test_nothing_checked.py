"""A run that checked nothing must not pass: SC011 (issue 11, item 7).

`check` fails when not one gateway was probed, and says why; `validate` fails only for a
source that holds no gateway at all, and passes a list of leasable gateways, whose shape it
did check.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.rules.base import EXAMPLE_GATEWAY
from tests.support.cli import Run, smtpcheck

__all__: list[str] = []

_LEASABLE = {"id": 6, "label": "Platform gate", "provider": "mandrill_smtp"}


def _own(gw_id: int, **changes: Any) -> dict[str, Any]:
    gateway = copy.deepcopy(EXAMPLE_GATEWAY)
    params = gateway.pop("params")
    assert isinstance(params, dict)
    params = {**params, **changes.pop("params", {})}
    return {**gateway, "id": gw_id, **changes, "params": params}


def _file(tmp_path: Path, data: object, name: str = "gateways.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _check(*args: str) -> Run:
    return smtpcheck("check", "--ehlo", "client.test", "--timeout", "2", *args)


def _refusing_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sc011(run: Run) -> str:
    lines = [line for line in run.stdout.splitlines() if re.search(r" SC011  \S", line)]
    assert len(lines) == 1, run.stdout
    return lines[0]


def test_check_of_leasable_gateways_only_fails_and_says_why(tmp_path):
    run = _check(_file(tmp_path, [_LEASABLE]))
    assert run.code == 1, run
    assert "nothing was checked: the run's only gateway was not probed: 1 leasable" in _sc011(run)


def test_check_counts_each_reason_nothing_was_probed(tmp_path):
    fleet = [
        _LEASABLE,
        _own(7, provider="SMTP"),  # a near miss: SC006 says did you mean "smtp"
        _own(8, provider="sendgrid"),
        {"id": 9, "label": "Broken", "params": {"mail.smtp.port": [587]}},  # SC002
    ]
    line = _sc011(_check(_file(tmp_path, fleet)))
    assert "none of the run's 4 gateways was probed" in line
    for reason in ("1 leasable", "1 invalid (SC002)", "2 of provider 'SMTP', 'sendgrid' (SC006)"):
        assert reason in line, reason


def test_check_with_only_unprobeable_gateways_fails_where_it_used_to_pass(tmp_path):
    # Under session.getTransport() an smtps gateway reads only mail.smtps.*: it cannot be
    # probed as its params say (SC508), and its own finding (SC207) is only a warning.
    implicit = {"mail.smtp.port": 465, "mail.smtp.ssl.port": 465, "mail.smtp.use_ssl": True}
    no_starttls = {"mail.smtp.starttls.enable": False, "mail.smtp.starttls.required": False}
    params = {"mail.transport.protocol": "smtps", **implicit, **no_starttls}
    gateway = _own(7, params=params)
    path = _file(tmp_path, gateway)
    run = _check("--transport", "session", path)
    assert run.code == 1, run
    assert "1 not probe-able as configured (SC508 says why)" in _sc011(run)
    passed = _check("--transport", "session", "--ignore", "SC011", path)
    assert passed.code == 0, passed  # without SC011 nothing fails it: the false green
    assert "SC207" in passed.stdout and "SC508" in passed.stdout


def test_check_that_keeps_only_a_leasable_gateway_with_gateway_fails(tmp_path):
    path = _file(tmp_path, [_LEASABLE, _own(7, params={"mail.smtp.port": _refusing_port()})])
    run = _check("--gateway", "6", path)
    assert run.code == 1 and "SC011" in run.stdout, run


def test_check_that_probed_a_gateway_has_no_sc011(tmp_path):
    port = _refusing_port()
    params = {"mail.smtp.host": "127.0.0.1", "mail.smtp.port": port, "mail.smtp.ssl.port": port}
    run = _check(_file(tmp_path, [_LEASABLE, _own(7, params=params)]))
    assert "SC502" in run.stdout, run  # probed: the connection was refused
    assert "SC011" not in run.stdout


def test_check_ignore_sc011_lets_a_run_with_nothing_to_probe_pass(tmp_path):
    assert _check("--ignore", "SC011", _file(tmp_path, [_LEASABLE])).code == 0


def test_validate_passes_leasable_gateways_it_checked(tmp_path):
    run = smtpcheck("validate", _file(tmp_path, [_LEASABLE]))
    assert run.code == 0 and "SC011" not in run.stdout, run


@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_source_that_holds_no_gateway_fails(tmp_path, command):
    path = _file(tmp_path, {"success": True, "bound_gateway": None, "own": [], "leasable": []})
    run = smtpcheck(command, path) if command == "validate" else _check(path)
    assert run.code == 1, run
    assert f"nothing was checked: {path} holds no gateway" in _sc011(run)


def test_nagios_still_reads_a_check_of_nothing_as_unknown(tmp_path):
    run = _check("--format", "nagios", _file(tmp_path, [_LEASABLE]))
    assert run.code == 3, run
    assert run.stdout.startswith("SMTPCHECK UNKNOWN - "), run
