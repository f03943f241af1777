"""The one way tests run the command line: in this process, or in a fresh interpreter.

`smtpcheck` goes through the console script's own `main` (its guards and exit codes included)
inside click's CliRunner isolation, which is fast; `smtpcheck_process` starts
``python -m smtpcheck`` and also sees anything written below Python's streams;
`smtpcheck_async` does so while the test's event loop keeps serving its servers.
A fresh interpreter never inherits the developer's panel session or colour settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from click.testing import CliRunner

from smtpcheck.cli import main

__all__ = [
    "LIST_MODULES",
    "Run",
    "environment",
    "smtpcheck",
    "smtpcheck_async",
    "smtpcheck_process",
]

#: Variables of the user's environment that would change what a command does.
_UNINVITED = ("NO_COLOR", "NAVIXY_HASH", "NAVIXY_LOGIN", "NAVIXY_PASSWORD")
_TIMEOUT = 60


class Run(NamedTuple):
    """How a run ended and what it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Return everything it printed, standard output first."""
        return self.stdout + self.stderr


def smtpcheck(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | str = b"",
    cwd: Path | None = None,
) -> Run:
    """Run ``smtpcheck ARGV`` in this process; ``env`` is laid over the current environment."""
    runner = CliRunner()
    directory = contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext()
    with directory, runner.isolation(input=stdin, env=env) as (out, err, _):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main() always exits
            raise AssertionError("main() returned without exiting")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    return Run(code, out.getvalue().decode(), err.getvalue().decode())


#: A program that runs ``smtpcheck ARGV`` and writes the modules it loaded, as JSON, to a file:
#: ``python -c LIST_MODULES FILE ARGV...``.
LIST_MODULES = """
import json, sys
from smtpcheck.cli import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    main(argv)
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a fresh interpreter: this one's, less the user's settings."""
    inherited = {k: v for k, v in os.environ.items() if k not in _UNINVITED}
    return {**inherited, **(env or {})}


def smtpcheck_process(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    cwd: Path | None = None,
    timeout: float = _TIMEOUT,
) -> Run:
    """Run ``python -m smtpcheck ARGV`` in a fresh interpreter; a hang past ``timeout`` fails."""
    done = subprocess.run(
        [sys.executable, "-m", "smtpcheck", *argv],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=environment(env),
        check=False,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


async def smtpcheck_async(
    *argv: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Run:
    """Run ``python -m smtpcheck ARGV`` while this event loop keeps serving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smtpcheck",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(env),
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(process.communicate(), _TIMEOUT)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())
