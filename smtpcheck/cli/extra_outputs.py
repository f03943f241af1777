"""Options that add to one run's output: ``--report FORMAT=PATH``, ``--label``, ``-q``.

CI wants JUnit and JSON, a person wants text, and a textfile collector wants labels that keep
two regions' files apart: all from one run, so the formats never disagree about what they saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.param_types import FilePath
from smtpcheck.defaults import FORMATS

__all__ = ["EXTRA_NAMES", "EXTRA_OPTIONS"]


class _ReportTarget(click.ParamType):  # type: ignore[type-arg]
    """``FORMAT=PATH``: one more rendering of the report, written to a file."""

    name = "format=path"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, Path]:
        if isinstance(value, tuple):  # already converted (a default)
            return value
        fmt, sep, path = str(value).partition("=")
        if not sep or not path:
            self.fail(f"{value!r}: give FORMAT=PATH, e.g. junit=report.xml", param, ctx)
        if fmt not in FORMATS:
            self.fail(f"{fmt!r} is not a format: choose from {', '.join(FORMATS)}", param, ctx)
        target = FilePath(dir_okay=False, writable=True, path_type=Path).convert(path, param, ctx)
        return fmt, target


class _Label(click.ParamType):  # type: ignore[type-arg]
    """``NAME=VALUE``: a constant label on every Prometheus sample."""

    name = "name=value"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        name, sep, label = str(value).partition("=")
        if not sep:
            self.fail(f"{value!r}: give NAME=VALUE, e.g. region=eu", param, ctx)
        if not label:
            # Prometheus reads an empty value as no label: two files would still collide.
            self.fail(f"{value!r}: give a value; an empty one is no label at all", param, ctx)
        try:
            label.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(f"{label!r} is not UTF-8 text", param, ctx)
        from smtpcheck.reporters.prometheus import constant_label_problem

        problem = constant_label_problem(name)
        if problem is not None:
            self.fail(f"{name!r}: {problem}", param, ctx)
        return name, label


#: ``--label NAME=VALUE`` (repeatable), received as ``labels``; `serve` takes it too.
LABEL = click.option(
    "--label",
    "labels",
    type=_Label(),
    multiple=True,
    metavar="NAME=VALUE",
    help="Add a constant label to every Prometheus sample, so that the files of two "
    "regions or panels never collide (repeatable).",
)

#: The options, in ``--help`` order, and the names the command receives them under.
EXTRA_OPTIONS = [
    click.option(
        "--report",
        "reports",
        type=_ReportTarget(),
        multiple=True,
        metavar="FORMAT=PATH",
        help="Also write the report in FORMAT to PATH, e.g. junit=report.xml (repeatable; "
        "each file replaced whole or not at all).",
    ),
    LABEL,
    click.option(
        "-q",
        "--quiet",
        is_flag=True,
        help="Text: show only what failed, warned or could not be checked, and the summary.",
    ),
]
EXTRA_NAMES = ("reports", "labels", "quiet")
