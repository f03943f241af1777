"""`smtpcheck rules [CODE]`: list the rule catalogue, or explain one rule."""

from __future__ import annotations

import json
from typing import Any

import click

from smtpcheck.cli.help import GroupedCommand

__all__ = ["rules"]

_EXAMPLE_NOTE = (
    "Examples list only the params they change in this correct gateway "
    "(STARTTLS on 587, AUTH required):"
)


@click.command(cls=GroupedCommand)
@click.argument("code", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: the page docs/rules.md is generated from (SARIF's help links point there).",
)
def rules(code: str | None, fmt: str) -> None:
    """List every rule, or explain the rule CODE (a code such as SC105, or its slug)."""
    from smtpcheck.rules import ALL_RULES, find_rule

    if code is None:
        chosen = list(ALL_RULES)
    else:
        found = find_rule(code)
        if found is None:
            raise click.ClickException(f"no rule {code!r}; `smtpcheck rules` lists them")
        chosen = [found]
    if fmt == "markdown":
        click.echo(_markdown(chosen, whole=code is None), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([_rule_data(r) for r in chosen], indent=2, ensure_ascii=False))
    elif code is None:
        width = max(len(r.slug) for r in chosen)
        for r in chosen:
            click.echo(f"{r.code}  {r.slug:<{width}}  {r.severity:<7}  {r.summary}")
    else:
        click.echo(_explain(chosen[0]))


def _markdown(chosen: list[Any], *, whole: bool) -> str:
    from smtpcheck._version import __version__
    from smtpcheck.pipeline.locating import rule_help
    from smtpcheck.reporters.rule_docs import catalogue_markdown, rule_markdown

    helps = rule_help(r.code for r in chosen)
    if whole:
        return catalogue_markdown(helps.values(), version=__version__)
    return rule_markdown(helps[chosen[0].code]) + "\n"


def _rule_data(rule: Any) -> dict[str, Any]:
    return {
        "code": rule.code,
        "slug": rule.slug,
        "severity": str(rule.severity),
        "scope": str(rule.scope),
        "summary": rule.summary,
        "doc": rule.doc,
    }


def _explain(rule: Any) -> str:
    from smtpcheck.rules.base import EXAMPLE_GATEWAY, Scope

    text = f"{rule.code} {rule.slug} (default severity: {rule.severity})\n\n{rule.doc}\n"
    if rule.scope in (Scope.CONFIG, Scope.ENTRY) and "Bad:" in rule.doc:
        example = json.dumps(EXAMPLE_GATEWAY, indent=2)
        text += f"\n{_EXAMPLE_NOTE}\n{example}\n"
    return text
