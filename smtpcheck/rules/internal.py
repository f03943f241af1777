"""SC9xx: smtpcheck's own failures, reported per gateway instead of as a traceback."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.errors import describe_bug
from smtpcheck.results import Severity
from smtpcheck.rules.base import Scope, Violation, rule

__all__ = ["internal_error", "interrupted", "local_shortage"]


@rule(code="SC901", slug="internal-error", severity=Severity.ERROR, scope=Scope.INTERNAL)
def internal_error(error: BaseException | str) -> Iterator[Violation]:
    """A bug: smtpcheck itself failed while checking this gateway.

    What it checks:
        Nothing in the config. Any unexpected exception while checking one gateway is caught,
        reported here with the gateway id, and the other gateways are still checked.

    Why it matters:
        The gateway's verdict is unknown: its status is "error", not "ok".

    Fix:
        Report it at the project's issue tracker with the message shown (it never includes a
        password), and the gateway's params with the password removed.
    """
    # A guard that could not keep the exception (the runner's) passes its description instead.
    described = error if isinstance(error, str) else describe_bug(error)
    yield Violation(f"smtpcheck failed while checking this gateway: {described}")


@rule(code="SC902", slug="local-shortage", severity=Severity.ERROR, scope=Scope.INTERNAL)
def local_shortage(reason: str) -> Iterator[Violation]:
    """This machine, not the gateway, lacked something the check needs (a file descriptor).

    What it checks:
        Nothing in the config. When the process cannot open another socket (its open-file
        limit is reached), the probe cannot run; the gateway is not blamed for it (it is not
        "connection refused"), and the other gateways are still checked.

    Why it matters:
        The gateway's verdict is unknown: its status is "error", not "failed".

    Fix:
        Raise the limit (``ulimit -n``, ``LimitNOFILE=`` in a systemd unit) or lower
        ``--concurrency``; smtpcheck already keeps its concurrency within the limit it sees at
        start, so another process sharing the limit is the usual cause.
    """
    yield Violation(f"the check could not run on this machine: {reason}")


@rule(code="SC903", slug="interrupted", severity=Severity.ERROR, scope=Scope.INTERNAL)
def interrupted(reason: str) -> Iterator[Violation]:
    """The run was stopped (Ctrl-C, SIGTERM) before this gateway's check ended.

    What it checks:
        Nothing in the config. On SIGINT or SIGTERM smtpcheck stops probing, keeps every result
        that was finished, marks the rest with this finding, still prints or writes the
        report, and exits 130 (SIGINT) or 143 (SIGTERM).

    Why it matters:
        The gateway's verdict is unknown: its status is "error", not "failed".

    Fix:
        Run the check again, or give it the time it needs: ``--timeout`` caps every wait, and
        a systemd unit's ``TimeoutStopSec=`` or a CronJob's deadline must allow for it.
    """
    yield Violation(f"not checked: {reason}")
