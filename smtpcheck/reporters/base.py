"""The reporter type: a named function from a `Report` to text. Reporters never write anywhere.

A format whose consumer reads the exit status too (Nagios) also names the functions that give
that status, for a finished run and for one that could not happen; the command line asks the
reporter, and knows no format by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from smtpcheck.results import Locations, Report, Severity
from smtpcheck.results.location import RuleHelp

__all__ = ["RenderOptions", "Reporter"]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render: colour for a terminal, details and transcripts for ``-v``.

    ``fail_on`` is the run's ``--fail-on`` (None: not given): formats that state a verdict
    (nagios) agree with the exit code. ``labels``: constant labels for every sample (``--label``,
    prometheus). ``quiet``: only what failed or warned (text). ``width``: the terminal's columns
    when text goes to one, else None. ``locations``: where findings point in their files (sarif).
    ``rule_help``: each rule's documentation by code (sarif), as data: reporters never see rules.
    """

    color: bool = False
    verbose: bool = False
    fail_on: Severity | None = None
    labels: tuple[tuple[str, str], ...] = ()
    quiet: bool = False
    width: int | None = None
    locations: Locations | None = None
    rule_help: Mapping[str, RuleHelp] | None = None


@dataclass(frozen=True, slots=True)
class Reporter:
    """One output format, its functions imported only when the format is used."""

    name: str
    media_type: str
    module: str  # e.g. "smtpcheck.reporters.junit": xml.etree costs a run that never needs it
    function: str  # (Report, RenderOptions) -> str
    exit_code: str | None = None  # (Report, Severity | None) -> int, for a format's own
    unusable: str | None = None  # (message) -> (text, exit code), for a run that cannot happen

    def render(self, report: Report, options: RenderOptions) -> str:
        """Render the report in this format."""
        render = cast(Callable[[Report, RenderOptions], str], self._load(self.function))
        return render(report, options)

    def status(self, report: Report, fail_on: Severity | None) -> int | None:
        """Return the exit status this format's consumer reads, or None for the usual one."""
        if self.exit_code is None:
            return None
        status = cast(Callable[[Report, Severity | None], int], self._load(self.exit_code))
        return status(report, fail_on)

    def could_not_run(self, message: str) -> tuple[str, int] | None:
        """Return the output and exit status of a run that could not happen, or None."""
        if self.unusable is None:
            return None
        answer = cast(Callable[[str], tuple[str, int]], self._load(self.unusable))
        return answer(message)

    def _load(self, name: str) -> object:
        return getattr(importlib.import_module(self.module), name)
