"""Smoke tests of the JavaMail oracle harness: it reproduces what the real library was seen doing.

Each test runs com.sun.mail jakarta.mail 2.0.0 in a JVM against an aiosmtpd or scripted server in
the test's loop, and checks one fact from the reference's "Observed with the real libraries"
section, read back through `JavaOutcome` (the result and the debug trace).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.support.javamail import (
    Harness,
    JavaOutcome,
    LoopbackRefused,
    encode_case,
    parse_output,
    run_javamail,
)
from tests.support.servers import HOST, PASSWORD, USER, RawServer, Smtpd, scripted

__all__: list[str] = []


def _params(port: int, **extra: Any) -> dict[str, Any]:
    return {"mail.smtp.host": HOST, "mail.smtp.port": port, **extra}


def _auth(**extra: Any) -> dict[str, Any]:
    return {"mail.smtp.user": USER, "mail.smtp.password": PASSWORD, **extra}


def _no_secret(outcome: JavaOutcome) -> None:
    assert PASSWORD not in repr(outcome)


async def test_plain_server_works_and_sends(javamail: Harness, smtp_server):
    server = await smtp_server(Smtpd())
    java = await run_javamail(
        _params(server.port),
        send_from=USER,
        send_to="ops@mail.test",
        harness=javamail,
    )
    assert java.works, java.explain()
    assert (java.host, java.port, java.ssl_from_start) == (HOST, server.port, False)
    assert java.connected and java.sent
    assert not java.starttls_attempted and not java.auth_attempted
    assert java.transport == "com.sun.mail.smtp.SMTPTransport"
    assert java.javamail_version == "2.0.0"
    assert java.commands[0] == "EHLO client.test"  # never the JVM's own host name
    assert [c.split(":")[0] for c in java.commands[1:]] == ["MAIL FROM", "RCPT TO", "DATA", "QUIT"]
    assert [e.mail_from for e in server.handler.messages] == [USER]


async def test_starttls_with_the_test_ca(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.good))
    params = _params(server.port, **{"mail.smtp.starttls.enable": True})
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.works, java.explain()
    assert java.starttls and java.tls and not java.ssl_from_start
    assert java.commands == ("EHLO client.test", "STARTTLS", "EHLO client.test", "QUIT")


async def test_starttls_to_an_unknown_ca_fails_the_handshake(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(tls_context=certs.untrusted))
    params = _params(server.port, **{"mail.smtp.starttls.enable": True})
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.outcome == "failed"
    assert java.starttls_attempted and not java.starttls
    assert java.message.startswith("Could not convert socket to TLS"), java.explain()
    assert "SSLHandshakeException" in java.cause


async def test_use_ssl_takes_the_ssl_port_and_skips_starttls(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(implicit=certs.good))
    params = _params(
        25,  # the adapter replaces it with ssl.port
        **{
            "mail.smtp.use_ssl": True,
            "mail.smtp.ssl.port": server.port,
            "mail.smtp.starttls.enable": True,
        },
    )
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.works, java.explain()
    assert (java.port, java.ssl_from_start, java.tls) == (server.port, True, True)
    assert not java.starttls_attempted
    assert "DEBUG SMTP: STARTTLS requested but already using SSL" in java.trace


async def test_right_credentials_authenticate(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(auth=True, tls_context=certs.good))
    params = _params(server.port, **_auth(**{"mail.smtp.auth": True}))
    params["mail.smtp.starttls.enable"] = True
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.works, java.explain()
    assert java.starttls and java.auth_attempted and java.authenticated
    assert java.mechanism == "LOGIN"
    assert server.counter.logins == 1
    _no_secret(java)


async def test_wrong_password_fails_at_the_server(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(auth=True, tls_context=certs.good))
    params = _params(
        server.port,
        **{
            "mail.smtp.auth": True,
            "mail.smtp.starttls.enable": True,
            "mail.smtp.user": USER,
            "mail.smtp.password": "not-" + PASSWORD,
            "mail.debug.auth": True,  # the AUTH exchange in the trace: the wrapper scrubs it
        },
    )
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.outcome == "failed"
    assert java.exception == "jakarta.mail.AuthenticationFailedException"
    assert java.message.startswith("535"), java.explain()
    assert java.auth_attempted and not java.authenticated
    assert "not-" + PASSWORD not in repr(java)


async def test_null_password_fails_without_a_connection(javamail: Harness, smtp_server):
    server = await smtp_server(Smtpd(auth=True))
    params = _params(
        server.port,
        **{"mail.smtp.auth": True, "mail.smtp.user": USER, "mail.smtp.password": None},
    )
    java = await run_javamail(params, harness=javamail)
    assert java.outcome == "failed"
    assert java.exception == "jakarta.mail.AuthenticationFailedException"
    assert java.message == "failed to connect, no password specified?"
    assert java.host is None and not java.connected
    assert server.counter.accepted == 0


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


async def test_port_with_a_space_falls_back_to_25(javamail: Harness):
    params = _params(0, **{"mail.smtp.port": " 2587", "mail.smtp.connectiontimeout": 2000})
    java = await run_javamail(params, harness=javamail)
    assert java.port == 25, java.explain()
    if not _listening(25):  # nothing listens on 25 here: Java is refused there
        assert java.exception == "com.sun.mail.util.MailConnectException"
        assert java.root_cause == "java.net.ConnectException: Connection refused"


async def test_timeout_zero_on_a_silent_server_hangs_past_the_cap(javamail: Harness, smtp_server):
    server = await smtp_server(RawServer(scripted(greeting=None)))
    params = _params(server.port, **{"mail.smtp.timeout": 0})
    java = await run_javamail(params, cap_ms=1500, harness=javamail)
    assert java.hung, java.explain()
    assert java.stage == "connect" and 1500 <= java.elapsed_ms < 5000
    assert java.port == server.port and not java.connected  # TCP up, no greeting read
    assert server.counter.accepted == 1


async def test_read_timeout_on_a_silent_server_fails(javamail: Harness, smtp_server):
    server = await smtp_server(RawServer(scripted(greeting=None)))
    params = _params(server.port, **{"mail.smtp.timeout": 500})
    java = await run_javamail(params, cap_ms=5000, harness=javamail)
    assert java.outcome == "failed", java.explain()
    assert "java.net.SocketTimeoutException: Read timed out" in java.cause
    assert 500 <= java.elapsed_ms < 4000


async def test_connect_with_credentials_authenticates_even_without_auth(
    javamail: Harness, smtp_server, certs
):
    server = await smtp_server(Smtpd(auth=True, tls_context=certs.good))
    params = _params(
        server.port, **_auth(**{"mail.smtp.auth": False, "mail.smtp.starttls.enable": True})
    )
    java = await run_javamail(params, truststore=certs.ca_file, harness=javamail)
    assert java.works and java.authenticated, java.explain()
    assert server.counter.logins == 1


async def test_authenticator_without_auth_does_not_authenticate(
    javamail: Harness, smtp_server, certs
):
    server = await smtp_server(Smtpd(auth=True, tls_context=certs.good))
    params = _params(
        server.port, **_auth(**{"mail.smtp.auth": False, "mail.smtp.starttls.enable": True})
    )
    java = await run_javamail(
        params, credentials="authenticator", truststore=certs.ca_file, harness=javamail
    )
    assert java.works, java.explain()
    assert not java.auth_attempted and not java.authenticated
    assert server.counter.logins == 0


async def test_smtps_session_transport_reads_only_smtps_keys(javamail: Harness, smtp_server, certs):
    server = await smtp_server(Smtpd(implicit=certs.good))
    params = {
        "mail.transport.protocol": "smtps",
        "mail.smtp.host": "127.0.0.2",  # ignored by the smtps transport
        "mail.smtps.host": HOST,
        "mail.smtps.use_ssl": True,
        "mail.smtps.ssl.port": server.port,
    }
    java = await run_javamail(
        params, transport="session", truststore=certs.ca_file, harness=javamail
    )
    assert java.works, java.explain()
    assert java.transport == "com.sun.mail.smtp.SMTPSSLTransport"
    assert (java.host, java.port, java.ssl_from_start) == (HOST, server.port, True)


async def test_names_stay_on_this_machine(javamail: Harness):
    # The JVM's hosts file knows loopback names only: any other name is unknown, without DNS.
    java = await run_javamail(
        _params(25, **{"mail.smtp.host": "smtp.example.com"}), harness=javamail
    )
    assert java.exception == "com.sun.mail.util.MailConnectException", java.explain()
    assert java.root_cause == "java.net.UnknownHostException: smtp.example.com"
    with pytest.raises(LoopbackRefused, match=r"192\.0\.2\.1"):
        await run_javamail(_params(25, **{"mail.smtp.host": "192.0.2.1"}), harness=javamail)


async def test_values_reach_java_with_their_text_intact(javamail: Harness):
    # Read back from the "trying to connect" line; no such host, so Java stops right there.
    name = "mäil-☃-\U0001f4e7 \\x\ty.test"
    java = await run_javamail(_params(25, **{"mail.smtp.host": name}), harness=javamail)
    assert java.host == name, java.explain()
    assert java.root_cause == f"java.net.UnknownHostException: {name}"


def test_case_file_keeps_json_types():
    text = encode_case(
        {"a": 1, "b": 3000000000, "c": 2587.0, "d": "2587", "e": True, "f": None, "g": "x\ty"},
        send_from="s@t",
    )
    assert text.splitlines() == [
        "param\ta\tint\t1",
        "param\tb\tlong\t3000000000",
        "param\tc\tdouble\t2587.0",
        "param\td\tstr\t2587",
        "param\te\tbool\ttrue",
        "param\tf\tnull\t",
        "param\tg\tstr\tx\\ty",
        "option\tcredentials\tconnect",
        "option\ttransport\tsend",
        "option\tsend_from\ts@t",
        "option\tcap_ms\t8000",
    ]
    with pytest.raises(TypeError):
        encode_case({"a": [1]})


def test_output_without_an_outcome_is_an_error():
    assert parse_output("outcome\tok\ndebug\ta\\tb\n").trace == ("a\tb",)
    with pytest.raises(Exception, match="no outcome"):
        parse_output("debug\tx\n")
