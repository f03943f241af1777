"""Meta-tests of the rule catalogue: identity, registration, documentation, and runnable examples.

The documentation of a rule is its docstring, and its Bad and Good examples are run here, so the
explanation `smtpcheck rules CODE` prints cannot drift from what the rule does.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections import Counter
from typing import Any

import pytest

import smtpcheck.rules
from smtpcheck import rules
from smtpcheck.rules.base import EXAMPLE_GATEWAY, Rule, Scope
from tests.rules.support import (
    SECTION_ORDER,
    docstring_sections,
    example_gateway,
    findings_of,
    gateway_bytes,
)

# The contract of DESIGN.md §5: these codes keep exactly these slugs. Codes are never reused.
DESIGN_CATALOGUE = {
    "SC001": "invalid-json",
    "SC002": "invalid-gateway",
    "SC003": "unknown-param",
    "SC004": "string-typed-value",
    "SC005": "duplicate-gateway-id",
    "SC006": "unsupported-provider",
    "SC007": "bound-gateway-unknown",
    "SC008": "unresolved-env-var",
    "SC101": "missing-host",
    "SC102": "invalid-host",
    "SC103": "port-out-of-range",
    "SC104": "implicit-tls-on-plain-port",
    "SC105": "plain-on-implicit-tls-port",
    "SC106": "ssl-port-mismatch",
    "SC107": "nonstandard-port",
    "SC108": "auth-on-relay-port",
    "SC109": "loopback-host",
    "SC110": "ip-host-with-tls",
    "SC201": "ssl-and-starttls",
    "SC202": "starttls-required-not-enabled",
    "SC203": "opportunistic-starttls",
    "SC204": "certificate-checks-disabled",
    "SC205": "trust-all-without-tls",
    "SC206": "invalid-protocol",
    "SC207": "smtps-protocol-mismatch",
    "SC301": "auth-without-credentials",
    "SC302": "credentials-without-auth",
    "SC303": "cleartext-auth",
    "SC401": "infinite-timeout",
    "SC402": "timeout-looks-like-seconds",
    "SC403": "very-long-timeout",
    "SC404": "debug-enabled",
    "SC405": "invalid-from-address",
    "SC406": "missing-from-address",
    "SC501": "dns-failure",
    "SC502": "connection-refused",
    "SC503": "connect-timeout",
    "SC504": "no-greeting",
    "SC505": "greeting-rejected",
    "SC506": "protocol-error",
    "SC507": "slow-greeting",
    "SC601": "starttls-not-offered",
    "SC602": "starttls-failed",
    "SC603": "tls-handshake-failed",
    "SC604": "certificate-untrusted",
    "SC605": "certificate-name-mismatch",
    "SC606": "certificate-expired",
    "SC607": "certificate-expires-soon",
    "SC608": "weak-tls-version",
    "SC701": "auth-not-offered",
    "SC702": "auth-failed",
    "SC703": "auth-mechanism-unsupported",
    "SC704": "auth-temporary-failure",
    "SC705": "cleartext-auth-offered",
    "SC706": "sender-rejected",
    "SC707": "test-message-rejected",
    "SC801": "accepted-never-arrived",
    "SC802": "arrived-altered",
    "SC803": "mailbox-unreachable",
    "SC901": "internal-error",
}

# The hundreds digit of a code is its group; static groups live in one module each.
_GROUP_MODULE = {
    "0": "smtpcheck.rules.inputs",
    "1": "smtpcheck.rules.ports",
    "2": "smtpcheck.rules.tls",
    "3": "smtpcheck.rules.auth",
    "4": "smtpcheck.rules.operations",
    "9": "smtpcheck.rules.internal",
}
_STATIC_SCOPES = (Scope.DOCUMENT, Scope.FLEET, Scope.ENTRY, Scope.CONFIG)
_GROUP_SCOPES = {
    **dict.fromkeys("01234", _STATIC_SCOPES),
    **dict.fromkeys("5678", (Scope.LIVE, Scope.NOT_PROBED)),
    "9": (Scope.INTERNAL,),
}
_REGISTRIES = {
    "DOCUMENT_RULES": Scope.DOCUMENT,
    "FLEET_RULES": Scope.FLEET,
    "ENTRY_RULES": Scope.ENTRY,
    "CONFIG_RULES": Scope.CONFIG,
    "LIVE_RULES": Scope.LIVE,
    "NOT_PROBED_RULES": Scope.NOT_PROBED,
}
_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_WHOLE_DOCUMENT_SCOPES = (Scope.DOCUMENT, Scope.FLEET)


def _defined_rules() -> dict[str, list[Rule[Any]]]:
    """Import every module of the rules package and collect the Rule objects each defines."""
    found: dict[str, list[Rule[Any]]] = {}
    for info in pkgutil.iter_modules(smtpcheck.rules.__path__, "smtpcheck.rules."):
        module = importlib.import_module(info.name)
        found[info.name] = [
            value
            for value in vars(module).values()
            if isinstance(value, Rule) and value.check.__module__ == info.name
        ]
    return found


def _rule_ids(scopes: tuple[Scope, ...]) -> list[Any]:
    return [pytest.param(r, id=r.code) for r in rules.ALL_RULES if r.scope in scopes]


def test_catalogue_codes_and_slugs_are_unique() -> None:
    codes = Counter(r.code for r in rules.ALL_RULES)
    slugs = Counter(r.slug for r in rules.ALL_RULES)
    assert [c for c, n in codes.items() if n > 1] == []
    assert [s for s, n in slugs.items() if n > 1] == []


@pytest.mark.parametrize("rule", _rule_ids(tuple(Scope)))
def test_catalogue_code_names_its_group(rule: Rule[Any]) -> None:
    assert re.fullmatch(r"SC\d{3}", rule.code), rule.code
    group = rule.code[2]
    assert rule.scope in _GROUP_SCOPES[group], f"{rule.code} is in group {group}: {rule.scope}"
    if group in _GROUP_MODULE:
        assert rule.check.__module__ == _GROUP_MODULE[group], rule.code


@pytest.mark.parametrize("rule", _rule_ids(tuple(Scope)))
def test_catalogue_slug_is_kebab_case(rule: Rule[Any]) -> None:
    assert _KEBAB.fullmatch(rule.slug), f"{rule.code}: {rule.slug!r}"


@pytest.mark.parametrize("name", [*_REGISTRIES, "ALL_RULES"])
def test_catalogue_registry_is_sorted_by_code(name: str) -> None:
    registry: tuple[Rule[Any], ...] = getattr(rules, name)
    codes = [r.code for r in registry]
    assert codes == sorted(codes), name


@pytest.mark.parametrize(("name", "scope"), _REGISTRIES.items())
def test_catalogue_registry_holds_only_its_scope(name: str, scope: Scope) -> None:
    registry: tuple[Rule[Any], ...] = getattr(rules, name)
    assert [r.code for r in registry if r.scope is not scope] == [], name


def test_catalogue_every_defined_rule_is_registered() -> None:
    registered = {id(r) for r in rules.ALL_RULES}
    defined = [r for found in _defined_rules().values() for r in found]
    assert defined, "no Rule found in smtpcheck/rules/*.py: the discovery is broken"
    assert [r.code for r in defined if id(r) not in registered] == []
    assert {id(r) for r in defined} == registered


def test_catalogue_registries_cover_all_rules_once() -> None:
    listed = [r for name in _REGISTRIES for r in getattr(rules, name)]
    internal = [r for r in rules.ALL_RULES if r.scope is Scope.INTERNAL]
    assert sorted(r.code for r in (*listed, *internal)) == [r.code for r in rules.ALL_RULES]


@pytest.mark.parametrize(("code", "slug"), DESIGN_CATALOGUE.items())
def test_catalogue_has_design_code_with_its_slug(code: str, slug: str) -> None:
    if code[2] in "567" and not rules.LIVE_RULES:
        pytest.skip("no live rules are registered yet (LIVE_RULES is empty)")
    found = {r.code: r.slug for r in rules.ALL_RULES}
    assert code in found, f"{code} ({slug}) from DESIGN.md §5 is missing"
    assert found[code] == slug


@pytest.mark.parametrize("rule", _rule_ids(tuple(Scope)))
def test_catalogue_docstring_has_template_sections(rule: Rule[Any]) -> None:
    summary, sections = docstring_sections(rule.doc)
    assert summary.strip() and summary == summary.strip(), f"{rule.code}: summary {summary!r}"
    assert summary.endswith("."), f"{rule.code}: the summary is a sentence"
    assert rule.summary == summary  # what `smtpcheck rules` lists
    assert set(sections) <= set(SECTION_ORDER), f"{rule.code}: {sorted(sections)}"
    order = [name for name in SECTION_ORDER if name in sections]
    assert list(sections) == order, f"{rule.code}: sections out of order"
    required = {"What it checks", "Why it matters", "Fix"}
    if rule.scope in _STATIC_SCOPES:
        required |= {"Bad", "Good"}
    assert required <= set(sections), f"{rule.code}: missing {sorted(required - set(sections))}"
    assert all(sections[name] for name in sections), f"{rule.code}: an empty section"


def test_catalogue_example_gateway_passes_every_rule() -> None:
    assert findings_of([gateway_bytes(EXAMPLE_GATEWAY)]) == []


def _example_documents(rule: Rule[Any], section: str) -> list[bytes]:
    text = docstring_sections(rule.doc)[1][section]
    if rule.scope in _WHOLE_DOCUMENT_SCOPES:
        return [text.encode()]
    snippet = json.loads(text)
    assert isinstance(snippet, dict), f"{rule.code} {section}: not a JSON object"
    return [gateway_bytes(example_gateway(snippet))]


@pytest.mark.parametrize("rule", _rule_ids(_STATIC_SCOPES))
def test_catalogue_bad_example_raises_exactly_its_code(rule: Rule[Any]) -> None:
    findings = findings_of(_example_documents(rule, "Bad"))
    assert {f.code for f in findings} == {rule.code}, [(f.code, f.message) for f in findings]


@pytest.mark.parametrize("rule", _rule_ids(_STATIC_SCOPES))
def test_catalogue_good_example_does_not_raise_its_code(rule: Rule[Any]) -> None:
    findings = findings_of(_example_documents(rule, "Good"))
    assert rule.code not in {f.code for f in findings}, [(f.code, f.message) for f in findings]
