"""The exit status of a run, decided in one place (sqlfluff's EXIT_SUCCESS / FAIL / ERROR).

0: every check passed (warnings too, unless ``--fail-on warning``); 1: a gateway failed or a
finding reached ``--fail-on``; 2: the run could not happen; 128 + the signal's number (130
SIGINT, 143 SIGTERM) when the user stopped it, as shells report it. A format whose consumer
reads the status itself (Nagios: 0-3) says so through its reporter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpcheck.defaults import FAIL_ON

if TYPE_CHECKING:
    from smtpcheck.results import Report, Severity

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_OK",
    "Terminated",
    "exit_code",
    "signal_exit_code",
    "unusable_answer",
]

EXIT_OK = 0  # every check passed (warnings too, unless --fail-on warning)
EXIT_FAIL = 1  # a gateway failed, or a finding at or above --fail-on
EXIT_ERROR = 2  # the run could not happen: bad options, unreadable path, unusable panel API


class Terminated(BaseException):  # a signal, not an error: named as KeyboardInterrupt is
    """SIGTERM, raised where the program is, so that cleanup runs (as Ctrl-C's exception does)."""


def signal_exit_code(signum: int) -> int:
    """Return the status of a run stopped by a signal: 128 + its number, as shells report it."""
    return 128 + signum


def exit_code(report: Report, *, fmt: str, fail_on: Severity | None) -> int:
    """Return the exit status of a finished run, as the output format's consumer reads it.

    ``fail_on`` None: ``--fail-on`` was not given, and each format applies its own default.
    """
    from smtpcheck.reporters import REPORTERS
    from smtpcheck.results import Severity

    status = REPORTERS[fmt].status(report, fail_on)
    if status is not None:
        return status
    return EXIT_FAIL if report.fails(fail_on or Severity(FAIL_ON)) else EXIT_OK


def unusable_answer(fmt: str | None, message: str) -> tuple[str, int] | None:
    """Return the output and status a format gives a run that could not happen, or None.

    None: the format has no answer of its own (or ``fmt`` names none), and the caller reports
    the error as usual, on standard error.
    """
    from smtpcheck.reporters import REPORTERS

    reporter = REPORTERS.get(fmt or "")
    return None if reporter is None else reporter.could_not_run(message)
