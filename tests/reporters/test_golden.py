"""Every format, byte for byte, against the files in golden/.

After an intended change of output, rewrite them with ``SMTPCHECK_UPDATE_GOLDEN=1 pytest
tests/reporters`` and review the diff before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from smtpcheck.reporters import REPORTERS, RenderOptions, render
from smtpcheck.results import Report
from tests.reporters.sample import empty_report, fleet_report, full_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SMTPCHECK_UPDATE_GOLDEN") == "1"

CASES: list[tuple[str, Callable[[], Report], str, RenderOptions]] = [
    ("full.txt", full_report, "text", RenderOptions()),
    ("full.color.txt", full_report, "text", RenderOptions(color=True)),
    ("full.verbose.txt", full_report, "text", RenderOptions(verbose=True)),
    ("full.quiet.txt", full_report, "text", RenderOptions(quiet=True)),
    ("full.w40.txt", full_report, "text", RenderOptions(width=40)),
    ("full.w80.txt", full_report, "text", RenderOptions(width=80)),
    ("full.w200.txt", full_report, "text", RenderOptions(width=200)),
    ("full.json", full_report, "json", RenderOptions()),
    ("full.verbose.json", full_report, "json", RenderOptions(verbose=True)),
    ("full.junit.xml", full_report, "junit", RenderOptions()),
    ("full.verbose.junit.xml", full_report, "junit", RenderOptions(verbose=True)),
    ("full.nagios.txt", full_report, "nagios", RenderOptions()),
    ("full.prom", full_report, "prometheus", RenderOptions()),
    ("full.labels.prom", full_report, "prometheus", RenderOptions(labels=(("region", "eu"),))),
    ("full.sarif", full_report, "sarif", RenderOptions()),
    ("fleet.txt", fleet_report, "text", RenderOptions()),
    ("fleet.nagios.txt", fleet_report, "nagios", RenderOptions()),
    ("fleet.junit.xml", fleet_report, "junit", RenderOptions()),
    ("fleet.prom", fleet_report, "prometheus", RenderOptions()),
    ("empty.txt", empty_report, "text", RenderOptions()),
    ("empty.nagios.txt", empty_report, "nagios", RenderOptions()),
]


@pytest.mark.parametrize(("name", "build", "fmt", "options"), CASES, ids=[c[0] for c in CASES])
def test_golden_output(name, build, fmt, options):
    rendered = render(build(), fmt, options)
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(rendered.encode("utf-8"))
    assert path.exists(), f"{name} is missing: run with SMTPCHECK_UPDATE_GOLDEN=1 to create it"
    # Bytes, not read_text(): newline translation must not hide a stray "\r".
    assert rendered == path.read_bytes().decode("utf-8"), f"{name} differs from its golden file"


def test_golden_cases_cover_every_format():
    assert {fmt for _, _, fmt, _ in CASES} == set(REPORTERS)


def test_golden_files_are_all_in_use():
    assert {p.name for p in GOLDEN.iterdir()} == {name for name, *_ in CASES}
