"""Run the edge-case tables of the live rules, ``tests/rules/live_cases/<CODE>.json``.

As for the static rules (`test_cases`), a table has named ``pass`` cases (the rule must not
fire) and ``fail`` cases (it must). A case is what a probe observed, checked against a gateway:

- ``params``: params merged into `EXAMPLE_GATEWAY` (STARTTLS required on 587, AUTH on);
- ``probe``: the probe's result, every key optional: ``steps`` as ``[name, ok, ms]`` lists
  (optionally with a detail and a reply code), ``failure`` as ``{kind, detail, reply_code,
  tls_error}``, ``tls`` as `TlsInfo`'s fields with an optional ``cert``, the extension and
  mechanism lists, and ``port_hint``;
- or ``not_probed``: the reason the gateway was not probed at all (SC508);
- optionally ``cert_warn_days`` and ``slow_greeting_ms`` (the run's thresholds), ``library``
  (``--javamail``), ``delivery`` (what ``--expect-delivery`` found: ``outcome``, ``detail``,
  ``latency_ms``, ``differences`` as ``[field, sent, found]`` lists, ``problem``, ``fix``) and
  ``note``.

A fail case may also pin ``severity``, ``param`` and a substring of ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from smtpcheck import rules
from smtpcheck.config.loading import document_from_data
from smtpcheck.config.profile import Library
from smtpcheck.results import (
    CertInfo,
    DeliveryOutcome,
    DeliveryResult,
    Difference,
    FailureKind,
    Finding,
    NotProbed,
    PortHint,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    TlsInfo,
)
from smtpcheck.rules.base import ProbedGateway, Scope, SmtpGateway
from tests.rules.support import (
    describe,
    example_gateway,
    load_tables,
    malformed_tables,
    matches,
    table_cases,
)

CASES_DIR = Path(__file__).parent / "live_cases"

_INPUTS = {"probe", "not_probed"}
_OPTIONAL = {"params", "cert_warn_days", "slow_greeting_ms", "library", "delivery", "note"}
_EXPECTATIONS = {"severity", "param", "message"}
_LIVE_SCOPES = (Scope.LIVE, Scope.NOT_PROBED)
_TABLES = load_tables(CASES_DIR)


def probe_of(data: Mapping[str, Any]) -> ProbeResult:
    """Build a probe result from a case's ``probe`` object."""
    failure = data.get("failure")
    tls = data.get("tls")
    hint = data.get("port_hint")
    return ProbeResult(
        steps=tuple(ProbeStep(*step) for step in data.get("steps", ())),
        ms=float(data.get("ms", 1.0)),
        failure=None
        if failure is None
        else ProbeFailure(
            FailureKind(failure["kind"]),
            failure.get("detail", "what the server did"),
            reply_code=failure.get("reply_code"),
            tls_error=failure.get("tls_error"),
        ),
        tls=None if tls is None else _tls(tls),
        extensions_before_tls=tuple(data.get("extensions_before_tls", ())),
        extensions=tuple(data.get("extensions", ())),
        auth_mechanisms_before_tls=tuple(data.get("auth_mechanisms_before_tls", ())),
        auth_mechanisms=tuple(data.get("auth_mechanisms", ())),
        port_hint=None if hint is None else PortHint(hint),
    )


def delivery_of(data: Mapping[str, Any] | None) -> DeliveryResult | None:
    """Build a delivery result from a case's ``delivery`` object."""
    if data is None:
        return None
    return DeliveryResult(
        where="mailpit+http://127.0.0.1:8025",
        outcome=DeliveryOutcome(data["outcome"]),
        token="0123456789abcdef",
        waited_ms=float(data.get("waited_ms", 100.0)),
        polls=int(data.get("polls", 3)),
        latency_ms=data.get("latency_ms"),
        differences=tuple(Difference(*d) for d in data.get("differences", ())),
        detail=data.get("detail", "what the catcher said"),
        problem=data.get("problem"),
        fix=data.get("fix"),
    )


def _tls(data: Mapping[str, Any]) -> TlsInfo:
    cert = data.get("cert")
    fields = {k: v for k, v in data.items() if k != "cert"}
    fields.setdefault("version", "TLSv1.3")
    fields.setdefault("cipher", "TLS_AES_256_GCM_SHA384")
    fields.setdefault("verified", True)
    if cert is None:
        return TlsInfo(**fields)
    defaults = {
        "subject": "CN=smtp.example.com",
        "issuer": "CN=Example CA",
        "san": ("smtp.example.com",),
        "not_after": "2030-01-01T00:00:00Z",
        "days_left": 400,
    }
    merged = {**defaults, **cert}
    merged["san"] = tuple(merged["san"])
    return TlsInfo(**fields, cert=CertInfo(**merged))


def findings_of(case: Mapping[str, Any]) -> list[Finding]:
    """Run the live rules (or SC508) on one case."""
    if "not_probed" in case:
        return rules.run_not_probed_rules(NotProbed(case["not_probed"]), rules.Selection())
    gateway = example_gateway(case.get("params", {}))
    (entry,) = document_from_data(gateway, source="gw.json", environ={}).gateways
    smtp = SmtpGateway.of(entry)
    assert smtp is not None, "the case's params do not make a valid SMTP gateway"
    thresholds = {k: case[k] for k in ("cert_warn_days", "slow_greeting_ms") if k in case}
    library = Library(case.get("library", Library.ANGUS))
    delivery = delivery_of(case.get("delivery"))
    probed = ProbedGateway(
        smtp, probe_of(case["probe"]), library=library, delivery=delivery, **thresholds
    )
    return rules.run_live_rules(probed, rules.Selection())


@pytest.mark.parametrize(("code", "outcome", "case"), table_cases(_TABLES))
def test_live_rule_case(code: str, outcome: str, case: dict[str, Any]) -> None:
    allowed = _INPUTS | _OPTIONAL | (_EXPECTATIONS if outcome == "fail" else set())
    assert set(case) <= allowed, f"unknown keys {sorted(set(case) - allowed)}"
    assert len(_INPUTS & set(case)) == 1, f"give exactly one of {sorted(_INPUTS)}"
    findings = findings_of(case)
    own = [f for f in findings if f.code == code]
    if outcome == "pass":
        assert own == [], describe(own)
        return
    assert own, f"{code} did not fire; found {describe(findings)}"
    assert any(matches(f, case) for f in own), describe(own)


def test_live_rule_cases_cover_every_live_rule() -> None:
    live = {r.code for r in rules.ALL_RULES if r.scope in _LIVE_SCOPES}
    assert set(_TABLES) == live
    assert malformed_tables(_TABLES) == [], "every table needs pass and fail cases, no more"
