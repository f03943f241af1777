"""A pytest plugin: every JSON report a test renders must match the shipped JSON Schema.

`json_reports_match_the_schema` (autouse) wraps `smtpcheck.reporters.json_.render_json`, which
the reporter registry looks up by name at each render, so every report rendered in this process
is validated against ``report.schema.json`` (draft 2020-12, formats checked). A report printed
by a subprocess is checked with `assert_valid_report`. Enabled by tests/conftest.py's
``pytest_plugins``, or by hand: ``pytest -p tests.support.report_schema``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from smtpcheck.reporters import json_
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.reporters.json_shape import schema_text
from smtpcheck.results import Report

__all__ = [
    "assert_valid_report",
    "json_reports_match_the_schema",
    "parse_report",
    "pytest_runtest_makereport",
    "report_errors",
    "report_validator",
]

_CALL = pytest.StashKey[pytest.TestReport]()
_SHOWN = 5  # mismatches listed in a failure; the rest are counted
_LONGEST = 300  # characters of one message: jsonschema quotes the whole offending value
# RFC 3339 §5.6 date-time; datetime.fromisoformat then refuses a 31 February.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _is_date_time(value: object) -> bool:
    # jsonschema checks "date-time" only when rfc3339-validator is installed, and says nothing
    # when it is not: the suite checks the format itself.
    if not isinstance(value, str):
        return True  # a format constrains strings only
    if _DATE_TIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@functools.cache
def report_validator() -> Draft202012Validator:
    """Return the validator of the shipped schema, built once a session, formats checked."""
    schema = json.loads(schema_text())
    Draft202012Validator.check_schema(schema)
    checker = FormatChecker()
    checker.checks("date-time")(_is_date_time)
    return Draft202012Validator(schema, format_checker=checker)


def report_errors(data: object) -> list[str]:
    """Return where and why the data does not match: ``$.gateways[2].status: 'up' is not …``."""
    # best_match looks inside anyOf: a nullable object's error is the bad value's, deep inside.
    errors = sorted((best_match([e]) for e in report_validator().iter_errors(data)), key=_where)
    return [f"{e.json_path}: {_shortened(e.message)}" for e in errors]


def _where(error: ValidationError) -> str:
    return str(error.json_path)


def parse_report(text: str | bytes) -> Any:
    """Return a JSON report printed or written by a child process, failing unless it is valid."""
    data = json.loads(text)
    assert_valid_report(data)
    return data


def assert_valid_report(data: object) -> None:
    """Fail the test unless the data (a parsed JSON report) matches the shipped schema."""
    errors = report_errors(data)
    if errors:
        pytest.fail(_failure("a JSON report does not match its schema", errors), pytrace=False)


@pytest.fixture(autouse=True)
def json_reports_match_the_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    """Validate every JSON report the test renders; the first mismatch fails the test."""
    original = json_.render_json
    mismatches: list[str] = []

    def render_json(report: Report, options: RenderOptions) -> str:
        text = original(report, options)
        errors = report_errors(json.loads(text))
        if errors:
            mismatches.extend(errors)
            # pytest's Failed is a BaseException: the CLI's `except Exception` lets it through.
            pytest.fail(_failure("render_json wrote a report its schema refuses", errors))
        return text

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_, "render_json", render_json)
        yield
    call = request.node.stash.get(_CALL, None)
    if mismatches and (call is None or call.passed):  # the code under test caught the failure
        pytest.fail(_failure("render_json wrote a report its schema refuses", mismatches))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each test's outcome, so the fixture knows whether a mismatch already failed it."""
    report = yield
    if report.when == "call":
        item.stash[_CALL] = report
    return report


def _failure(headline: str, errors: list[str]) -> str:
    more = len(errors) - _SHOWN
    lines = [f"{headline}:", *(f"  {e}" for e in errors[:_SHOWN])]
    return "\n".join([*lines, f"  … and {more} more"] if more > 0 else lines)


def _shortened(message: str) -> str:
    return message if len(message) <= _LONGEST else f"{message[:_LONGEST]} …"
