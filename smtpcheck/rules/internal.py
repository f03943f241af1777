"""SC9xx: smtpcheck's own failures, reported per gateway instead of as a traceback."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.errors import describe_bug
from smtpcheck.results import Severity
from smtpcheck.rules.base import Scope, Violation, rule

__all__ = ["internal_error"]


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
