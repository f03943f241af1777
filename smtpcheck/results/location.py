"""Where a finding points in its source file, and the rule help that formats such as SARIF show.

Filled only for formats that show it (SARIF); the key is the gateway's source, its position
in that source ('' for the whole file, '[2]', 'own[0]') and the param (None: the gateway, or
for a source-level finding the file itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from smtpcheck.results.report import Severity

__all__ = ["STDIN_SOURCE", "LocationKey", "Locations", "Region", "RuleHelp", "is_file_source"]

#: How a report names standard input as a source.
STDIN_SOURCE = "<stdin>"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class Region:
    """A span of a text file, lines and columns counted from 1 (as SARIF and editors do).

    ``end_column`` is one past the last character (SARIF's convention), and columns count
    UTF-16 code units: a character outside the BMP takes two.
    """

    line: int
    column: int
    end_line: int
    end_column: int


#: (source, position in the source, param or None).
LocationKey = tuple[str, str, str | None]
Locations = Mapping[LocationKey, Region]


@dataclass(frozen=True, slots=True)
class RuleHelp:
    """A rule's documentation as data, for formats that carry it (reporters never see rules).

    ``sections`` are the docstring's sections in order, as (title, body) pairs: "What it
    checks", "Why it matters", "Bad", "Good", "Fix", "References".
    """

    code: str
    slug: str
    severity: Severity  # the rule's default
    summary: str
    sections: tuple[tuple[str, str], ...] = ()

    def section(self, title: str) -> str | None:
        """Return the body of one section, or None when the rule has none of that title."""
        return next((body for name, body in self.sections if name == title), None)


def is_file_source(source: str) -> bool:
    """Return True for a source that is a file path: not standard input, not the panel's URL."""
    return source != STDIN_SOURCE and _URL.match(source) is None
