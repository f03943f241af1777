"""`smtpcheck fetch`: save the panel API's gateway list, SMTP passwords redacted by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.api_options import ApiOptions, api_options
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import FilePath
from smtpcheck.cli.output import preflight_output, write_private

__all__ = ["fetch"]


@click.command(cls=GroupedCommand)
@click.option(
    "-o",
    "--output",
    type=FilePath(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the list to this file (created with mode 0600, replaced whole) instead of "
    "standard output.",
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Keep the SMTP passwords (mail.smtp.password) instead of redacting them.",
)
@api_options
def fetch(output: Path | None, include_secrets: bool, api: ApiOptions | None) -> None:
    """Save the panel's email gateway list as JSON, as the API sent it.

    Give the API with --api-url or --region, and a session with --hash (NAVIXY_HASH) or --login
    (NAVIXY_LOGIN, password in NAVIXY_PASSWORD). The saved file can be checked later:
    `smtpcheck validate FILE`.
    """
    if api is None:
        raise click.UsageError("fetch needs the panel API: give --api-url or --region")
    if output is not None and str(output) == "-":
        output = None  # standard output
    # Before the password prompt and the API call: a list fetched for nothing costs a login.
    preflight_output(output)
    from smtpcheck.config.saving import prepare_for_file
    from smtpcheck.pipeline.sources import fetch_list

    data = prepare_for_file(fetch_list(api.source()), redact=not include_secrets)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text)
    note = "" if include_secrets else "; SMTP passwords redacted"
    click.echo(f"smtpcheck: saved {_count(data)} gateways to {output}{note}", err=True)


def _count(data: Any) -> int:
    if not isinstance(data, dict):
        return 0
    return sum(len(data[key]) for key in ("own", "leasable") if isinstance(data.get(key), list))
