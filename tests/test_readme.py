"""The README stays true: its rule table is the catalogue, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from smtpcheck.rules import ALL_RULES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _rules_table() -> list[tuple[str, str, str, str]]:
    block = README.split("<!-- rules-table", 1)[1].split("<!-- /rules-table -->", 1)[0]
    rows = []
    for line in block.splitlines():
        match = re.fullmatch(r"\| (SC\d{3}) \| `([a-z0-9-]+)` \| (\w+) \| (.*) \|", line)
        if match:
            code, slug, severity, summary = match.groups()
            rows.append((code, slug, severity, summary.replace("\\|", "|")))
    return rows


def test_readme_rule_table_is_the_catalogue():
    expected = [(r.code, r.slug, str(r.severity), r.summary) for r in ALL_RULES]
    assert _rules_table() == expected


def test_ci_runs_the_readme_test_command():
    assert "pip install -e '.[dev]' && scripts/check" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -e '.[dev]'" in ci and "\nscripts/check\n" in ci
