"""`smtpcheck check --api-url`: the fleet comes from a local panel, the probes go to local servers.

The panel (tests/platform) serves gateways that point at an aiosmtpd server with AUTH; every
format is searched for the SMTP password (also base64, as AUTH carries it) and the session hash.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from smtpcheck.defaults import FORMATS
from tests.support.cli import smtpcheck_async
from tests.support.gateways import gateway
from tests.support.panel import READ, PanelServer
from tests.support.report_schema import parse_report
from tests.support.servers import PASSWORD, Smtpd

SESSION_HASH = "SessionHash8Kq2Vn5"


@pytest.fixture
def panel() -> Iterator[PanelServer]:
    server = PanelServer(gateways={"bound_gateway": 1, "own": [], "leasable": []})
    server.sessions[SESSION_HASH] = READ
    with server.running():
        yield server


async def _smtpcheck(*args: str) -> tuple[int, str, str]:
    return await smtpcheck_async(*args, env={"NAVIXY_HASH": SESSION_HASH})


def _secrets() -> list[str]:
    plain = base64.b64encode(f"\0alerts@mail.test\0{PASSWORD}".encode()).decode()
    return [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), plain, SESSION_HASH]


async def test_check_probes_the_fleet_the_panel_lists(panel, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    panel.gateways["own"] = [
        gateway(server.port, gid=1, host="localhost"),
        gateway(server.port, gid=2, host="localhost", password="wrong-password"),
    ]
    code, out, err = await _smtpcheck(
        "check", "--api-url", panel.url, "--format", "json", "--ca-file", certs.ca_file,
        "--ehlo", "client.test", "--timeout", "5",
    )  # fmt: skip
    assert code == 1, err
    report = parse_report(out)
    by_id = {g["id"]: g for g in report["gateways"]}
    assert by_id[1]["status"] == "ok"
    assert by_id[1]["source"] == f"{panel.url}/panel/gateways/email/list"
    assert "SC702" in {f["code"] for f in by_id[2]["findings"]}
    assert server.counter.accepted == 2  # both really probed


@pytest.mark.parametrize("fmt", FORMATS)
async def test_check_from_the_panel_leaks_no_secret(panel, smtp_server, certs, fmt):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    panel.gateways["own"] = [gateway(server.port, gid=1, host="localhost")]
    code, out, err = await _smtpcheck(
        "check", "--api-url", panel.url, "--format", fmt, "-v", "--ca-file", certs.ca_file,
        "--ehlo", "client.test", "--timeout", "5",
    )  # fmt: skip
    assert code == 0, (out, err)
    assert server.counter.accepted == 1
    for secret in _secrets():
        assert secret not in out and secret not in err, (fmt, secret)
