"""The panel API's secrets reach no output: every command path, successes and failures alike.

For each path the test collects everything the run left behind (standard output and error, log
records at DEBUG from every logger, httpx's included, and every file written) and greps it for the
session hash, the panel password, the session hash a login opened and, unless asked for, the
SMTP password.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.platform.conftest import (
    PANEL_LOGIN,
    PANEL_PASSWORD,
    SESSION_HASH,
    SMTP_PASSWORD,
)
from tests.support.cli import smtpcheck
from tests.support.panel import PanelServer, html_page, panel_error, slow

_ECHO = f"{SESSION_HASH} {PANEL_PASSWORD}"


@dataclass(frozen=True)
class Path_:
    """One way through the command line."""

    argv: tuple[str, ...]
    by_login: bool = False
    exit_code: int = 0
    smtp_password_shown: bool = False
    scrubbed: bool = False  # the server echoes a secret, which the message shows as ***
    prepare: Callable[[PanelServer], None] = lambda panel: None
    env: dict[str, str] = field(default_factory=dict)


def _expire(panel: PanelServer) -> None:
    del panel.sessions[SESSION_HASH]


def _no_permission(panel: PanelServer) -> None:
    panel.sessions[SESSION_HASH] = {"users": ["read"]}
    panel.add_account(PANEL_LOGIN, PANEL_PASSWORD, {"users": ["read"]})


def _echo_in_errors(panel: PanelServer) -> None:
    panel.faults.append(panel_error(7, _ECHO, errors=[{"parameter": "hash", "error": _ECHO}]))


def _echo_in_description(panel: PanelServer) -> None:
    panel.faults.append(panel_error(250, _ECHO))


def _html_pages(panel: PanelServer) -> None:
    panel.faults.extend([html_page(502)] * 10)


def _slow(panel: PanelServer) -> None:
    panel.faults.extend([slow(10)] * 10)


def _refuse_login(panel: PanelServer) -> None:
    panel.accounts.clear()


PATHS = {
    "validate-text": Path_(("validate",), exit_code=1),
    "validate-json": Path_(("validate", "--format", "json"), exit_code=1),
    "validate-junit": Path_(("validate", "--format", "junit"), exit_code=1),
    "validate-report-file": Path_(
        ("validate", "--format", "json", "-o", "{tmp}/r.json"), exit_code=1
    ),
    "validate-login": Path_(("validate", "--format", "json"), by_login=True, exit_code=1),
    "fetch-stdout": Path_(("fetch",)),
    "fetch-file": Path_(("fetch", "-o", "{tmp}/gw.json")),
    "fetch-login-file": Path_(("fetch", "-o", "{tmp}/gw.json"), by_login=True),
    "fetch-include-secrets": Path_(
        ("fetch", "--include-secrets", "-o", "{tmp}/gw.json"), smtp_password_shown=True
    ),
    "expired": Path_(("validate",), exit_code=2, prepare=_expire),
    "no-permission": Path_(("fetch",), exit_code=2, prepare=_no_permission),
    "no-permission-login": Path_(("fetch",), by_login=True, exit_code=2, prepare=_no_permission),
    "login-refused": Path_(("fetch",), by_login=True, exit_code=2, prepare=_refuse_login),
    "code-7-echo": Path_(("fetch",), exit_code=2, scrubbed=True, prepare=_echo_in_errors),
    "code-7-echo-login": Path_(
        ("fetch",), by_login=True, exit_code=2, scrubbed=True, prepare=_echo_in_errors
    ),
    "description-echo": Path_(("fetch",), exit_code=2, scrubbed=True, prepare=_echo_in_description),
    "html-pages": Path_(("fetch", "--api-timeout", "0.5"), exit_code=2, prepare=_html_pages),
    "timeout": Path_(("validate", "--api-timeout", "0.2"), exit_code=2, prepare=_slow),
}


def _leftovers(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in sorted(tmp_path.rglob("*")) if p.is_file())


def _assert_hidden(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret[:4]}… leaked"


@pytest.mark.parametrize("path", list(PATHS.values()), ids=list(PATHS))
def test_panel_secrets_reach_no_output(
    path: Path_, panel: PanelServer, caplog, monkeypatch, tmp_path
):
    caplog.set_level(logging.DEBUG)
    for name in ("NAVIXY_HASH", "NAVIXY_LOGIN", "NAVIXY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    if path.by_login:
        monkeypatch.setenv("NAVIXY_LOGIN", PANEL_LOGIN)
        monkeypatch.setenv("NAVIXY_PASSWORD", PANEL_PASSWORD)
    else:
        monkeypatch.setenv("NAVIXY_HASH", SESSION_HASH)
    path.prepare(panel)
    outputs = tmp_path / "out"
    outputs.mkdir()
    argv = [arg.replace("{tmp}", str(outputs)) for arg in path.argv]
    result = smtpcheck(*argv, "--api-url", panel.url)
    code, shown = result.code, result.output
    assert code == path.exit_code, shown
    everything = shown + caplog.text + _leftovers(outputs)
    opened = [
        json.loads(r.body)["hash"]
        for r in panel.requests
        if r.action == "panel/gateways/email/list" and r.body
    ]
    # The secrets this run held: the ones it was given, and the sessions it opened. (An echo
    # of a value the run never had cannot be scrubbed, and is not a leak of the run's.)
    held = [PANEL_PASSWORD, *opened] if path.by_login else [SESSION_HASH]
    _assert_hidden(everything, held)
    assert ("***" in shown) is path.scrubbed
    if path.smtp_password_shown:
        assert SMTP_PASSWORD in everything
    else:
        _assert_hidden(everything, [SMTP_PASSWORD])


def test_tls_failure_reaches_no_secret(tls_panel: PanelServer, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NAVIXY_HASH", SESSION_HASH)
    result = smtpcheck("fetch", "--api-url", tls_panel.url)
    code, shown = result.code, result.output
    assert code == 2
    assert "TLS certificate of 127.0.0.1 is not trusted" in shown
    _assert_hidden(shown + caplog.text, [SESSION_HASH])


def test_https_with_a_private_ca_from_ssl_cert_file(
    tls_panel: PanelServer, ca_file: Path, monkeypatch
):
    # What the TLS error message recommends for an on-premise panel with its own CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    result = smtpcheck("fetch", "--api-url", tls_panel.url, "--hash", SESSION_HASH)
    code, shown = result.code, result.output
    assert code == 0
    assert json.loads(shown)["bound_gateway"] == 99
    _assert_hidden(shown, [SESSION_HASH, SMTP_PASSWORD])
