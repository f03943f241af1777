"""The reporter type: a named function from a `Report` to text. Reporters never write anywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    """One output format."""

    name: str
    media_type: str
    render: Callable[[Report, RenderOptions], str]
