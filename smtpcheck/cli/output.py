"""Where output goes: standard output or a file, colour only on a terminal, private files."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smtpcheck.cli.exits import exit_code

if TYPE_CHECKING:
    from smtpcheck.cli.options import ReportOptions
    from smtpcheck.results import Report

__all__ = ["finish", "use_color", "write_output", "write_private"]


def use_color(fmt: str, output: Path | None, no_color: bool) -> bool:
    """Return True when text goes to a terminal and nobody asked for plain output."""
    # no-color.org: NO_COLOR disables colour when it is set to anything but the empty string.
    if fmt != "text" or output is not None or no_color or os.environ.get("NO_COLOR"):
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


def finish(report: Report, options: ReportOptions) -> None:
    """Render the report where the user asked and exit with the run's code."""
    from smtpcheck.reporters import RenderOptions, render

    color = use_color(options.fmt, options.output, options.no_color)
    rendering = RenderOptions(color=color, verbose=options.verbose, fail_on=options.severity)
    write_output(render(report, options.fmt, rendering), options.output)
    code = exit_code(report, fmt=options.fmt, fail_on=options.severity)
    click.get_current_context().exit(code)
