"""What a half-filled probe looks like in each format: TLS without a certificate, odd dates."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from smtpcheck.reporters import REPORTERS, RenderOptions, render
from smtpcheck.reporters._common import json_text
from smtpcheck.results import (
    CertInfo,
    Finding,
    ProbeResult,
    ProbeStep,
    Report,
    Severity,
    Status,
    Suggestion,
    TlsInfo,
)
from tests.reporters.sample import gateway
from tests.reporters.test_prometheus import parse_exposition


def _probed(tls: TlsInfo | None) -> Report:
    probe = ProbeResult((ProbeStep("connect", True, 1.0),), 1.0, tls=tls)
    return Report(gateways=(gateway(1, "x", Status.OK, probe=probe),))


def _cert(not_after: str) -> CertInfo:
    return CertInfo("CN=a", "CN=b", (), not_after, 10)


VERBOSE = RenderOptions(verbose=True)
NO_CERT = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", False)  # verify_error unknown


# SARIF carries findings and where they point, not what a probe saw.
@pytest.mark.parametrize("fmt", [name for name in REPORTERS if name != "sarif"])
def test_every_format_renders_tls_without_a_certificate(fmt):
    text = render(_probed(NO_CERT), fmt)
    assert "TLSv1.3" in text


def test_text_tls_without_certificate_or_reason():
    lines = render(_probed(NO_CERT), "text", VERBOSE).splitlines()
    assert "      tls      TLSv1.3 TLS_AES_128_GCM_SHA256 · certificate NOT verified" in lines
    assert not any(line.startswith("      cert ") for line in lines)


def test_text_certificate_without_san():
    tls = TlsInfo("TLSv1.2", "X", True, cert=_cert("2030-01-01T00:00:00+00:00"))
    lines = render(_probed(tls), "text", VERBOSE).splitlines()
    line = next(x for x in lines if x.startswith("      cert "))
    assert "SAN" not in line and "issuer CN=b" in line


def test_junit_tls_without_certificate():
    suite = ET.fromstring(render(_probed(NO_CERT), "junit"))
    out = suite.findtext("testsuite/system-out") or ""
    assert "certificate NOT verified: ?" in out and "not after" not in out


@pytest.mark.parametrize(
    ("not_after", "expected"),
    [
        ("2030-01-01T00:00:00+00:00", datetime(2030, 1, 1, tzinfo=UTC).timestamp()),
        ("2030-01-01T00:00:00", datetime(2030, 1, 1, tzinfo=UTC).timestamp()),  # naive is UTC
        ("2030-01-01T02:00:00+02:00", datetime(2030, 1, 1, tzinfo=UTC).timestamp()),
        ("not a date", None),
    ],
)
def test_prometheus_certificate_expiry(not_after, expected):
    tls = TlsInfo("TLSv1.3", "X", True, cert=_cert(not_after))
    metrics = parse_exposition(render(_probed(tls), "prometheus"))
    family = metrics.get("smtpcheck_tls_cert_expiry_timestamp_seconds")
    found = None if family is None else next(iter(family.samples.values()))
    assert found == expected


def test_prometheus_no_tls_no_tls_metrics():
    metrics = parse_exposition(render(_probed(None), "prometheus"))
    assert "smtpcheck_tls_version_info" not in metrics
    assert "smtpcheck_probe_success" in metrics


def test_prometheus_certificate_missing():
    metrics = parse_exposition(render(_probed(NO_CERT), "prometheus"))
    assert "smtpcheck_tls_version_info" in metrics
    assert "smtpcheck_tls_cert_expiry_timestamp_seconds" not in metrics


def test_suggestion_without_an_endpoint_has_only_plus_lines():
    suggestion = Suggestion({"mail.smtp.host": "smtp.example.com"}, "set a host")
    report = Report(gateways=(gateway(1, None, Status.FAILED, suggestion=suggestion),))
    lines = render(report, "text").splitlines()
    assert lines[lines.index("      suggest  set a host") + 1].strip() == (
        '+ mail.smtp.host: "smtp.example.com"'
    )


def test_json_text_of_values_json_cannot_hold():
    assert json_text({1, 2}) == "{1, 2}"
    assert json_text(True) == "true" and json_text("a") == '"a"'


# What the pipeline makes of a gateway it could not probe: no probe at all, and SC508 saying why.
NOT_PROBED = Report(
    gateways=(
        gateway(
            1,
            "x",
            Status.FAILED,
            findings=(
                Finding("SC508", "probe-skipped", Severity.INFO, "not probed: config has errors"),
            ),
        ),
    )
)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", "      info     SC508  not probed: config has errors"),
        ("junit", "not probed: config has errors"),
        ("nagios", "FAILED: gateway 1 'x' - SC508 not probed: config has errors"),
        ("json", '"probe": null'),
    ],
)
def test_a_gateway_that_was_not_probed(fmt, expected):
    assert expected in render(NOT_PROBED, fmt)


def test_a_gateway_that_was_not_probed_has_no_probe_series():
    metrics = parse_exposition(render(NOT_PROBED, "prometheus"))
    assert not any(name.startswith("smtpcheck_probe") for name in metrics)
    assert "'gw1_time'" not in render(NOT_PROBED, "nagios")
