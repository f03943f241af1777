"""The reporter type: a named function from a `Report` to text. Reporters never write anywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smtpcheck.results import Report

__all__ = ["RenderOptions", "Reporter"]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render: colour for a terminal, SMTP transcripts for ``-v``."""

    color: bool = False
    verbose: bool = False


@dataclass(frozen=True, slots=True)
class Reporter:
    """One output format."""

    name: str
    media_type: str
    render: Callable[[Report, RenderOptions], str]
