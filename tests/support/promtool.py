"""promtool, Prometheus's own checker, over every exposition a test renders in this process.

`promtool_problems` runs ``promtool check metrics`` (parser and name lint) on one text. The
autouse fixture `promtool_checks_every_render` (a plugin: ``pytest_plugins`` or ``-p
tests.support.promtool``) wraps the prometheus reporter, so a test whose output promtool
refuses fails. Without promtool it checks nothing; tests/reporters/test_prometheus_consumers.py
then says so (a skip, a failure under CI=true).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest

from smtpcheck.reporters.base import RenderOptions
from smtpcheck.results import Report

__all__ = [
    "RenderWatch",
    "find_promtool",
    "promtool_checks_every_render",
    "promtool_problems",
]

_DEBIAN = "/usr/bin/promtool"  # Debian's package "prometheus"
_TIMEOUT = 30
#: Each distinct text is checked once a session: the golden and round-trip tests render the same
#: reports again and again, and one promtool run costs some 25 ms.
_CHECKED: dict[str, tuple[str, ...]] = {}

Render = Callable[[Report, RenderOptions], str]


@functools.cache
def find_promtool() -> str | None:
    """Return the path of promtool, or None when it is not installed."""
    found = shutil.which("promtool")
    if found is not None:
        return found
    return _DEBIAN if os.access(_DEBIAN, os.X_OK) else None


def promtool_problems(text: str, promtool: str | None = None) -> tuple[str, ...]:
    """Return what ``promtool check metrics`` reports about the text; empty when it passes.

    Raises:
        FileNotFoundError: promtool is not installed.
    """
    if text in _CHECKED:
        return _CHECKED[text]
    tool = promtool or find_promtool()
    if tool is None:
        raise FileNotFoundError("promtool is not installed (Debian: apt-get install prometheus)")
    # surrogatepass: a surrogate the reporter let through reaches promtool as the bytes a
    # careless writer would produce, which promtool then refuses, rather than failing here.
    data = text.encode("utf-8", "surrogatepass")
    done = subprocess.run(
        [tool, "check", "metrics"], input=data, capture_output=True, timeout=_TIMEOUT, check=False
    )
    problems: tuple[str, ...] = ()
    if done.returncode != 0:
        said = (done.stdout + done.stderr).decode("utf-8", "replace").splitlines()
        problems = tuple(line for line in said if line.strip()) or (
            f"promtool check metrics exited {done.returncode}",
        )
    _CHECKED[text] = problems
    return problems


class RenderWatch:
    """A render function that keeps each distinct text it returned, for promtool to check."""

    def __init__(self, render: Render) -> None:
        self._render = render
        self.texts: dict[str, None] = {}  # a dict keeps the order and drops repeats

    def __call__(self, report: Report, options: RenderOptions) -> str:
        text = self._render(report, options)
        self.texts.setdefault(text)
        return text

    def check(self, promtool: str | None = None) -> None:
        """Fail the test when promtool finds a problem in any text rendered so far.

        Raises:
            pytest.fail.Exception: promtool reported a problem.
        """
        for text in self.texts:
            problems = promtool_problems(text, promtool)
            if problems:
                lines = "\n".join(f"  {line}" for line in problems)
                head = "".join(text.splitlines(keepends=True)[:6])
                pytest.fail(
                    f"promtool check metrics refused a rendered exposition:\n{lines}\n"
                    f"its first lines:\n{head}",
                    pytrace=False,
                )


@pytest.fixture(autouse=True)
def promtool_checks_every_render(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check every prometheus text the test renders with promtool, after the test."""
    promtool = find_promtool()
    if promtool is None:  # the consumer tests refuse() once; every other test runs unchecked
        yield
        return
    from smtpcheck.reporters import prometheus

    # The registry looks the function up by name on each render: this catches them all.
    watch = RenderWatch(prometheus.render_prometheus)
    monkeypatch.setattr(prometheus, "render_prometheus", watch)
    yield
    watch.check(promtool)
