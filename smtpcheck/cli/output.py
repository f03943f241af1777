"""Where output goes: standard output or a file checked before the run and replaced whole."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smtpcheck.cli.exits import exit_code

if TYPE_CHECKING:
    from smtpcheck.cli.options import ReportOptions
    from smtpcheck.results import Report

__all__ = [
    "finish",
    "preflight_directory",
    "preflight_output",
    "use_color",
    "write_output",
    "write_private",
]


def use_color(fmt: str, output: Path | None, no_color: bool) -> bool:
    """Return True when text goes to a terminal and nobody asked for plain output."""
    # no-color.org: NO_COLOR disables colour when it is set to anything but the empty string.
    if fmt != "text" or output is not None or no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def preflight_output(output: Path | None, *, inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before anything is read or probed, an output file that must not be written.

    ``inputs`` are the run's sources (``-`` for standard input) and the other files it reads.

    Raises:
        click.ClickException: ``output`` cannot be written, or it would replace an input.
    """
    if output is None:
        return
    from smtpcheck.config.destination import destination_problem

    paths, stdin = _inputs(inputs)
    problem = destination_problem(output, inputs=paths, stdin=stdin)
    if problem is not None:
        raise click.ClickException(f"cannot write {output}: {problem}")


def preflight_directory(directory: Path | None, *, inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before anything is probed, a directory files cannot be written into.

    Raises:
        click.ClickException: the directory cannot be created or written into, or it lies
            inside an input directory.
    """
    if directory is None:
        return
    from smtpcheck.config.destination import directory_problem

    problem = directory_problem(directory, inputs=_inputs(inputs)[0])
    if problem is not None:
        raise click.ClickException(f"cannot create {directory}: {problem}")


def write_output(text: str, output: Path | None) -> None:
    """Write a rendered report to the file given (replaced whole or not at all), or to stdout.

    Raises:
        click.ClickException: the file cannot be written; a previous one is left as it was.
    """
    if output is None:
        click.echo(text, nl=False)
        return
    _write(output, text, private=False)


def write_private(path: Path, text: str, *, inputs: Iterable[str | None] = ()) -> None:
    """Write ``text`` to ``path`` so that only the owner can ever read it.

    The data goes to a new file created with mode 0600 beside the target, which then replaces
    it: no moment exists at which the content is readable by others, not even when ``path``
    already existed with a wider mode. ``inputs``: files it must never replace.

    Raises:
        click.ClickException: the file cannot be written; a previous one is left as it was.
    """
    _write(path, text, private=True, inputs=inputs)


def _write(path: Path, text: str, *, private: bool, inputs: Iterable[str | None] = ()) -> None:
    from smtpcheck.config.destination import destination_problem, write_atomically

    # Checked again when writing: a run lasts minutes, and a path that has become a FIFO or a
    # device since the preflight must not be replaced. (Names of --write-fixed files are known
    # only now.)
    problem = destination_problem(path, inputs=_inputs(inputs)[0])
    if problem is not None:
        raise click.ClickException(f"cannot write {path}: {problem}")
    data = text.encode("utf-8")
    try:
        write_atomically(path, data, private=private)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc


def _inputs(inputs: Iterable[str | None]) -> tuple[list[str], int | None]:
    """Return the input paths, and the descriptor of standard input when ``-`` is one."""
    given = [name for name in inputs if name is not None]
    if not given:
        return [], None
    from smtpcheck.config.loading import STDIN

    stdin = None
    if STDIN in given:
        try:
            stdin = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):  # replaced by a stream without one
            stdin = None
    return [name for name in given if name != STDIN], stdin


def finish(report: Report, options: ReportOptions, *, code: int | None = None) -> None:
    """Render the report where the user asked and exit with the run's code (or ``code``)."""
    from smtpcheck.reporters import RenderOptions, render

    color = use_color(options.fmt, options.output, options.no_color)
    rendering = RenderOptions(color=color, verbose=options.verbose, fail_on=options.severity)
    write_output(render(report, options.fmt, rendering), options.output)
    if code is None:
        code = exit_code(report, fmt=options.fmt, fail_on=options.severity)
    click.get_current_context().exit(code)
