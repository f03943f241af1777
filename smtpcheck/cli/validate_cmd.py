"""`smtpcheck validate`: the static lint, with no network access."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from smtpcheck.cli.options import (
    EXIT_FAIL,
    EXIT_OK,
    report_options,
    selectors,
    use_color,
    write_output,
)

__all__ = ["validate"]


@click.command()
@click.argument("sources", nargs=-1, metavar="SOURCE...")
@report_options(["text", "json", "junit"])
@click.pass_context
def validate(
    ctx: click.Context,
    sources: tuple[str, ...],
    fmt: str,
    output: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str,
    gateway_ids: tuple[int, ...],
    no_color: bool,
) -> None:
    """Lint gateway configs without connecting anywhere.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    Each file may hold one gateway, an array of gateways or the panel's whole list response.
    """
    from smtpcheck.checker import StaticOptions
    from smtpcheck.checker import validate as run_validate
    from smtpcheck.reporters import RenderOptions, render
    from smtpcheck.results import Severity
    from smtpcheck.rules import Selection
    from smtpcheck.sources import load_paths

    if not sources:
        raise click.UsageError("give at least one SOURCE: a file, a directory, or - for stdin")
    options = StaticOptions(
        selection=Selection(selectors(select), selectors(ignore)),
        gateway_ids=frozenset(gateway_ids),
    )
    documents = load_paths(sources, environ=os.environ, stdin=sys.stdin.buffer)
    report = run_validate(documents, options)
    color = use_color(fmt, output, no_color)
    write_output(render(report, fmt, RenderOptions(color=color)), output)
    ctx.exit(EXIT_FAIL if report.fails(Severity(fail_on)) else EXIT_OK)
