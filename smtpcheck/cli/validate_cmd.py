"""`smtpcheck validate`: the static lint, with no network access."""

from __future__ import annotations

from pathlib import Path

import click

from smtpcheck.cli.api_options import ApiOptions, api_options
from smtpcheck.cli.options import (
    documents_of,
    finish,
    report_options,
    static_options,
    unknown_for_nagios,
    verbose_option,
)

__all__ = ["validate"]


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@report_options()
@verbose_option
@api_options
def validate(
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
    from smtpcheck.pipeline.validate import validate as run_validate

    with unknown_for_nagios(fmt):
        options = static_options(select, ignore, gateway_ids)
        report = run_validate(documents_of(sources, api), options)
    finish(report, fmt=fmt, output=output, no_color=no_color, verbose=verbose, fail_on=fail_on)
