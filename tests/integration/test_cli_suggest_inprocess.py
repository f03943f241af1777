"""`discover` and `check --suggest --write-fixed` in this process, so that coverage sees them.

The servers run on a thread of their own (the commands run their own event loop); the
subprocess tests in test_cli_discover.py cover the same ground as real processes.
"""

from __future__ import annotations

import json
import stat
from typing import Any

from smtpcheck.cli.output import write_private
from smtpcheck.config.loading import document_from_data
from smtpcheck.config.params import REDACTED
from smtpcheck.pipeline.fixing import fixed_gateway, fixed_gateways
from smtpcheck.results import GatewayKind, GatewayReport, Status, Suggestion
from tests.support.cli import smtpcheck
from tests.support.gateways import gateway
from tests.support.servers import PASSWORD, USER, Smtpd

_PATCH = Suggestion({"mail.smtp.use_ssl": True}, "it works", {"mail.smtp.use_ssl": False})


def _common(certs: Any, *ports: int) -> list[str]:
    tries = [arg for port in ports for arg in ("--try-port", str(port))]
    return ["--ca-file", certs.ca_file, "--ehlo", "client.test", "--timeout", "3", *tries]


def test_discover_in_process(certs, threaded_server, monkeypatch):
    monkeypatch.setenv("SMTPCHECK_TEST_PASSWORD", PASSWORD)
    server = threaded_server(Smtpd(implicit=certs.good, auth=True))
    login = ["--user", USER, "--password-env", "SMTPCHECK_TEST_PASSWORD"]
    code, out, err = smtpcheck("discover", "localhost", *_common(certs, server.port), *login)
    assert code == 0, err
    assert f"best: port {server.port} with implicit TLS" in out
    header = out.splitlines()[2].split()
    assert header[-1] == "login" and "LOGIN accepted" in out
    assert PASSWORD not in out + err


def test_discover_in_process_json_when_nothing_works(certs, threaded_server):
    server = threaded_server(Smtpd(implicit=certs.untrusted))
    argv = ["discover", "localhost", *_common(certs, server.port), "--format", "json"]
    code, out, _ = smtpcheck(*argv)
    assert code == 1
    data = json.loads(out)
    assert data["best"] is None and data["verdict"].startswith("nothing works")
    tls = data["combinations"][0]
    assert tls["mode"] == "implicit" and tls["certificate_verified"] is False
    assert tls["problem"].startswith("certificate not verified")


def test_check_suggest_write_fixed_in_process(tmp_path, certs, threaded_server):
    server = threaded_server(Smtpd(implicit=certs.good, auth=True))
    source = tmp_path / "gw.json"
    source.write_text(json.dumps([gateway(server.port, host="localhost", mode="starttls")]))
    fixed = tmp_path / "out" / "fixed"
    argv = ["check", str(source), "--write-fixed", str(fixed), *_common(certs, server.port)]
    code, out, err = smtpcheck(*argv)
    assert code == 1
    assert "suggest  port" in out and "+ mail.smtp.use_ssl: true" in out
    assert "wrote 1 corrected gateway file to" in err
    written = json.loads((fixed / "gateway-1.json").read_text())
    assert written["params"]["mail.smtp.use_ssl"] is True
    code, out, err = smtpcheck("check", str(fixed), *_common(certs))
    assert code == 0, out


def test_check_write_fixed_cannot_create_the_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    source = tmp_path / "gw.json"
    source.write_text(json.dumps(gateway(2525, host="nowhere.invalid")))
    argv = ["check", str(source), "--write-fixed", str(blocker / "sub"), "--ehlo", "c.test"]
    code, _, err = smtpcheck(*argv)
    assert code == 2 and "cannot create" in err and "Traceback" not in err


def test_fixed_gateway_from_the_panel_is_redacted_and_escaped():
    params = {"mail.smtp.password": "hunter2", "mail.smtp.user": "${X}"}
    data = fixed_gateway({"id": 1, "params": params}, _PATCH, from_api=True)
    assert data["params"] == {
        "mail.smtp.password": REDACTED,
        "mail.smtp.user": "$${X}",
        "mail.smtp.use_ssl": True,
    }
    assert params["mail.smtp.password"] == "hunter2"  # the source is not changed


def test_fixed_gateway_from_a_file_keeps_references_and_order():
    params = {"mail.smtp.password": "${PW}", "mail.smtp.use_ssl": False, "mail.debug": False}
    data = fixed_gateway({"id": 1, "params": params}, _PATCH, from_api=False)
    assert list(data["params"].items()) == [
        ("mail.smtp.password", "${PW}"),
        ("mail.smtp.use_ssl", True),
        ("mail.debug", False),
    ]


def test_write_fixed_files_names_every_gateway_once(tmp_path):
    items = [
        {"id": 7, "params": {"mail.smtp.host": "a"}},
        {"id": 7, "params": {"mail.smtp.host": "b"}},  # SC005: both written
        {"params": {"mail.smtp.host": "c"}},  # no id: named by its place
    ]
    document = document_from_data(items, source="dir/my gateways.json", environ={})
    entries = document.gateways
    reports = [_report_with(_PATCH) for _ in entries]
    fixed = fixed_gateways(entries, reports, api_source=None)
    paths = [tmp_path / one.name for one in fixed]
    for path, one in zip(paths, fixed, strict=True):
        write_private(path, one.text)
    assert [p.name for p in paths] == [
        "gateway-7.json",
        "gateway-7-2.json",
        "gateway-my-gateways-2.json",
    ]
    assert [json.loads(p.read_text())["params"]["mail.smtp.host"] for p in paths] == list("abc")
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)


def _report_with(suggestion: Suggestion | None) -> GatewayReport:
    return GatewayReport(1, None, GatewayKind.OWN, "s", Status.FAILED, None, (), None, suggestion)


def test_write_fixed_files_skips_gateways_without_a_suggestion(tmp_path):
    document = document_from_data([{"id": 1, "params": {}}], source="gw.json", environ={})
    reports = [_report_with(None)]
    assert fixed_gateways(document.gateways, reports, api_source=None) == []


def test_discover_help_shows_the_discovery_timeout_default():
    from smtpcheck.defaults import DISCOVER_TIMEOUT

    result = smtpcheck("discover", "--help")
    assert result.code == 0
    assert f"[default: {DISCOVER_TIMEOUT}]" in " ".join(result.stdout.split())
