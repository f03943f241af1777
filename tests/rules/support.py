"""Helpers the rule tests share: building gateways from snippets, running the static pipeline, and
reading a rule's docstring sections.

A snippet for a gateway rule lists only what it changes in `EXAMPLE_GATEWAY`: either params
(``{"mail.smtp.port": 465}``) or gateway-level fields with a nested ``params``
(``{"provider": "x"}``); it is deep-merged, so every other param keeps its correct value.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.config.loading import parse_document
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.validate import validate
from smtpcheck.results import Finding
from smtpcheck.rules.base import EXAMPLE_GATEWAY

__all__ = [
    "SECTION_ORDER",
    "deep_merge",
    "docstring_sections",
    "example_gateway",
    "findings_of",
    "gateway_bytes",
]

#: The docstring sections a rule may have, in the order they must appear.
SECTION_ORDER = ("What it checks", "Why it matters", "Bad", "Good", "Fix", "References")

_GATEWAY_FIELDS = frozenset(EXAMPLE_GATEWAY)
_SECTION_HEADER = re.compile(r"([A-Z][A-Za-z ]*):")


def deep_merge(base: Mapping[str, object], override: Mapping[str, object]) -> dict[str, object]:
    """Return ``base`` with ``override`` merged in: objects recursively, anything else replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def example_gateway(snippet: Mapping[str, object]) -> dict[str, object]:
    """Apply a params or gateway-level snippet to `EXAMPLE_GATEWAY`."""
    keys = set(snippet)
    if keys and keys <= _GATEWAY_FIELDS:
        return deep_merge(EXAMPLE_GATEWAY, snippet)
    if keys & _GATEWAY_FIELDS:
        raise ValueError(f"snippet mixes gateway fields and params: {sorted(keys)}")
    return deep_merge(EXAMPLE_GATEWAY, {"params": snippet})


def findings_of(
    documents: Sequence[bytes], *, environ: Mapping[str, str] | None = None
) -> list[Finding]:
    """Parse each document and run the whole static pipeline over them, as `validate` does."""
    parsed = [
        parse_document(data, source=f"doc{i}.json", environ=environ or {})
        for i, data in enumerate(documents)
    ]
    report = validate(parsed, LintOptions())
    return list(report.all_findings())


def docstring_sections(doc: str) -> tuple[str, dict[str, str]]:
    """Split a cleaned rule docstring into its summary line and its sections, in order.

    A section starts with an unindented ``Name:`` line; its body is the indented lines after it,
    dedented. Raises ValueError for text that belongs to no section.
    """
    lines = doc.splitlines()
    summary = lines[0] if lines else ""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(lines[1:], start=2):
        header = _SECTION_HEADER.fullmatch(line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif not line.strip():
            if current is not None:
                current.append("")
        elif current is None or not line.startswith("    "):
            raise ValueError(f"line {number} is outside any section: {line!r}")
        else:
            current.append(line[4:])
    return summary, {name: "\n".join(body).strip() for name, body in sections.items()}


def gateway_bytes(gateway: Mapping[str, object]) -> bytes:
    """Serialise a gateway object the way a file holds it."""
    return json.dumps(gateway).encode()


def describe(findings: list[Finding]) -> list[tuple[str, str, str | None, str]]:
    """Show findings in an assertion message: code, severity, param, message."""
    return [(f.code, f.severity.value, f.param, f.message) for f in findings]


def matches(finding: Finding, case: Mapping[str, Any]) -> bool:
    """Return True when a finding has the severity, param and message a fail case pins."""
    return (
        ("severity" not in case or finding.severity.value == case["severity"])
        and ("param" not in case or finding.param == case["param"])
        and ("message" not in case or case["message"] in finding.message)
    )


def load_tables(directory: Path) -> dict[str, dict[str, Any]]:
    """Read every ``<CODE>.json`` case table of a directory, by code."""
    return {
        path.stem: json.loads(path.read_text("utf-8")) for path in sorted(directory.glob("*.json"))
    }


def table_cases(tables: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """Return one test parameter (code, outcome, case) per case, named ``<CODE>-<name>``."""
    return [
        pytest.param(code, outcome, case, id=f"{code}-{name}")
        for code, table in tables.items()
        for outcome in ("pass", "fail")
        for name, case in table.get(outcome, {}).items()
    ]


def malformed_tables(tables: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Name the tables that lack pass or fail cases, or hold anything else."""
    return [
        code
        for code, table in tables.items()
        if not table.get("pass") or not table.get("fail") or set(table) - {"pass", "fail", "note"}
    ]
