"""`smtpcheck validate`: the static lint, with no network access."""

from __future__ import annotations

import click

from smtpcheck.cli.api_options import ApiOptions, api_options, sources_of
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import ReportOptions, report_options
from smtpcheck.cli.output import finish, preflight_outputs

__all__ = ["validate"]


@click.command(cls=GroupedCommand)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@report_options(live=False)
@api_options
def validate(sources: tuple[str, ...], report: ReportOptions, api: ApiOptions | None) -> None:
    """Lint gateway configs without connecting to any mail server.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    Each file may hold one gateway, an array of gateways or the panel's whole list response.
    With --api-url or --region the panel API's list is checked too, and SOURCE is optional.
    """
    from smtpcheck.pipeline.validate import validate as run_validate

    preflight_outputs(report, inputs=sources)
    lint = report.lint()
    result = run_validate(sources_of(sources, api), lint)
    finish(result, report)
