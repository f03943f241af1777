"""`smtpcheck discover` and `check --suggest --write-fixed` end to end, as real processes.

The servers live in the test's event loop; the host is "localhost", which the certificates name.
Every output and every written file is searched for the SMTP password.
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from typing import Any

import pytest

from smtpcheck.config.params import REDACTED
from tests.support.cli import smtpcheck_async
from tests.support.gateways import gateway
from tests.support.panel import READ, PanelServer
from tests.support.report_schema import parse_report
from tests.support.servers import HOST, PASSWORD, USER, RawServer, Smtpd, make_certs, scripted

_ENV = {"SMTPCHECK_TEST_PASSWORD": PASSWORD, "SMTPCHECK_TEST_USER": USER}
_SECRETS = (
    PASSWORD,
    base64.b64encode(PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
)
_SESSION_HASH = "SessionHash4Rt7Yp1"


def _leaks(*texts: str) -> list[str]:
    return [secret for secret in _SECRETS if any(secret in text for text in texts)]


def _common(certs: Any, *ports: int) -> list[str]:
    tries = [arg for port in ports for arg in ("--try-port", str(port))]
    return ["--ca-file", certs.ca_file, "--ehlo", "client.test", "--timeout", "3", *tries]


@pytest.fixture
def closed_port() -> Iterator[int]:
    import socket

    sock = socket.socket()
    sock.bind((HOST, 0))
    yield sock.getsockname()[1]
    sock.close()


async def test_discover_json_names_the_best_combination(smtp_server, certs):
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    code, out, err = await smtpcheck_async(
        "discover",
        "localhost",
        *_common(certs, starttls.port, implicit.port),
        "--user",
        USER,
        "--password-env",
        "SMTPCHECK_TEST_PASSWORD",
        "--format",
        "json",
        env=_ENV,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["best"]["params"] == {
        "mail.smtp.port": implicit.port,
        "mail.smtp.ssl.port": implicit.port,
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    }
    working = [(c["port"], c["mode"]) for c in data["combinations"] if c["works"]]
    assert working == [(implicit.port, "implicit"), (starttls.port, "starttls")]
    first = data["combinations"][0]
    assert first["certificate_verified"] is True and first["tls_version"].startswith("TLSv1.")
    assert first["auth_mechanisms"] == ["login", "plain"]
    assert first["login"] == {"accepted": True, "detail": "LOGIN accepted"}
    assert implicit.counter.logins == starttls.counter.logins == 1
    assert _leaks(out, err) == []


async def test_discover_text_table_without_credentials(smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good))
    code, out, _ = await smtpcheck_async("discover", "localhost", *_common(certs, server.port))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "localhost: 1 of 3 combinations work"
    assert lines[2].split() == ["port", "mode", "result", "greeting", "TLS", "AUTH", "offered"]
    assert lines[3].split()[:4] == ["1", str(server.port), "STARTTLS", "works"]
    # The port offers STARTTLS: plain text there is a downgrade, never a combination that works.
    rows = [line.split()[:4] for line in lines[4:8]]
    assert ["-", str(server.port), "plain", "fails"] in rows
    assert "the port offers STARTTLS: plain text is not an option here" in out
    assert f"best: port {server.port} with STARTTLS; set these params:" in out
    assert "  mail.smtp.starttls.required: true" in out


async def test_discover_never_gives_up_tls_and_names_the_ca_file(smtp_server, tmp_path):
    # A submission port that wants STARTTLS first (530 to MAIL in plain text), its certificate
    # from a CA this run does not know (no --ca-file): plain text must not be recommended.
    certs = make_certs(str(tmp_path))  # a CA nobody passes to this run
    server = await smtp_server(Smtpd(tls_context=certs.good, require_starttls=True))
    args = ["--ehlo", "client.test", "--timeout", "3", "--try-port", str(server.port)]
    code, out, err = await smtpcheck_async("discover", "localhost", *args)
    assert code == 1, err
    assert (
        f"nothing works as it is: port {server.port} with STARTTLS gets through, but its "
        "certificate is not trusted here" in out
    )
    assert "pass its CA with --ca-file" in out
    assert "best:" not in out


async def test_discover_plain_works_only_if_mail_from_is_accepted(smtp_server, certs):
    # A plain server that greets and answers EHLO, but takes no mail from anyone unknown.
    refusing = {"MAIL": b"530 5.7.0 Authentication required\r\n"}
    server = await smtp_server(RawServer(scripted(replies=refusing)))
    code, out, _ = await smtpcheck_async("discover", "localhost", *_common(certs, server.port))
    assert code == 1
    assert "MAIL: 530 5.7.0 Authentication required" in out


async def test_discover_nothing_listening_says_so(certs, closed_port):
    code, out, err = await smtpcheck_async("discover", "localhost", *_common(certs, closed_port))
    assert code == 1, err
    assert f"nothing works: nothing is listening on port {closed_port}" in out
    assert "best:" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["smtp://mail.example.com"], "not a host name"),
        (["localhost", "--user", USER], "--password-env"),
        (["localhost", "--password-env", "SMTPCHECK_TEST_PASSWORD"], "--user"),
        (["localhost", "--user", USER, "--password-env", "SMTPCHECK_UNSET"], "not set"),
        (["localhost", "--try-port", "0"], "--try-port"),
        (["localhost", "--format", "junit"], "--format"),
    ],
)
async def test_discover_bad_usage_exits_2(args, message):
    code, out, err = await smtpcheck_async("discover", *args, env=_ENV)
    assert code == 2 and message in err and "Traceback" not in err
    assert out == "" and _leaks(err) == []


async def test_check_try_port_needs_suggest(tmp_path, certs):
    path = tmp_path / "gw.json"
    path.write_text(json.dumps(gateway(2525)))
    code, _, err = await smtpcheck_async("check", str(path), "--try-port", "2525")
    assert code == 2 and "--suggest" in err


async def test_check_write_fixed_passes_a_second_check(tmp_path, smtp_server, certs):
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    from_env = {
        "mail.smtp.password": "${SMTPCHECK_TEST_PASSWORD}",
        "mail.smtp.user": "${SMTPCHECK_TEST_USER}",
    }
    gateways = [
        gateway(implicit.port, gid=4, host="localhost", mode="starttls", params=from_env),
        gateway(starttls.port, gid=5, host="localhost", mode="implicit", params=from_env),
        gateway(starttls.port, gid=6, host="localhost"),  # works: nothing to write
    ]
    source = tmp_path / "gateways.json"
    source.write_text(json.dumps(gateways))
    fixed = tmp_path / "fixed"
    ports = (implicit.port, starttls.port)
    code, out, err = await smtpcheck_async(
        "check", str(source), "--write-fixed", str(fixed), *_common(certs, *ports), env=_ENV
    )
    assert code == 1, err
    assert "- mail.smtp.use_ssl: false" in out and "+ mail.smtp.use_ssl: true" in out
    assert "wrote 2 corrected gateway files" in err
    assert sorted(p.name for p in fixed.iterdir()) == ["gateway-4.json", "gateway-5.json"]
    for path in fixed.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        written = json.loads(path.read_text())
        assert written["params"]["mail.smtp.password"] == "${SMTPCHECK_TEST_PASSWORD}"
        assert written["params"]["mail.smtp.user"] == "${SMTPCHECK_TEST_USER}"
        assert list(written["params"]) == list(gateways[0]["params"])  # key order as written
    again, out2, err2 = await smtpcheck_async(
        "check", str(fixed), "--format", "json", *_common(certs), env=_ENV
    )
    assert again == 0, out2
    assert [g["status"] for g in parse_report(out2)["gateways"]] == ["ok", "ok"]
    texts = [out, err, out2, err2, *(p.read_text() for p in fixed.iterdir())]
    assert _leaks(*texts) == []


async def test_check_suggest_json_carries_the_patch_and_previous_values(
    tmp_path, smtp_server, certs
):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    source = tmp_path / "gw.json"
    source.write_text(json.dumps(gateway(server.port, host="localhost", mode="starttls")))
    code, out, err = await smtpcheck_async(
        "check", str(source), "--suggest", "--format", "json", "-v", *_common(certs, server.port)
    )
    assert code == 1, err
    suggestion = parse_report(out)["gateways"][0]["suggestion"]
    assert suggestion["params"]["mail.smtp.use_ssl"] is True
    assert suggestion["previous"]["mail.smtp.use_ssl"] is False
    assert "AUTH LOGIN accepted" in suggestion["why"]
    assert _leaks(out, err) == []


@pytest.fixture
def panel() -> Iterator[PanelServer]:
    server = PanelServer(gateways={"bound_gateway": None, "own": [], "leasable": []})
    server.sessions[_SESSION_HASH] = READ
    with server.running():
        yield server


async def test_check_write_fixed_redacts_a_password_from_the_panel(
    tmp_path, panel, smtp_server, certs
):
    server = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    label = {"mail.smtp.from": "${HOME}"}  # API text, not a reference: must stay text
    panel.gateways["own"] = [
        gateway(server.port, gid=9, host="localhost", mode="starttls", params=label)
    ]
    fixed = tmp_path / "fixed"
    code, out, err = await smtpcheck_async(
        "check",
        "--api-url",
        panel.url,
        "--write-fixed",
        str(fixed),
        *_common(certs, server.port),
        env={"NAVIXY_HASH": _SESSION_HASH},
    )
    assert code == 1, err
    written = json.loads((fixed / "gateway-9.json").read_text())
    assert written["params"]["mail.smtp.password"] == REDACTED
    assert written["params"]["mail.smtp.from"] == "$${HOME}"
    assert written["params"]["mail.smtp.use_ssl"] is True
    assert _leaks(out, err, (fixed / "gateway-9.json").read_text()) == []
    assert _SESSION_HASH not in out + err
