"""Compare smtpcheck's report on one gateway with what the real JavaMail did with it.

Shared by the oracle suites (tests/oracle against in-process servers, tests/postfix against
the private Postfix): the same facts read off both sides, compared where both know them, and
the claims a case pins to rule codes checked against the JVM's outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from smtpcheck.config.profile import Credentials, JavaMailProfile, Library, TransportChoice
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.probe.tls import TlsContexts
from smtpcheck.results import GatewayReport, TlsMode
from tests.support.javamail import JavaOutcome
from tests.support.servers import HOST, resolver

__all__ = ["assert_agree", "check_claims", "legacy_options"]


def _smtpcheck_facts(report: GatewayReport) -> dict[str, Any]:
    probe = report.probe
    steps = {} if probe is None else {s.name: s.ok for s in probe.steps}
    endpoint = report.endpoint
    return {
        "works": None if probe is None else probe.ok,
        "host": None if endpoint is None else endpoint.host,
        "port": None if endpoint is None else endpoint.port,
        "implicit": None if endpoint is None else endpoint.mode is TlsMode.IMPLICIT,
        "starttls": steps.get("starttls", False) and steps.get("tls", False),
        "authenticated": steps.get("auth", False),
    }


def _java_facts(java: JavaOutcome) -> dict[str, Any]:
    return {
        "works": java.works,
        "host": java.host,
        "port": java.port,
        "implicit": java.ssl_from_start,
        "starttls": java.starttls,
        "authenticated": java.authenticated,
    }


def assert_agree(name: str, report: GatewayReport, java: JavaOutcome, *, probed: bool) -> None:
    """Assert smtpcheck and JavaMail agree on every fact both know.

    A JVM that never tried to connect has no port, and a gateway smtpcheck does not probe has
    no "works" (its claims carry the case). Only a case that says so (``probed`` False) may go
    unprobed: else a rule that stops the probe would "agree" by comparing nothing.
    """
    ours, theirs = _smtpcheck_facts(report), _java_facts(java)
    assert (ours["works"] is not None) is probed, report.findings
    keys = sorted(k for k in theirs if theirs[k] is not None and ours[k] is not None)
    assert {k: ours[k] for k in keys} == {k: theirs[k] for k in keys}, (
        f"{name}: smtpcheck {ours}, JavaMail {theirs}\n"
        f"smtpcheck: {report.probe.failure if report.probe else 'not probed'}; "
        f"{[(f.code, f.message) for f in report.findings if f.severity != 'info']}\n"
        + java.explain()
    )


def check_claims(
    claims: Mapping[str, Mapping[str, Any]], report: GatewayReport, java: JavaOutcome
) -> None:
    """Assert each claimed code is reported and that Java did what the claim says.

    A claim's facts: ``trace`` (a line of the debug trace holds it), ``message`` (the exception
    and its causes hold it), ``says`` (the finding's message holds it), else a `JavaOutcome`
    field and its value.
    """
    codes = {f.code: f for f in report.findings}
    for code, expected in claims.items():
        assert code in codes, f"smtpcheck did not report {code}: {sorted(codes)}"
        for fact, value in expected.items():
            if fact == "trace":
                assert any(value in line for line in java.trace), java.explain()
            elif fact == "message":
                assert value in f"{java.exception}: {java.message} {java.cause}", java.explain()
            elif fact == "says":
                assert value in codes[code].message, codes[code].message
            else:
                assert getattr(java, fact) == value, f"{code}: Java {fact}\n{java.explain()}"


def legacy_options(
    options: ProbeOptions, tls: TlsContexts, credentials: str, transport: str = "send"
) -> ProbeOptions:
    """Probe options for the library Debian packages (com.sun.mail 2.0.0) and this profile."""
    profile = JavaMailProfile(
        library=Library.LEGACY,
        credentials=Credentials(credentials),
        transport=TransportChoice(transport),
    )
    names = resolver({HOST: HOST, "localhost": HOST})
    return dataclasses.replace(options, tls=tls, profile=profile, resolver=names)
