"""smtpcheck's verdict against the real JavaMail, case by case (tests/oracle/cases.json).

Each case is one gateway config and one real server on loopback. The same config goes to
com.sun.mail jakarta.mail 2.0.0 (the oracle harness, with the credentials passed each way the
platform may pass them) and to `smtpcheck check` with the same JavaMail profile, and the facts
must agree: does it work, which host and port JavaMail used, whether TLS was implicit, whether
STARTTLS and AUTH happened. A case may also pin claims: a rule code smtpcheck must report
together with what Java must have done for that rule's message to be true.

A case that is known to disagree under a profile carries ``"known": {profile: why}`` and runs
as a strict xfail, so it fails the day the disagreement is fixed and its mark must go.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateways import gateway, run_check
from tests.support.javamail import Harness, run_javamail
from tests.support.oracle import assert_agree, check_claims, legacy_options
from tests.support.servers import HOST, PASSWORD, USER, Certs, RawServer, Smtpd, scripted

__all__: list[str] = []

CASES = json.loads((Path(__file__).parent / "cases.json").read_text())
PROFILES = ("connect", "authenticator")
_CAP_MS = 6000  # Java's wait is bounded here; 3 s timeouts in the cases end well before it


def _server(name: str, certs: Certs) -> Any:
    """The named test server, not yet started (None: a port nothing listens on)."""
    plain_auth = {"EHLO": b"250-mx.test\r\n250 AUTH PLAIN\r\n", "AUTH": b"235 2.7.0 ok\r\n"}
    servers: dict[str, Callable[[], Any]] = {
        "plain": lambda: Smtpd(),
        "plain-auth": lambda: RawServer(scripted(replies=plain_auth)),
        "no-auth": lambda: RawServer(scripted()),
        "cram-only": lambda: RawServer(
            scripted(replies={"EHLO": b"250-mx.test\r\n250 AUTH CRAM-MD5\r\n"})
        ),
        "starttls": lambda: Smtpd(tls_context=certs.good),
        "starttls-auth": lambda: Smtpd(tls_context=certs.good, auth=True),
        "starttls-auth-login-only": lambda: Smtpd(
            tls_context=certs.good, auth=True, exclude_mechanisms=("PLAIN",)
        ),
        "required-starttls-auth": lambda: Smtpd(
            tls_context=certs.good, require_starttls=True, auth=True
        ),
        "starttls-untrusted": lambda: Smtpd(tls_context=certs.untrusted, auth=True),
        "starttls-mismatch": lambda: Smtpd(tls_context=certs.mismatch, auth=True),
        "implicit": lambda: Smtpd(implicit=certs.good),
        "implicit-auth": lambda: Smtpd(implicit=certs.good, auth=True),
        "implicit-untrusted": lambda: Smtpd(implicit=certs.untrusted, auth=True),
        "implicit-mismatch": lambda: Smtpd(implicit=certs.mismatch, auth=True),
        "implicit-expired": lambda: Smtpd(implicit=certs.expired, auth=True),
        "starttls-454": lambda: RawServer(
            scripted(
                replies={
                    "EHLO": b"250-mx.test\r\n250 STARTTLS\r\n",
                    "STARTTLS": b"454 4.7.0 TLS not available\r\n",
                }
            )
        ),
        "silent": lambda: RawServer(scripted(greeting=None)),
        "greeting-554": lambda: RawServer(scripted(greeting=b"554 5.3.2 not now\r\n")),
        "garbage": lambda: RawServer(scripted(greeting=b"HTTP/1.1 400 Bad Request\r\n")),
        "drop-after-greeting": lambda: RawServer(scripted(close_after=frozenset({""}))),
        "closed": lambda: None,
        "black-hole": lambda: None,
    }
    return servers[name]()


def _cases() -> Iterator[Any]:
    for name, case in CASES.items():
        for profile in case.get("profiles", PROFILES):
            marks = []
            if profile in case.get("known", {}):
                marks.append(pytest.mark.xfail(reason=case["known"][profile], strict=True))
            yield pytest.param(name, profile, id=f"{name}[{profile}]", marks=marks)


_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _substitute(value: Any, port: int) -> Any:
    """Put the server's port into a value: "$PORT" is the int; a prefix says how it is written."""
    if not isinstance(value, str) or "$PORT" not in value:
        return value
    if value == "$PORT":
        return port
    kind, _, text = value.partition(":") if ":" in value else ("", "", value)
    written: Callable[[], Any] | None = {
        "float": lambda: float(port),
        "hex": lambda: hex(port),
        "arabic": lambda: str(port).translate(_ARABIC_INDIC),
    }.get(kind)
    return written() if written is not None else text.replace("$PORT", str(port))


