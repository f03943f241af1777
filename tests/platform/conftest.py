"""Fixtures of the panel API tests: the local panel over HTTP and HTTPS, and its gateway list."""

from __future__ import annotations

import copy
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.support.panel import PanelServer

# Values distinctive enough that finding one in any output can only mean a leak.
SESSION_HASH = "5e55105e55105e55105e55105e551051"
PANEL_LOGIN = "dealer-4711"
PANEL_PASSWORD = "panel-Pa55-Qx7vZ"
SMTP_PASSWORD = "smtp-Pa55-Wr9kT"

#: The list the fake panel serves: one good and one broken own gateway, a leasable one, and a
#: bound_gateway that names none of them (SC007).
GATEWAY_LIST: dict[str, Any] = {
    "bound_gateway": 99,
    "own": [
        {
            "id": 10,
            "leasable": False,
            "label": "Dealer relay",
            "provider": "smtp",
            "params": {
                "default_from_address": "alerts@dealer.test",
                "mail.smtp.user": "alerts",
                "mail.smtp.password": SMTP_PASSWORD,
                "mail.smtp.host": "smtp.dealer.test",
                "mail.smtp.port": 587,
                "mail.smtp.ssl.port": 587,
                "mail.smtp.ssl.trust_all_hosts": False,
                "mail.smtp.auth": True,
                "mail.debug": False,
                "mail.smtp.starttls.enable": True,
                "mail.smtp.starttls.required": True,
                "mail.smtp.use_ssl": False,
                "mail.smtp.timeout": 60000,
                "mail.smtp.connectiontimeout": 60000,
                "mail.transport.protocol": "smtp",
            },
        },
        {
            "id": 11,
            "leasable": False,
            "label": "Broken: implicit TLS on 587",
            "provider": "smtp",
            "params": {
                "default_from_address": "${SMTPCHECK_TEST_FROM}",
                "mail.smtp.user": None,
                "mail.smtp.password": None,
                "mail.smtp.host": "mail.dealer.test",
                "mail.smtp.port": 587,
                "mail.smtp.ssl.port": 587,
                "mail.smtp.auth": False,
                "mail.smtp.starttls.enable": False,
                "mail.smtp.use_ssl": True,
                "mail.smtp.timeout": 60000,
                "mail.smtp.connectiontimeout": 60000,
                "mail.transport.protocol": "smtp",
            },
        },
    ],
    "leasable": [
        {
            "id": 1,
            "label": "Platform gate",
            "provider": "mandrill_smtp",
            "default_from_address": "noreply@platform.test",
        }
    ],
}


@pytest.fixture
def panel() -> Iterator[PanelServer]:
    server = PanelServer(gateways=copy.deepcopy(GATEWAY_LIST))
    server.sessions[SESSION_HASH] = {"email_gateways": ["read", "update"]}
    server.add_account(PANEL_LOGIN, PANEL_PASSWORD)
    with server.running():
        yield server


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("panel-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def tls_panel(ca: trustme.CA) -> Iterator[PanelServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = PanelServer(gateways=copy.deepcopy(GATEWAY_LIST), ssl_context=context)
    server.sessions[SESSION_HASH] = {"email_gateways": ["read"]}
    with server.running():
        yield server
