"""`smtpcheck check` end to end: a real process against servers running in the test's loop.

The servers live in this event loop, so the command runs as an asyncio subprocess and the loop
keeps serving while it waits.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.defaults import FORMATS
from tests.support.cli import LIST_MODULES, smtpcheck_async
from tests.support.gateways import gateway
from tests.support.report_schema import parse_report
from tests.support.servers import PASSWORD, USER, RawServer, Recorder, Smtpd, scripted

_RUN_TIMEOUT = 60


async def _smtpcheck(*args: str) -> tuple[int, str, str]:
    return await smtpcheck_async(*args)


def _write(tmp_path: Path, gateways: list[dict[str, Any]]) -> str:
    path = tmp_path / "gateways.json"
    path.write_text(json.dumps(gateways))
    return str(path)


async def _check_json(tmp_path, certs, gateways, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = await _smtpcheck(
        "check",
        _write(tmp_path, gateways),
        "--format",
        "json",
        "--ca-file",
        certs.ca_file,
        "--ehlo",
        "client.test",
        "--timeout",
        "5",
        *extra,
    )
    assert "Traceback" not in err, err
    return code, parse_report(out)


def _live(gateway_data: dict[str, Any]) -> set[str]:
    return {f["code"] for f in gateway_data["findings"] if f["code"][2] in "567"}


async def test_cli_fleet_with_one_broken_gateway(tmp_path, smtp_server, certs):
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    broken = await smtp_server(RawServer(scripted(b"554 5.7.1 not you\r\n")))
    gateways = [
        gateway(starttls.port, gid=11, host="localhost"),
        gateway(broken.port, gid=7, host="localhost"),
        gateway(implicit.port, gid=3, host="localhost", mode="implicit"),
    ]
    code, report = await _check_json(tmp_path, certs, gateways)
    assert code == 1
    assert [g["id"] for g in report["gateways"]] == [11, 7, 3]
    assert [g["status"] for g in report["gateways"]] == ["ok", "failed", "ok"]
    assert _live(report["gateways"][1]) == {"SC505"}
    first = report["gateways"][0]["probe"]
    assert first["tls"]["verified"] is True and first["tls"]["cert"]["days_left"] > 0
    assert [s["name"] for s in first["steps"]][-2:] == ["auth", "quit"]
    assert report["summary"] == {
        "gateways": 3,
        "ok": 2,
        "warning": 0,
        "failed": 1,
        "skipped": 0,
        "error": 0,
    }


async def test_cli_all_passing_exits_zero(tmp_path, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    code, report = await _check_json(tmp_path, certs, [gateway(server.port, host="localhost")])
    assert code == 0, report
    assert report["gateways"][0]["status"] == "ok"


async def test_cli_probes_identical_gateways_once(tmp_path, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    twins = [gateway(server.port, gid=gid, host="localhost") for gid in (1, 2)]
    code, report = await _check_json(tmp_path, certs, twins)
    assert code == 0
    assert server.counter.accepted == 1
    assert [g["probe"]["ok"] for g in report["gateways"]] == [True, True]


async def test_cli_per_host_limit(tmp_path, smtp_server, certs):
    server = await smtp_server(RawServer(scripted(delay=0.2)))
    fleet = [
        gateway(
            server.port,
            gid=gid,
            host="localhost",
            mode="none",
            auth=False,
            params={"mail.smtp.user": f"user{gid}"},
        )
        for gid in range(4)
    ]
    code, _ = await _check_json(tmp_path, certs, fleet, "--per-host", "1")
    assert code == 0
    assert (server.counter.accepted, server.counter.peak) == (4, 1)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_cli_never_shows_the_password(tmp_path, smtp_server, certs, fmt):
    login_only = await smtp_server(
        Smtpd(tls_context=certs.good, auth=True, exclude_mechanisms=("PLAIN",))
    )
    plain = await smtp_server(Smtpd(tls_context=certs.good, auth=True, handler=Recorder()))
    gateways = [
        gateway(login_only.port, gid=1, host="localhost"),
        gateway(plain.port, gid=2, host="localhost", password=PASSWORD + "x"),  # refused
        gateway(plain.port, gid=3, host="localhost", mode="none"),  # AUTH not offered
    ]
    output = tmp_path / f"report.{fmt}"
    code, out, err = await _smtpcheck(
        "check",
        _write(tmp_path, gateways),
        "-v",
        "--format",
        fmt,
        "-o",
        str(output),
        "--ca-file",
        certs.ca_file,
        "--ehlo",
        "client.test",
        "--send-to",
        "ops@dealer.test",
    )
    text = out + err + output.read_text()
    assert code == (2 if fmt == "nagios" else 1), err  # nagios: 2 is CRITICAL
    assert "SC702" in text or fmt == "prometheus"
    secrets = {
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
    }
    assert [s for s in secrets if s in text] == []


async def test_cli_verbose_json_carries_the_masked_transcript(tmp_path, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    _, report = await _check_json(tmp_path, certs, [gateway(server.port, host="localhost")], "-v")
    transcript = report["gateways"][0]["probe"]["transcript"]
    assert "C: EHLO client.test" in transcript
    # LOGIN, as JavaMail picks it: the user name, then the password, each on its own line.
    assert "C: AUTH LOGIN ********" in transcript
    assert "C: ********" in transcript


async def test_cli_send_to_sends_one_message(tmp_path, smtp_server, certs):
    handler = Recorder()
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True, handler=handler))
    code, _ = await _check_json(
        tmp_path, certs, [gateway(server.port, host="localhost")], "--send-to", "ops@dealer.test"
    )
    assert code == 0
    assert [m.rcpt_tos for m in handler.messages] == [["ops@dealer.test"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
        (["--timeout", "0"], "--timeout"),
        (["--ehlo", "two words"], "EHLO"),
        (["--send-to", "not-an-address"], "--send-to"),
        (["--concurrency", "0"], "--concurrency"),
    ],
)
async def test_cli_bad_options_exit_2_with_one_line(tmp_path, args, message):
    code, out, err = await _smtpcheck("check", _write(tmp_path, [gateway(25)]), *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert out == ""


async def test_cli_without_sources_is_a_usage_error():
    code, _, err = await _smtpcheck("check")
    assert code == 2 and "SOURCE" in err


async def test_check_imports_only_what_the_run_needs(tmp_path, smtp_server, certs):
    # A check without --suggest loads no discovery code, and a certificate that verified is
    # read from the ssl module's own decoding: cryptography stays unloaded.
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    listing = tmp_path / "modules.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LIST_MODULES,
        str(listing),
        "check",
        _write(tmp_path, [gateway(server.port, host="localhost")]),
        "--format",
        "json",
        "--ca-file",
        certs.ca_file,
        "--ehlo",
        "client.test",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), _RUN_TIMEOUT)
    report = parse_report(out)
    assert report["gateways"][0]["probe"]["tls"]["verified"] is True, err
    loaded = set(json.loads(listing.read_text()))
    unwanted = ("cryptography", "httpx", "aiosmtpd", "smtpcheck.discovery", "smtpcheck.panel")
    assert sorted(name for name in loaded if name.startswith(unwanted)) == []


@pytest.mark.parametrize(
    ("credentials", "works", "logins"), [("connect", False, 1), ("authenticator", True, 0)]
)
async def test_cli_credentials_choose_whether_auth_off_still_logs_in(
    tmp_path, smtp_server, certs, credentials, works, logins
):
    # mail.smtp.auth off, a wrong password: transport.connect(user, password) logs in anyway
    # (and is refused); a Session Authenticator is never asked.
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    config = gateway(
        server.port, host="localhost", password="wrong", params={"mail.smtp.auth": False}
    )
    code, report = await _check_json(tmp_path, certs, [config], "--credentials", credentials)
    (result,) = report["gateways"]
    assert result["works"] is works, result
    assert server.counter.logins == logins
    assert code == (0 if works else 1)  # SC302 is a warning: a working gateway passes


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (("--format", "nagios"), 1),  # WARNING: it works, the alert is not a mail outage
        (("--format", "nagios", "--fail-on", "error"), 2),  # CRITICAL, as asked
        (("--format", "json"), 1),  # an error finding fails a CI run by default
    ],
    ids=["nagios", "nagios-fail-on-error", "json"],
)
async def test_cli_working_gateway_with_an_error_finding(tmp_path, smtp_server, extra, code):
    # STARTTLS enabled but not offered: JavaMail logs in in clear text and gets through.
    ehlo = b"250-mx.test\r\n250 AUTH PLAIN\r\n"
    server = await smtp_server(RawServer(scripted(replies={"EHLO": ehlo, "AUTH": b"235 ok\r\n"})))
    config = gateway(server.port, mode="opportunistic", host="localhost")
    status, out, err = await _smtpcheck(
        "check", _write(tmp_path, [config]), "--ehlo", "client.test", *extra
    )
    assert "Traceback" not in err, err
    assert status == code, out
    if "json" in extra:
        (result,) = parse_report(out)["gateways"]
        assert result["works"] is True and result["status"] == "warning"
