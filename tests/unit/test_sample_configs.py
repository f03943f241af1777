"""The samples do what ``sample_configs/README.md`` says: its table is parsed, not copied here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import smtpcheck

SAMPLES = Path(__file__).parent.parent.parent / "sample_configs"
_ROW = re.compile(
    r"\|\s*`(?P<file>[^`]+)`\s*\|(?P<shows>[^|]+)\|(?P<codes>[^|]+)\|\s*(?P<exit>\d)\s*\|"
)


@dataclass(frozen=True)
class _Promise:
    file: str
    codes: frozenset[str]
    exit_code: int


def _promises() -> list[_Promise]:
    text = (SAMPLES / "README.md").read_text("utf-8")
    promises = []
    for match in _ROW.finditer(text):
        codes = match["codes"].strip()
        listed = frozenset() if codes == "—" else frozenset(c.strip() for c in codes.split(","))
        promises.append(_Promise(match["file"], listed, int(match["exit"])))
    return promises


_PROMISES = _promises()


def _validate(path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    result = smtpcheck("validate", "--format", "json", *options, str(path))
    assert "Traceback" not in result.stderr, result.stderr
    return result.code, json.loads(result.stdout)


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["findings"], *(f for g in report["gateways"] for f in g["findings"])]


def test_sample_readme_table_lists_every_sample() -> None:
    # demo/ holds `smtpcheck demo`'s gateways, which need its servers (tests/integration/test_demo)
    on_disk = sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*.json")
        if p.relative_to(SAMPLES).parts[0] != "demo"
    )
    assert sorted(p.file for p in _PROMISES) == on_disk
    assert len(_PROMISES) >= 12  # the table parsed at all


@pytest.mark.parametrize("promise", _PROMISES, ids=[p.file for p in _PROMISES])
def test_sample_reports_what_the_readme_promises(promise: _Promise) -> None:
    exit_code, report = _validate(SAMPLES / promise.file)
    assert {f["code"] for f in _findings(report)} == promise.codes
    assert exit_code == promise.exit_code


@pytest.mark.parametrize("promise", _PROMISES, ids=[p.file for p in _PROMISES])
def test_sample_fail_on_warning_fails_on_any_warning(promise: _Promise) -> None:
    exit_code, report = _validate(SAMPLES / promise.file, "--fail-on", "warning")
    severities = {f["severity"] for f in _findings(report)}
    assert exit_code == (1 if severities & {"error", "warning"} else 0)


def test_sample_ci_config_has_no_error_or_warning() -> None:
    exit_code, report = _validate(SAMPLES / "ci-mailpit.json", "--fail-on", "warning")
    assert exit_code == 0
    assert {f["severity"] for f in _findings(report)} <= {"info"}
    (gateway,) = report["gateways"]
    assert gateway["status"] == "ok"
    assert gateway["endpoint"] == {
        "host": "localhost",
        "port": 1025,
        "mode": "none",
        "starttls_required": False,
    }


@pytest.mark.parametrize("name", ["starttls-587.json", "implicit-tls-465.json"])
def test_sample_correct_configs_are_clean(name: str) -> None:
    exit_code, report = _validate(SAMPLES / name)
    assert (exit_code, _findings(report)) == (0, [])
    assert report["gateways"][0]["status"] == "ok"


def test_sample_mistakes_directory_at_once() -> None:
    exit_code, report = _validate(SAMPLES / "mistakes")
    assert exit_code == 1
    assert len(report["gateways"]) == len([p for p in _PROMISES if p.file.startswith("mistakes/")])
    assert report["findings"] == []  # distinct ids, no bad file
