"""The JSON report keeps the shape DESIGN §4 documents: other tools parse it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smtpcheck.reporters import RenderOptions, render, report_to_dict
from smtpcheck.results import Report, Status
from tests.reporters.sample import (
    QUOTED_LABEL,
    UNICODE_LABEL,
    fleet_report,
    full_report,
    gateway,
)

STATUSES = {"ok", "warning", "failed", "skipped", "error"}
SEVERITIES = {"error", "warning", "info"}
MODES = {"none", "starttls", "implicit"}


def _is(value: Any, *types: type | None) -> bool:
    return any(value is None if t is None else isinstance(value, t) for t in types)


def _check_finding(finding: dict[str, Any], *, with_source: bool) -> None:
    expected = {"code", "slug", "severity", "message", "param", "fix"}
    assert set(finding) == expected | ({"source"} if with_source else set()), finding
    assert finding["code"][:2] == "SC" and finding["code"][2:].isdigit()
    assert finding["severity"] in SEVERITIES
    assert _is(finding["message"], str) and _is(finding["slug"], str)
    assert _is(finding["param"], str, None) and _is(finding["fix"], str, None)
    if with_source:
        assert _is(finding["source"], str, None)


def _check_probe(probe: dict[str, Any]) -> None:
    assert {"steps", "tls", "extensions", "auth_mechanisms", "ms"} <= set(probe)
    assert _is(probe["ms"], float, int)
    for step in probe["steps"]:
        assert {"name", "ok", "ms", "detail"} <= set(step)
        assert _is(step["name"], str) and _is(step["ok"], bool) and _is(step["ms"], float, int)
        assert _is(step["detail"], str)
    assert all(_is(e, str) for e in probe["extensions"])
    assert all(_is(m, str) for m in probe["auth_mechanisms"])
    tls = probe["tls"]
    if tls is not None:
        assert {"version", "cipher", "verified", "cert"} <= set(tls)
        assert _is(tls["verified"], bool)
        cert = tls["cert"]
        if cert is not None:
            assert set(cert) == {"subject", "issuer", "san", "not_after", "days_left"}
            assert _is(cert["san"], list) and _is(cert["days_left"], int)


def _check_gateway(gateway: dict[str, Any]) -> None:
    expected = {
        "id",
        "label",
        "kind",
        "source",
        "status",
        "works",
        "endpoint",
        "findings",
        "probe",
        "suggestion",
    }
    assert set(gateway) == expected, gateway
    assert _is(gateway["id"], int, None) and _is(gateway["label"], str, None)
    assert gateway["kind"] in {"own", "leasable"}
    assert gateway["status"] in STATUSES
    # Schema 2: works is the probe's verdict, null when not probed; failed means it does not.
    assert gateway["works"] is (None if gateway["probe"] is None else gateway["probe"]["ok"])
    if gateway["works"] is False:
        assert gateway["status"] == "failed"
    endpoint = gateway["endpoint"]
    if endpoint is not None:
        assert set(endpoint) == {"host", "port", "mode", "starttls_required"}
        assert _is(endpoint["starttls_required"], bool)
        assert _is(endpoint["port"], int) and endpoint["mode"] in MODES
    for finding in gateway["findings"]:
        _check_finding(finding, with_source=False)
    if gateway["probe"] is not None:
        _check_probe(gateway["probe"])
    suggestion = gateway["suggestion"]
    if suggestion is not None:
        assert set(suggestion) == {"params", "why", "previous"}
        assert _is(suggestion["params"], dict) and _is(suggestion["previous"], dict)


@pytest.mark.parametrize("build", [full_report, fleet_report, lambda: Report(gateways=())])
def test_json_has_the_documented_shape(build):
    data = json.loads(render(build(), "json"))
    assert list(data)[:6] == ["schema", "tool", "version", "summary", "findings", "gateways"]
    assert data["schema"] == 2 and data["tool"] == "smtpcheck"
    assert set(data["summary"]) >= {"gateways", "ok", "warning", "failed", "skipped"}
    assert all(_is(v, int) for v in data["summary"].values())
    for finding in data["findings"]:
        _check_finding(finding, with_source=True)
    for entry in data["gateways"]:
        _check_gateway(entry)


def test_json_summary_matches_the_gateways():
    data = json.loads(render(full_report(), "json"))
    statuses = [g["status"] for g in data["gateways"]]
    assert data["summary"]["gateways"] == len(statuses)
    for status in STATUSES:
        assert data["summary"][status] == statuses.count(status), status


def test_json_keeps_labels_exactly():
    data = json.loads(render(full_report(), "json"))
    labels = [g["label"] for g in data["gateways"]]
    assert QUOTED_LABEL in labels and UNICODE_LABEL in labels
    assert UNICODE_LABEL in render(full_report(), "json")  # written as text, not \\u escapes


def test_json_is_report_to_dict():
    report = full_report()
    assert json.loads(render(report, "json")) == report_to_dict(report)


def test_json_transcript_only_with_verbose():
    plain = json.loads(render(full_report(), "json"))
    verbose = json.loads(render(full_report(), "json", RenderOptions(verbose=True)))
    assert "transcript" not in plain["gateways"][0]["probe"]
    assert verbose["gateways"][0]["probe"]["transcript"][2] == "C: AUTH PLAIN ********"


def test_json_survives_a_lone_surrogate_in_a_label():
    # json.loads accepts "\ud800", and such a string cannot be encoded as UTF-8 as it is.
    source = json.loads('{"label": "bad \\ud800 label"}')
    report = Report(gateways=(gateway(1, source["label"], Status.OK),))
    text = render(report, "json")
    text.encode("utf-8")
    assert json.loads(text)["gateways"][0]["label"] == source["label"]