def _params(case: dict[str, Any], port: int) -> dict[str, Any]:
    """The case's gateway params: the test gateway for its mode, then the case's own keys."""
    base = gateway(port, mode=case.get("mode", "starttls"), auth=case.get("auth", True), host=HOST)
    params = dict(base["params"])
    params |= {"mail.smtp.timeout": 3000, "mail.smtp.connectiontimeout": 3000}
    for key, value in case.get("params", {}).items():
        params[key] = _substitute(value, port)
    if case.get("password") == "wrong":
        params["mail.smtp.password"] = "not-" + PASSWORD
    return params


@pytest.fixture
def closed_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind((HOST, 0))  # bound, never listening: connections are refused
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize(("name", "profile"), list(_cases()))
async def test_smtpcheck_agrees_with_javamail(
    name,
    profile,
    javamail: Harness,
    smtp_server,
    certs,
    options,
    legacy_tls,
    closed_port,
    black_hole,
):
    case = CASES[name]
    server = _server(case["server"], certs)
    unstarted = black_hole if case["server"] == "black-hole" else closed_port
    port = unstarted if server is None else (await smtp_server(server)).port
    params = _params(case, port)
    java = await run_javamail(
        params,
        credentials=profile,
        transport=case.get("transport", "send"),
        # A case that sends really sends one message, so that the trace shows what is logged.
        send_from=USER if case.get("send") else None,
        send_to="ops@mail.test" if case.get("send") else None,
        cap_ms=_CAP_MS,
        truststore=certs.ca_file,
        harness=javamail,
    )
    probe_options = legacy_options(options, legacy_tls, profile, case.get("transport", "send"))
    entry = {"id": 1, "leasable": False, "label": name, "provider": "smtp", "params": params}
    (report,) = (await run_check([entry], probe_options)).gateways

    assert_agree(f"{name} under {profile}", report, java, probed=not case.get("unprobed"))
    check_claims(case.get("claims", {}), report, java)


# Rules whose text speaks of JavaMail but that no case here can check against the real library,
# each with the reason. Every other such rule must carry a claim in cases.json.
_UNCHECKED = {
    "SC002": "an array or object param cannot be put in Properties the way the panel would",
    # `provider` is the panel's field, which JavaMail never reads; the docstring's aside that
    # JavaMail's own names are case-sensitive is SC206's claim, checked by the case
    # protocol-upper-case-with-session-transport.
    "SC006": "names JavaMail only to compare; the fact is checked under SC206",
    "SC508": "says only why smtpcheck did not probe",
    "SC608": "this machine's OpenSSL and JDK both refuse TLS below 1.2",
}


def test_every_claim_about_javamail_is_checked():
    import inspect

    from smtpcheck.rules import ALL_RULES

    speaking = {r.code for r in ALL_RULES if "JavaMail" in inspect.getsource(r.check)}
    claimed = {code for case in CASES.values() for code in case.get("claims", {})}
    assert speaking - claimed == set(_UNCHECKED), "claim it in cases.json, or say why not"
    assert not set(_UNCHECKED) & claimed
