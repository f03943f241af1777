"""Options shared by the commands, and writing a rendered report where the user asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from smtpcheck.results import Severity

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_OK",
    "report_options",
    "selectors",
    "use_color",
    "write_output",
]

EXIT_OK = 0  # every check passed (warnings too, unless --fail-on warning)
EXIT_FAIL = 1  # a gateway failed, or a finding at or above --fail-on
EXIT_ERROR = 2  # the run could not happen: bad options, unreadable path, unusable panel API

F = TypeVar("F", bound=Callable[..., Any])


def report_options(formats: Sequence[str]) -> Callable[[F], F]:
    """Add the options every reporting command shares."""

    def decorate(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--format",
                    "fmt",
                    type=click.Choice(list(formats)),
                    default="text",
                    show_default=True,
                    help="Output format.",
                ),
                click.option(
                    "-o",
                    "--output",
                    type=click.Path(dir_okay=False, writable=True, path_type=Path),
                    help="Write the report to this file instead of standard output.",
                ),
                click.option(
                    "--select",
                    multiple=True,
                    metavar="CODE",
                    help="Only these rules: a code, a prefix (SC1) or a slug; repeatable.",
                ),
                click.option(
                    "--ignore",
                    multiple=True,
                    metavar="CODE",
                    help="Skip these rules (same forms as --select).",
                ),
                click.option(
                    "--fail-on",
                    type=click.Choice([Severity.ERROR.value, Severity.WARNING.value]),
                    default=Severity.ERROR.value,
                    show_default=True,
                    help="Lowest finding severity that makes the exit code 1.",
                ),
                click.option(
                    "--gateway",
                    "gateway_ids",
                    type=int,
                    multiple=True,
                    metavar="ID",
                    help="Only the gateway with this id (repeatable).",
                ),
                click.option("--no-color", is_flag=True, help="Never colour the text output."),
            ]
        ):
            command = option(command)
        return command

    return decorate


def selectors(values: Sequence[str]) -> tuple[str, ...]:
    """Split repeated and comma-separated ``--select`` / ``--ignore`` values."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def use_color(fmt: str, output: Path | None, no_color: bool) -> bool:
    """Return True when text goes to a terminal and nobody asked for plain output."""
    if fmt != "text" or output is not None or no_color or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty()


def write_output(text: str, output: Path | None) -> None:
    """Write a rendered report to the file given, or to standard output."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
