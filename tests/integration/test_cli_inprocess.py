"""`smtpcheck check` in this process (the subprocess tests cannot be measured for coverage).

The command runs its own event loop, so the server runs in a loop of its own on another thread.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from smtpcheck.cli import probe_options
from tests.support.cli import smtpcheck
from tests.support.gateways import gateway


def _file(tmp_path: Path, gateways: list[dict[str, Any]]) -> str:
    path = tmp_path / "gateways.json"
    path.write_text(json.dumps(gateways))
    return str(path)


def test_check_in_process_passes_a_good_gateway(tmp_path, certs, threaded_smtpd):
    config = _file(tmp_path, [gateway(threaded_smtpd.port, host="localhost")])
    argv = ["check", config, "--format", "json", "--ca-file", certs.ca_file, "--ehlo", "c.test"]
    code, out, err = smtpcheck(*argv)
    assert code == 0, err
    assert json.loads(out)["gateways"][0]["probe"]["ok"] is True


def test_check_in_process_reports_dns_failure(tmp_path):
    config = _file(tmp_path, [gateway(587, host="nowhere.invalid")])
    code, out, _ = smtpcheck("check", config, "--ehlo", "c.test", "--timeout", "2")
    assert code == 1
    assert "SC501" in out


def test_check_in_process_unknown_gateway_id_is_exit_2(tmp_path):
    config = _file(tmp_path, [gateway(587, host="nowhere.invalid")])
    code, out, err = smtpcheck("check", config, "--ehlo", "c.test", "--gateway", "99")
    assert code == 2
    assert "--gateway 99" in err and out == ""


def test_check_in_process_bad_ca_file_is_one_line(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    config = _file(tmp_path, [gateway(587)])
    code, _, err = smtpcheck("check", config, "--ca-file", str(bogus), "--ehlo", "c.test")
    assert code == 2
    assert err.count("\n") == 1 and "--ca-file" in err


def test_machine_name_is_looked_up_once_and_sanitised(monkeypatch):
    calls: list[int] = []

    def fqdn() -> str:
        calls.append(1)
        return "not a host name"

    monkeypatch.setattr(socket, "getfqdn", fqdn)
    assert probe_options.machine_name(None) == "localhost"
    assert probe_options.machine_name("given.test") == "given.test"
    assert len(calls) == 1
