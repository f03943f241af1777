"""`smtpcheck fetch`: save the panel API's gateway list, SMTP passwords redacted by default."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.api_options import ApiOptions, api_options, fetch_api_list
from smtpcheck.config.params import REDACTED, escape_reference, is_secret_param

__all__ = ["fetch", "prepare_for_file"]


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the list to this file (created with mode 0600) instead of standard output.",
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
    data = prepare_for_file(fetch_api_list(api), redact=not include_secrets)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    write_private(output, text)
    note = "" if include_secrets else "; SMTP passwords redacted"
    click.echo(f"smtpcheck: saved {_count(data)} gateways to {output}{note}", err=True)


def prepare_for_file(value: Any, *, redact: bool) -> Any:
    """Return a copy of API data that reads back, from a file, as exactly what the API sent.

    Filled-in passwords (and keys that look like one) become `REDACTED` when ``redact``; an empty
    or null password stays as it is, so a saved list still shows which gateways have none
    (SC301). Text starting with ``${`` gets one more dollar, so that reading the file back never
    takes a panel-supplied ``"${NAME}"`` from this machine's environment.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED
            if redact and is_secret_param(str(key)) and item not in (None, "")
            else prepare_for_file(item, redact=redact)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [prepare_for_file(item, redact=redact) for item in value]
    if isinstance(value, str):
        return escape_reference(value)
    return value


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that only the owner can ever read it.

    The data goes to a new file created with mode 0600 beside the target, which then replaces
    it: no moment exists at which the content is readable by others, not even when ``path``
    already existed with a wider mode.

    Raises:
        click.ClickException: the file cannot be written.
    """
    import secrets

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from exc


def _count(data: Any) -> int:
    if not isinstance(data, dict):
        return 0
    return sum(len(data[key]) for key in ("own", "leasable") if isinstance(data.get(key), list))
