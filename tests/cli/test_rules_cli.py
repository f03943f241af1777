"""`smtpcheck rules`: the catalogue listed, one rule explained, JSON for machines."""

from __future__ import annotations

import json
import re

import pytest

from smtpcheck.rules import ALL_RULES
from tests.support.cli import smtpcheck, smtpcheck_process


def test_rules_lists_every_rule_once_in_code_order():
    code, out, err = smtpcheck("rules")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [r.code for r in ALL_RULES]
    for line, listed in zip(lines, ALL_RULES, strict=True):
        assert line.split()[1:3] == [listed.slug, str(listed.severity)], line
        assert line.endswith(listed.summary)


def test_rules_list_columns_line_up():
    _, out, _ = smtpcheck("rules")
    columns = set()
    for line in out.splitlines():
        match = re.match(r"SC\d{3}  \S+ +(\S+) +(\S)", line)
        assert match is not None, line
        columns.add((match.start(1), match.start(2)))
    assert len(columns) == 1, columns


@pytest.mark.parametrize("name", ["SC105", "sc105", "plain-on-implicit-tls-port", " SC105 "])
def test_rules_explains_one_rule_by_code_or_slug(name):
    code, out, _ = smtpcheck("rules", name)
    assert code == 0
    assert out.startswith("SC105 plain-on-implicit-tls-port (default severity: error)\n")
    for section in ("What it checks:", "Why it matters:", "Bad:", "Good:"):
        assert section in out, section
    assert '"mail.smtp.port": 587' in out  # the example gateway the snippets change


def test_rules_explain_of_a_source_rule_has_no_example_gateway():
    code, out, _ = smtpcheck("rules", "SC001")
    assert code == 0 and "Bad:" in out
    assert "Examples list only the params" not in out


def test_rules_json_lists_the_catalogue():
    code, out, _ = smtpcheck("rules", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [r["code"] for r in data] == [r.code for r in ALL_RULES]
    assert set(data[0]) == {"code", "slug", "severity", "scope", "summary", "doc"}


def test_rules_json_of_one_rule():
    code, out, _ = smtpcheck("rules", "SC203", "--format", "json")
    assert code == 0
    (only,) = json.loads(out)
    assert (only["code"], only["slug"]) == ("SC203", "opportunistic-starttls")


@pytest.mark.parametrize("name", ["SC999", "not-a-rule"])
def test_rules_unknown_code_is_one_line_and_exit_2(name):
    code, out, err = smtpcheck("rules", name)
    assert code == 2 and out == ""
    assert err.splitlines() == [f"smtpcheck: error: no rule {name!r}; `smtpcheck rules` lists them"]


def test_rules_through_python_m_smtpcheck():
    ok = smtpcheck_process("rules", "SC301")
    assert ok.code == 0 and ok.stdout.startswith("SC301 auth-without-credentials")
    bad = smtpcheck_process("rules", "SC000")
    assert bad.code == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1
