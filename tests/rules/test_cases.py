"""Run the edge-case tables in ``tests/rules/cases/<CODE>.json``: one table per static rule.

A table has named ``pass`` cases (the rule must not fire) and ``fail`` cases (it must). Each case
gives its input in exactly one of these forms:

- ``params``: params merged into `EXAMPLE_GATEWAY` (a correct gateway);
- ``gateway``: gateway-level fields (with a nested ``params``) merged into it;
- ``document`` / ``documents``: one or several whole JSON documents;
- ``text``: one raw document, encoded as UTF-8 (so ``"\\ufeff"`` is a byte-order mark);
- ``latin1``: one raw document, encoded as Latin-1 (to write bytes that are not UTF-8).

Optional: ``env`` (the environment for ``"${NAME}"`` values; empty by default) and ``note``. A
fail case may also pin ``severity``, ``param``, a substring of ``message`` and the ``count`` of
findings with the code; all of them must hold for one finding (``count`` for all of them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from smtpcheck import rules
from smtpcheck.rules.base import Scope
from tests.rules.support import (
    describe,
    example_gateway,
    findings_of,
    gateway_bytes,
    load_tables,
    malformed_tables,
    matches,
    table_cases,
)

CASES_DIR = Path(__file__).parent / "cases"

_INPUTS = {"params", "gateway", "document", "documents", "text", "latin1"}
_OPTIONAL = {"env", "note"}
_EXPECTATIONS = {"severity", "param", "message", "count"}
_STATIC_SCOPES = (Scope.DOCUMENT, Scope.FLEET, Scope.ENTRY, Scope.CONFIG)


_TABLES = load_tables(CASES_DIR)


def _documents(case: Mapping[str, Any]) -> list[bytes]:
    given = _INPUTS & set(case)
    assert len(given) == 1, f"give exactly one input form of {sorted(_INPUTS)}, got {sorted(given)}"
    (form,) = given
    value = case[form]
    if form == "params":
        return [gateway_bytes(example_gateway({"params": value}))]
    if form == "gateway":
        return [gateway_bytes(example_gateway(value))]
    if form == "document":
        return [json.dumps(value).encode()]
    if form == "documents":
        return [json.dumps(doc).encode() for doc in value]
    return [value.encode("utf-8" if form == "text" else "latin-1")]


@pytest.mark.parametrize(("code", "outcome", "case"), table_cases(_TABLES))
def test_rule_case(code: str, outcome: str, case: dict[str, Any]) -> None:
    allowed = _INPUTS | _OPTIONAL | (_EXPECTATIONS if outcome == "fail" else set())
    assert set(case) <= allowed, f"unknown keys {sorted(set(case) - allowed)}"
    findings = findings_of(_documents(case), environ=case.get("env", {}))
    own = [f for f in findings if f.code == code]
    if outcome == "pass":
        assert own == [], describe(own)
        return
    assert own, f"{code} did not fire; found {describe(findings)}"
    assert any(matches(f, case) for f in own), describe(own)
    if "count" in case:
        assert len(own) == case["count"], describe(own)


def test_rule_cases_cover_every_static_rule() -> None:
    static = {r.code for r in rules.ALL_RULES if r.scope in _STATIC_SCOPES}
    assert set(_TABLES) == static
    assert malformed_tables(_TABLES) == [], "every table needs pass and fail cases, no more"
