"""`smtpcheck validate`: the static lint, with no network access."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import click

from smtpcheck.cli.api_options import ApiOptions, api_documents, api_options
from smtpcheck.cli.options import (
    report_exit_code,
    report_options,
    selectors,
    unknown_for_nagios,
    use_color,
    verbose_option,
    write_output,
)

__all__ = ["validate"]


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@report_options()
@verbose_option
@api_options
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
    verbose: bool,
    api: ApiOptions | None,
) -> None:
    """Lint gateway configs without connecting to any mail server.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    Each file may hold one gateway, an array of gateways or the panel's whole list response.
    With --api-url or --region the panel API's list is checked too, and SOURCE is optional.
    """
    from smtpcheck.checker import StaticOptions
    from smtpcheck.checker import validate as run_validate
    from smtpcheck.reporters import RenderOptions, render
    from smtpcheck.results import Severity
    from smtpcheck.rules import Selection
    from smtpcheck.sources import load_paths

    if not sources and api is None:
        raise click.UsageError(
            "give at least one SOURCE (a file, a directory, or - for stdin) or the panel API "
            "(--api-url or --region)"
        )
    with unknown_for_nagios(fmt):
        options = StaticOptions(
            selection=Selection(selectors(select), selectors(ignore)),
            gateway_ids=frozenset(gateway_ids),
        )
        documents = itertools.chain(
            api_documents(api), load_paths(sources, environ=os.environ, stdin=sys.stdin.buffer)
        )
        report = run_validate(documents, options)
    render_options = RenderOptions(
        color=use_color(fmt, output, no_color), verbose=verbose, fail_on=Severity(fail_on)
    )
    write_output(render(report, fmt, render_options), output)
    ctx.exit(report_exit_code(report, fmt=fmt, fail_on=Severity(fail_on)))
