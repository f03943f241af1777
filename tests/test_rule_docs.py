"""docs/rules.md is the catalogue: the page SARIF's help links point at stays generated."""

from __future__ import annotations

import re
from pathlib import Path

from smtpcheck.rules import ALL_RULES
from tests.support.cli import smtpcheck

__all__: list[str] = []

DOCS = Path(__file__).parent.parent / "docs" / "rules.md"


def test_docs_rules_md_is_what_rules_markdown_prints():
    run = smtpcheck("rules", "--format", "markdown")
    assert run.code == 0, run
    assert DOCS.read_text(encoding="utf-8") == run.stdout, (
        "regenerate: smtpcheck rules --format markdown > docs/rules.md"
    )


def test_every_rule_has_the_anchor_sarif_links_to():
    # GitHub makes "## SC105" the anchor #sc105, which reporters/sarif.py's helpUri names.
    anchors = re.findall(r"^## (SC\d{3})$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    assert anchors == [rule.code for rule in ALL_RULES]


def test_one_rule_in_markdown_has_its_sections():
    run = smtpcheck("rules", "--format", "markdown", "SC105")
    assert run.code == 0 and run.stdout.startswith("**SC105 plain-on-implicit-tls-port**"), run
    assert "### Bad\n\n```json\n" in run.stdout and "### Fix" in run.stdout
