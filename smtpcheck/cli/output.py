"""Where output goes: standard output or a file checked before the run and replaced whole."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smtpcheck.cli.exits import exit_code

if TYPE_CHECKING:
    from smtpcheck.cli.options import ReportOptions
    from smtpcheck.reporters import RenderOptions
    from smtpcheck.results import Report

__all__ = [
    "finish",
    "preflight_directory",
    "preflight_output",
    "preflight_outputs",
    "render_options",
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


def preflight_outputs(options: ReportOptions, *, inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before anything is read or probed, outputs that cannot or must not be written.

    Raises:
        click.UsageError: two outputs name one file, or ``--label`` has no Prometheus output.
        click.ClickException: an output cannot be written, or it would replace an input.
    """
    if options.labels and "prometheus" not in (fmt for fmt, _ in options.outputs):
        raise click.UsageError(
            "--label labels Prometheus samples: use it with --format prometheus or "
            "--report prometheus=PATH"
        )
    names = [name for name, _ in options.labels]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise click.UsageError(f"--label {', '.join(twice)} given twice: one value per name")
    seen: dict[str, str] = {}
    for fmt, path in options.outputs:
        if path is None:
            continue
        # The same file twice would keep only the last rendering, silently.
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise click.UsageError(f"{path} is written twice ({seen[key]} and {fmt})")
        seen[key] = fmt
        preflight_output(path, inputs=inputs)


def finish(report: Report, options: ReportOptions, *, code: int | None = None) -> None:
    """Write every rendering the user asked for and exit with the run's code (or ``code``).

    The ``--report`` files are written first, each replaced whole or not at all, so that a
    file that cannot be written stops the run before its standard output is printed.
    """
    from smtpcheck.reporters import render

    for fmt, path in options.outputs:
        write_output(render(report, fmt, render_options(report, options, fmt, path)), path)
    if code is None:
        code = exit_code(report, fmt=options.fmt, fail_on=options.severity)
    click.get_current_context().exit(code)


def render_options(
    report: Report, options: ReportOptions, fmt: str, output: Path | None
) -> RenderOptions:
    """Return how to render ``fmt`` for ``output`` (None: standard output)."""
    from smtpcheck.reporters import RenderOptions

    terminal = fmt == "text" and output is None and sys.stdout.isatty()
    rendering = RenderOptions(
        color=use_color(fmt, output, options.no_color),
        verbose=options.verbose,
        fail_on=options.severity,
        labels=options.labels,
        quiet=options.quiet,
        width=shutil.get_terminal_size().columns if terminal else None,
    )
    if fmt != "sarif":
        return rendering
    # SARIF points at lines of the config files and carries each rule's help: both are read
    # only when it is asked for.
    from smtpcheck.pipeline.locating import locations, rule_help

    codes = (finding.code for finding in report.all_findings())
    return dataclasses.replace(rendering, locations=locations(report), rule_help=rule_help(codes))
