"""`smtpcheck schema`: print the JSON Schema (draft 2020-12) of the ``--format json`` report."""

from __future__ import annotations

import click

from smtpcheck.cli.help import GroupedCommand

__all__ = ["schema"]


@click.command(cls=GroupedCommand)
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) that every --format json report matches.

    It is the file shipped with this version, generated from the report's types.
    """
    # The shipped text as it is: a run never generates the schema (nor imports pydantic).
    from smtpcheck.reporters.json_shape import schema_text

    click.echo(schema_text(), nl=False)
