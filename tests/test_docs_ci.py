"""docs/ci.md stays true: every smtpcheck command in it is one the real command line takes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from smtpcheck.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CI_DOC = ROOT / "docs" / "ci.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _commands() -> list[str]:
    """Return each `smtpcheck check …` of the doc's blocks, folded lines joined."""
    found = []
    for _, body in _BLOCK.findall(CI_DOC.read_text()):
        text = body.replace("\\\n", " ")
        # YAML's folded scalars (>-) put one command over several indented lines.
        text = re.sub(r">-\n((?:\s+\S.*\n)+)", lambda m: " ".join(m.group(1).split()) + "\n", text)
        found += [m.group(0) for m in re.finditer(r"smtpcheck check [^\n]+", text)]
    return found


def test_docs_ci_has_each_recipe():
    commands = _commands()
    urls = " ".join(commands)
    assert len(commands) >= 4
    for url in ("mailpit+http://localhost:8025", "mailhog+http://mailhog:8025", "imaps://"):
        assert url in urls
    assert all("--send-to" in c and "--expect-delivery" in c for c in commands)


@pytest.mark.parametrize("command", _commands())
def test_docs_ci_commands_parse(command: str):
    args = shlex.split(command)[1:]
    with click.Context(cli) as parent:
        check = cli.get_command(parent, "check")
        assert check is not None
        context = check.make_context("check", args[1:], parent=parent)  # raises on a bad option
    assert context.params["expect_delivery"]


def test_readme_ci_section_links_docs_ci():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## In CI against a test mail server", 1)[1].split("\n## ", 1)[0]
    assert "docs/ci.md" in section and "--expect-delivery" in section
