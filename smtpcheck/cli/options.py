"""Options shared by the commands, and writing a rendered report where the user asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from smtpcheck.defaults import FAIL_ON, FORMAT, FORMATS
from smtpcheck.errors import SmtpcheckError

if TYPE_CHECKING:
    from smtpcheck.cli.api_options import ApiOptions
    from smtpcheck.config.documents import SourceDocument
    from smtpcheck.pipeline.validate import StaticOptions
    from smtpcheck.results import Report, Severity

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_OK",
    "documents_of",
    "finish",
    "report_exit_code",
    "report_options",
    "selectors",
    "stacked",
    "static_options",
    "unknown_for_nagios",
    "use_color",
    "verbose_option",
    "write_output",
]

EXIT_OK = 0  # every check passed (warnings too, unless --fail-on warning)
EXIT_FAIL = 1  # a gateway failed, or a finding at or above --fail-on
EXIT_ERROR = 2  # the run could not happen: bad options, unreadable path, unusable panel API

F = TypeVar("F", bound=Callable[..., Any])


def stacked(options: Sequence[Callable[[F], F]]) -> Callable[[F], F]:
    """Return one decorator applying ``options`` so that ``--help`` lists them in that order."""

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def report_options(formats: Sequence[str] = FORMATS) -> Callable[[F], F]:
    """Add the options every reporting command shares."""
    return stacked(
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(list(formats)),
                default=FORMAT,
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
                type=click.Choice(["error", "warning"]),  # Severity, not imported here
                default=FAIL_ON,
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
    )


def verbose_option(command: F) -> F:
    """Add ``-v``: details of every gateway, and each probe's redacted SMTP transcript."""
    option = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show every gateway in full, with the SMTP transcript of each probe "
        "(passwords masked).",
    )
    return option(command)


def selectors(values: Sequence[str]) -> tuple[str, ...]:
    """Split repeated and comma-separated ``--select`` / ``--ignore`` values."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def use_color(fmt: str, output: Path | None, no_color: bool) -> bool:
    """Return True when text goes to a terminal and nobody asked for plain output."""
    # no-color.org: NO_COLOR disables colour when it is set to anything but the empty string.
    if fmt != "text" or output is not None or no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def report_exit_code(report: Report, *, fmt: str, fail_on: Severity) -> int:
    """Return the exit code of a finished run: 0/1 (DESIGN §4), or 0-3 for ``--format nagios``."""
    if fmt == "nagios":
        from smtpcheck.reporters.nagios import nagios_exit_code

        return nagios_exit_code(report, fail_on)
    return EXIT_FAIL if report.fails(fail_on) else EXIT_OK


@contextmanager
def unknown_for_nagios(fmt: str) -> Iterator[None]:
    """Under ``--format nagios``, turn an error that stops the run into UNKNOWN (exit 3).

    Nagios reads exit 2 as CRITICAL and shows standard output: a typo in a path must read as
    "the check could not run", not as a mail outage. Other formats let the error through.
    """
    try:
        yield
    except (SmtpcheckError, click.UsageError) as exc:
        if fmt != "nagios":
            raise
        from smtpcheck.reporters.nagios import NagiosState, render_unknown

        message = exc.format_message() if isinstance(exc, click.UsageError) else str(exc)
        click.echo(render_unknown(message), nl=False)
        click.get_current_context().exit(NagiosState.UNKNOWN)


def write_output(text: str, output: Path | None) -> None:
    """Write a rendered report to the file given, or to standard output."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc


def static_options(
    select: Sequence[str], ignore: Sequence[str], gateway_ids: Sequence[int]
) -> StaticOptions:
    """Build the rule selection and gateway filter that every checking command shares.

    Raises:
        UsageError: a selector names no rule.
    """
    from smtpcheck.pipeline.validate import StaticOptions
    from smtpcheck.rules import Selection

    return StaticOptions(
        selection=Selection(selectors(select), selectors(ignore)),
        gateway_ids=frozenset(gateway_ids),
    )


def documents_of(sources: Sequence[str], api: ApiOptions | None) -> Iterator[SourceDocument]:
    """Return the documents to check: the panel API's list first, then each SOURCE.

    Raises:
        click.UsageError: neither a SOURCE nor the panel API was given.
    """
    import itertools

    from smtpcheck.cli.api_options import api_documents
    from smtpcheck.config.loading import load_paths

    if not sources and api is None:
        raise click.UsageError(
            "give at least one SOURCE (a file, a directory, or - for stdin) or the panel API "
            "(--api-url or --region)"
        )
    return itertools.chain(
        api_documents(api), load_paths(sources, environ=os.environ, stdin=sys.stdin.buffer)
    )


def finish(
    report: Report, *, fmt: str, output: Path | None, no_color: bool, verbose: bool, fail_on: str
) -> None:
    """Render the report where the user asked and exit with the run's code."""
    from smtpcheck.reporters import RenderOptions, render
    from smtpcheck.results import Severity

    severity = Severity(fail_on)
    options = RenderOptions(
        color=use_color(fmt, output, no_color), verbose=verbose, fail_on=severity
    )
    write_output(render(report, fmt, options), output)
    click.get_current_context().exit(report_exit_code(report, fmt=fmt, fail_on=severity))
