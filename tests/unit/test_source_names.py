"""How a file source is named: one name however its path is typed, so CI test history holds.

Real files and directories in tmp_path, the working directory set with ``monkeypatch.chdir``
(and ``$PWD`` where a shell would have set it to a symlink).
"""

from __future__ import annotations

import errno
import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from smtpcheck.config.loading import expand_paths, load_paths, source_name
from smtpcheck.errors import ConfigLoadError
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.validate import validate
from smtpcheck.reporters import RenderOptions, render
from smtpcheck.rules.base import EXAMPLE_GATEWAY


def _workspace(tmp_path: Path) -> Path:
    """``tmp/x/fleet.json`` (one gateway) and ``tmp/x/configs/{a,b}.json``."""
    work = tmp_path / "x"
    (work / "configs").mkdir(parents=True)
    for path in (work / "fleet.json", work / "configs" / "a.json", work / "configs" / "b.json"):
        path.write_text(json.dumps(EXAMPLE_GATEWAY), encoding="utf-8")
    return work


def _names(*paths: str) -> list[str]:
    return [doc.source for doc in load_paths(paths, environ={})]


def _junit_cases(*paths: str) -> list[tuple[str | None, str | None]]:
    report = validate(load_paths(paths, environ={}), LintOptions())
    root = ET.fromstring(render(report, "junit", RenderOptions()))
    return [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = _workspace(tmp_path)
    monkeypatch.chdir(directory)
    monkeypatch.delenv("PWD", raising=False)  # as a program started by `cd x && …` sees it
    return directory


def test_source_name_is_the_same_however_the_path_is_typed(work):
    spellings = ["./fleet.json", "fleet.json", "../x/fleet.json", str(work / "fleet.json")]
    assert [_names(path) for path in spellings] == [["fleet.json"]] * 4
    # What a gateway is filed under is its test's identity in CI: one test, not four.
    cases = [_junit_cases(path) for path in spellings]
    assert cases[0] == [("fleet.json", "gateway 7 'Dealer mail'")]
    assert cases == [cases[0]] * 4


def test_source_name_of_a_directory_is_the_same_however_it_is_typed(work):
    expected = ["configs/a.json", "configs/b.json"]
    for typed in ("configs", "./configs/", "../x/configs", str(work / "configs")):
        assert _names(typed) == expected, typed


def test_source_name_outside_the_working_directory_is_absolute_and_normalised(work, tmp_path):
    other = tmp_path / "y" / "other.json"
    other.parent.mkdir()
    other.write_text(json.dumps(EXAMPLE_GATEWAY), encoding="utf-8")
    expected = other.as_posix()
    assert _names("../y/other.json", f"{work}/../y/./other.json", str(other)) == [expected] * 3
    assert ".." not in expected and "/./" not in expected


def test_source_name_of_standard_input_stays_stdin(work):
    stdin = io.BytesIO(json.dumps(EXAMPLE_GATEWAY).encode())
    assert [d.source for d in load_paths(["-"], environ={}, stdin=stdin)] == ["<stdin>"]


def test_source_name_is_the_same_in_a_source_level_finding(work):
    (work / "broken.json").write_text("{", encoding="utf-8")
    report = validate(load_paths(["./broken.json"], environ={}), LintOptions())
    (finding,) = report.findings
    assert finding.code == "SC001" and finding.source == "broken.json"
    assert finding.message.startswith("broken.json:1:2: ")


def test_source_name_keeps_a_symlinked_workspace_as_the_shell_names_it(tmp_path, monkeypatch):
    real = _workspace(tmp_path / "builds" / "123")
    link = tmp_path / "ws"
    link.symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(link)  # getcwd() now says .../builds/123/x
    monkeypatch.setenv("PWD", str(link))  # what `cd ws` in a shell leaves
    typed = ["./fleet.json", str(link / "fleet.json"), str(real / "fleet.json")]
    assert _names(*typed) == ["fleet.json"] * 3


def test_source_name_does_not_resolve_a_link_outside_the_working_directory(work, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(work, target_is_directory=True)
    # Outside the working directory (as the text says): the link's name, not its target's.
    assert _names(str(link / "fleet.json")) == [(link / "fleet.json").as_posix()]
    (work / "alias.json").symlink_to(work / "configs" / "a.json")
    assert _names("alias.json") == ["alias.json"]


def test_source_name_ignores_a_pwd_that_is_not_the_working_directory(work, monkeypatch):
    monkeypatch.setenv("PWD", str(work / "configs"))  # stale: left by a parent that moved
    assert _names("fleet.json", str(work / "fleet.json")) == ["fleet.json", "fleet.json"]
    monkeypatch.setenv("PWD", f"{work}/../x")  # the same directory, but not a normal name
    assert _names(str(work / "fleet.json")) == ["fleet.json"]


def test_source_name_without_a_working_directory_is_the_normalised_path(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert source_name("/srv/./ci/../fleet.json") == "/srv/fleet.json"
    assert source_name("./a//b.json") == "a/b.json"


def test_source_name_too_long_for_the_system_is_a_load_error(work):
    with pytest.raises(ConfigLoadError) as caught:
        expand_paths(["a" * 256])
    assert caught.value.path == "a" * 256
    assert str(caught.value) == f"{'a' * 256}: {os.strerror(errno.ENAMETOOLONG)}"


def test_source_with_a_line_break_is_quoted_in_its_error(work):
    with pytest.raises(ConfigLoadError) as caught:
        expand_paths(["no\nsuch.json"])
    assert str(caught.value) == "'no\\nsuch.json': no such file or directory"
    with pytest.raises(ConfigLoadError) as caught:
        expand_paths(["plain name.json"])  # printable: shown as typed, as before
    assert str(caught.value) == "plain name.json: no such file or directory"
