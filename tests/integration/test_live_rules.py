"""The live rules as pure functions of a probe result: every way a probe ends has a finding."""

from __future__ import annotations

import dataclasses

import pytest

from smtpcheck.config.loading import document_from_data
from smtpcheck.config.profile import Library
from smtpcheck.results import (
    CertInfo,
    FailureKind,
    NotProbed,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Severity,
    TlsInfo,
)
from smtpcheck.rules import Selection, run_live_rules, run_not_probed_rules
from smtpcheck.rules.base import ProbedGateway, SmtpGateway
from tests.support.gateways import gateway


def _live(probe: ProbeResult, **params) -> ProbedGateway:
    entry = document_from_data([gateway(587, **params)], source="g.json").gateways[0]
    assert entry.params is not None and entry.settings is not None
    return ProbedGateway(SmtpGateway(entry, entry.params, entry.settings), probe)


def _codes(live: ProbedGateway) -> dict[str, Severity]:
    return {f.code: f.severity for f in run_live_rules(live, Selection())}


@pytest.mark.parametrize("kind", [k for k in FailureKind if k is not FailureKind.INTERNAL], ids=str)
def test_every_failure_kind_has_a_finding(kind):
    probe = ProbeResult(
        steps=(ProbeStep("ehlo", True, 1.0),),
        ms=1.0,
        failure=ProbeFailure(kind, "what happened"),
        tls=TlsInfo("TLSv1.3", "X", verified=False, verify_code=20)
        if kind is FailureKind.CERT_INVALID
        else None,
    )
    findings = _codes(_live(probe))
    assert any(
        severity is Severity.ERROR or severity is Severity.WARNING for severity in findings.values()
    ), findings


def test_weak_negotiated_version_is_a_warning():
    probe = ProbeResult(steps=(), ms=1.0, tls=TlsInfo("TLSv1.1", "X", verified=True))
    assert _codes(_live(probe)) == {"SC608": Severity.WARNING}


def test_expired_is_known_from_the_verify_code_without_a_certificate():
    tls = TlsInfo("", "", verified=False, verify_code=10, verify_error="certificate has expired")
    probe = ProbeResult(
        steps=(),
        ms=1.0,
        failure=ProbeFailure(FailureKind.CERT_INVALID, "certificate not accepted"),
        tls=tls,
    )
    assert _codes(_live(probe)) == {"SC606": Severity.ERROR}


def test_certificate_problems_are_warnings_under_trust_all_hosts():
    cert = CertInfo("CN=x", "CN=ca", ("other.test",), "2020-01-01T00:00:00Z", -5)
    tls = TlsInfo("TLSv1.3", "X", verified=False, verify_code=20, cert=cert, name_matches=False)
    probe = ProbeResult(steps=(), ms=1.0, tls=tls)
    strict = _codes(_live(probe))
    lenient = _codes(_live(probe, params={"mail.smtp.ssl.trust_all_hosts": True}))
    assert strict == dict.fromkeys(("SC604", "SC605", "SC606"), Severity.ERROR)
    # ssl.trust="*" trusts any chain, expired or not; Angus Mail still checks the name.
    assert lenient == {**dict.fromkeys(("SC604", "SC606"), Severity.WARNING), "SC605": "error"}


def test_name_mismatch_is_a_warning_for_the_legacy_library():
    cert = CertInfo("CN=x", "CN=ca", ("other.test",), "2030-01-01T00:00:00Z", 900)
    tls = TlsInfo("TLSv1.3", "X", verified=True, cert=cert, name_matches=False)
    probe = ProbeResult(steps=(), ms=1.0, tls=tls)
    live = dataclasses.replace(_live(probe), library=Library.LEGACY)
    (finding,) = run_live_rules(live, Selection())
    assert (finding.code, finding.severity) == ("SC605", "warning")
    assert "Angus Mail (Jakarta Mail 2.1+) refuses it" in finding.message


def test_skipped_probe_says_why_and_nothing_else():
    not_probed = NotProbed("mail.smtp.host is empty (SC101)")
    findings = run_not_probed_rules(not_probed, Selection())
    assert [(f.code, f.message) for f in findings] == [
        ("SC508", "not probed: mail.smtp.host is empty (SC101)")
    ]


def test_live_rules_follow_select_and_ignore():
    probe = ProbeResult(
        steps=(), ms=1.0, failure=ProbeFailure(FailureKind.AUTH_FAILED, "535 bad credentials")
    )
    assert run_live_rules(_live(probe), Selection(ignore=("SC702",))) == []
    assert [f.code for f in run_live_rules(_live(probe), Selection(select=("SC7",)))] == ["SC702"]
