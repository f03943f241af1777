"""The reporter type: a named function from a `Report` to text. Reporters never write anywhere."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from smtpcheck.results import Report, Severity

__all__ = ["RenderOptions", "Reporter"]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render: colour for a terminal, details and transcripts for ``-v``.

    ``fail_on`` is the run's ``--fail-on``: formats that state a verdict (nagios) agree with the
    exit code.
    """

    color: bool = False
    verbose: bool = False
    fail_on: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class Reporter:
    """One output format, its render function imported only when the format is used."""

    name: str
    media_type: str
    module: str  # e.g. "smtpcheck.reporters.junit": xml.etree costs a run that never needs it
    function: str

    def render(self, report: Report, options: RenderOptions) -> str:
        """Render the report in this format."""
        render = getattr(importlib.import_module(self.module), self.function)
        return cast(Callable[[Report, RenderOptions], str], render)(report, options)
