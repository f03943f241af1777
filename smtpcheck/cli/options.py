"""The options every reporting command shares, parsed into one `ReportOptions`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from smtpcheck.cli.extra_outputs import EXTRA_NAMES, EXTRA_OPTIONS
from smtpcheck.cli.param_types import SECONDS, TEXT, FilePath
from smtpcheck.defaults import FAIL_ON, FORMAT, FORMATS

if TYPE_CHECKING:
    from smtpcheck.pipeline.inventory import LintOptions
    from smtpcheck.results import Severity

__all__ = [
    "SECONDS",
    "TEXT",
    "FilePath",
    "ReportOptions",
    "format_choice",
    "format_option",
    "no_color_option",
    "report_options",
    "selectors",
    "stacked",
    "verbose_option",
]


F = TypeVar("F", bound=Callable[..., Any])


def stacked(options: Sequence[Callable[[F], F]]) -> Callable[[F], F]:
    """Return one decorator applying ``options`` so that ``--help`` lists them in that order."""

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """Which rules and gateways a run looks at, and how and where its report is written."""

    fmt: str = FORMAT
    output: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str | None = None  # None: not given, each format's own default
    gateway_ids: tuple[int, ...] = ()
    no_color: bool = False
    verbose: bool = False
    reports: tuple[tuple[str, Path], ...] = ()  # --report FORMAT=PATH: further renderings
    labels: tuple[tuple[str, str], ...] = ()  # --label NAME=VALUE (prometheus)
    quiet: bool = False

    @property
    def outputs(self) -> tuple[tuple[str, Path | None], ...]:
        """Return every rendering the run writes: the ``--report`` files, then ``--format``."""
        return (*self.reports, (self.fmt, self.output))

    @property
    def severity(self) -> Severity | None:
        """Return ``--fail-on`` as a severity, or None when it was not given."""
        from smtpcheck.results import Severity

        return None if self.fail_on is None else Severity(self.fail_on)

    def lint(self) -> LintOptions:
        """Return the rule selection and gateway filter of the run.

        Raises:
            UsageError: a selector names no rule.
        """
        from smtpcheck.pipeline.inventory import LintOptions
        from smtpcheck.rules import Selection

        return LintOptions(
            selection=Selection(selectors(self.select), selectors(self.ignore)),
            gateway_ids=frozenset(self.gateway_ids),
        )


def verbose_option(command: F) -> F:
    """Add ``-v``: details of every gateway, and each probe's redacted SMTP transcript."""
    return _verbose(live=True)(command)


def _verbose(*, live: bool) -> Callable[[F], F]:
    text = "Show every gateway in full, healthy ones too"
    if live:
        text += ", with the SMTP transcript of each probe (passwords masked)"
    return click.option("-v", "--verbose", is_flag=True, help=text + ".")


def _fail_on(*, live: bool) -> Callable[[F], F]:
    nagios = (
        "CRITICAL only for a gateway that does not work or a source that cannot be read"
        if live
        else "CRITICAL for an error finding, WARNING for a warning"
    )
    return click.option(
        "--fail-on",
        type=click.Choice(["error", "warning"]),  # Severity, not imported here
        default=None,  # to tell "not given" apart: --format nagios judges by "works" then
        help=f"Lowest finding severity that makes the exit code 1 [default: {FAIL_ON}; with "
        f"--format nagios, {nagios}].",
    )


def report_options(*, live: bool) -> Callable[[F], F]:
    """Return the options every reporting command shares; it receives them as one ``report``.

    ``live``: the command probes (check), so help may speak of transcripts and "works".
    """
    names = (*_NAMES, *EXTRA_NAMES)

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_report(*args: Any, **kwargs: Any) -> Any:
            kwargs["report"] = ReportOptions(**{name: kwargs.pop(name) for name in names})
            return command(*args, **kwargs)

        options = [*_OPTIONS[:4], _fail_on(live=live), *_OPTIONS[4:], *EXTRA_OPTIONS]
        return cast(F, stacked([*options, _verbose(live=live)])(with_report))

    return decorate


_NAMES = ("fmt", "output", "select", "ignore", "fail_on", "gateway_ids", "no_color", "verbose")


def format_choice(formats: Sequence[str] = FORMATS) -> Callable[[F], F]:
    """Return ``--format`` offering ``formats``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=FORMAT,
        show_default=True,
        help="Output format.",
    )


#: ``--format``, every report format offered; the commands that render a report share it.
format_option = format_choice()
#: ``--no-color``.
no_color_option = click.option("--no-color", is_flag=True, help="Never colour the text output.")

_OPTIONS = [
    format_option,
    click.option(
        "-o",
        "--output",
        type=FilePath(dir_okay=False, writable=True, path_type=Path),
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
        "--gateway",
        "gateway_ids",
        type=int,
        multiple=True,
        metavar="ID",
        help="Only the gateway with this id (repeatable).",
    ),
    no_color_option,
]


def selectors(values: Sequence[str]) -> tuple[str, ...]:
    """Split repeated and comma-separated ``--select`` / ``--ignore`` values."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())
