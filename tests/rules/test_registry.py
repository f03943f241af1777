"""Looking rules up and selecting them: by code, code prefix or slug; SC901 for smtpcheck's bugs."""

from __future__ import annotations

import pytest

from smtpcheck.errors import UsageError
from smtpcheck.results import Severity
from smtpcheck.rules import ALL_RULES, Selection, find_rule, internal_error
from smtpcheck.rules.base import Scope


@pytest.mark.parametrize("name", ["SC105", "sc105", " SC105 ", "plain-on-implicit-tls-port"])
def test_registry_find_rule_by_code_or_slug(name: str) -> None:
    found = find_rule(name)
    assert found is not None
    assert found.code == "SC105"


@pytest.mark.parametrize("name", ["SC999", "SC1", "plain", ""])
def test_registry_find_rule_unknown_is_none(name: str) -> None:
    assert find_rule(name) is None


def test_registry_selection_defaults_to_every_rule() -> None:
    selection = Selection()
    chosen = [r for scope in Scope for r in selection.rules(scope)]
    assert sorted(r.code for r in chosen) == [r.code for r in ALL_RULES]


def test_registry_selection_by_prefix_minus_ignored() -> None:
    selection = Selection(select=("SC1",), ignore=("SC107", "loopback-host"))
    codes = {r.code for scope in Scope for r in selection.rules(scope)}
    assert codes == {f"SC1{n:02d}" for n in range(1, 11)} - {"SC107", "SC109"}


@pytest.mark.parametrize("selector", ["SC999", "nonsense", "SC89"])
def test_registry_selection_rejects_a_selector_naming_no_rule(selector: str) -> None:
    with pytest.raises(UsageError, match="names no rule"):
        Selection(select=(selector,))


def test_registry_internal_error_is_sc901() -> None:
    finding = internal_error(KeyError("mail.smtp.port"))
    assert (finding.code, finding.slug, finding.severity) == (
        "SC901",
        "internal-error",
        Severity.ERROR,
    )
    assert finding.message == (
        "smtpcheck failed while checking this gateway: KeyError: 'mail.smtp.port'"
    )


def test_registry_a_rule_bug_is_sc901_without_the_password(monkeypatch) -> None:
    import json

    from smtpcheck.config.loading import parse_document
    from smtpcheck.pipeline import inventory
    from smtpcheck.pipeline.validate import validate
    from smtpcheck.rules.base import EXAMPLE_GATEWAY

    password = "Rule-Bug-Pw-913"

    def broken(entry, selection):  # a bug that happens to carry the password in its message
        raise ValueError(f"cannot judge {entry.settings.password.get_secret_value()}")

    monkeypatch.setattr(inventory, "run_entry_rules", broken)
    params = {**EXAMPLE_GATEWAY["params"], "mail.smtp.password": password}  # type: ignore[dict-item]
    doc = parse_document(
        json.dumps({**EXAMPLE_GATEWAY, "params": params}).encode(), source="gw.json", environ={}
    )
    (gateway,) = validate([doc], inventory.LintOptions()).gateways
    (finding,) = gateway.findings
    assert (finding.code, gateway.status) == ("SC901", "error")
    assert password not in finding.message and "cannot judge" in finding.message
