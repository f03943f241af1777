"""The options every reporting command shares, parsed into one `ReportOptions`."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from smtpcheck.defaults import FAIL_ON, FORMAT, FORMATS

if TYPE_CHECKING:
    from smtpcheck.pipeline.inventory import LintOptions
    from smtpcheck.results import Severity

__all__ = [
    "SECONDS",
    "TEXT",
    "FilePath",
    "ReportOptions",
    "format_option",
    "no_color_option",
    "report_options",
    "selectors",
    "stacked",
    "verbose_option",
]


class _Seconds(click.ParamType):  # type: ignore[type-arg]
    """A duration in seconds: a finite number above 0 ("nan" and "inf" are numbers to float)."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r}: give a number of seconds above 0", param, ctx)
        return number


SECONDS = _Seconds()


def _unencodable(value: str) -> bool:
    # A lone surrogate (text that was never UTF-8) cannot be sent, hashed or used as a file
    # name; os.fsencode takes the surrogateescape forms a command line's raw bytes become.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Text(click.ParamType):  # type: ignore[type-arg]
    """Text that is valid UTF-8 (a session hash, a login), refused as such when it is not."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if _unencodable(text):
            self.fail(f"{text!r} is not UTF-8 text", param, ctx)
        return text


TEXT = _Text()


class FilePath(click.Path):
    """A `click.Path` that refuses a name the file system cannot be given (a lone surrogate)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            if isinstance(value, str):
                os.fsencode(value)
        except UnicodeEncodeError:
            self.fail(f"{value!r} is not a file name this system can use", param, ctx)
        return super().convert(value, param, ctx)


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
    option = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show every gateway in full, with the SMTP transcript of each probe "
        "(passwords masked).",
    )
    return option(command)


def report_options(command: F) -> F:
    """Add the options every reporting command shares; it receives them as one ``report``."""

    @functools.wraps(command)
    def with_report(*args: Any, **kwargs: Any) -> Any:
        kwargs["report"] = ReportOptions(**{name: kwargs.pop(name) for name in _NAMES})
        return command(*args, **kwargs)

    return cast(F, stacked([*_OPTIONS, verbose_option])(with_report))


_NAMES = ("fmt", "output", "select", "ignore", "fail_on", "gateway_ids", "no_color", "verbose")

#: ``--format``, every report format offered; the commands that render a report share it.
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=FORMAT,
    show_default=True,
    help="Output format.",
)
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
        "--fail-on",
        type=click.Choice(["error", "warning"]),  # Severity, not imported here
        default=None,  # to tell "not given" apart: --format nagios judges by "works" then
        help=f"Lowest finding severity that makes the exit code 1 [default: {FAIL_ON}; with "
        "--format nagios, CRITICAL only for a gateway that does not work].",
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
