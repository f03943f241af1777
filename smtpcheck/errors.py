"""Exceptions smtpcheck raises on purpose; every per-gateway problem is a `Finding` instead.

The tree::

    SmtpcheckError
    ├── UsageError          bad options or arguments (exit 2)
    ├── ConfigLoadError     a source path cannot be read at all (exit 2)
    ├── PlatformError       the panel API cannot be used (exit 2)
    ├── LocalResourceError  this machine ran out of something a probe needs (file descriptors):
    │                       the runner records it for that gateway, whose check could not run
    └── ServeError          `smtpcheck serve` cannot start: its address cannot be listened on,
                            its --state file cannot be used (exit 2)

A file that is read but does not parse is not an exception: it becomes an SC001 finding, so the
other files are still checked.
"""

from __future__ import annotations

__all__ = [
    "ConfigLoadError",
    "LocalResourceError",
    "PlatformError",
    "ServeError",
    "SmtpcheckError",
    "UsageError",
    "describe_bug",
]


class SmtpcheckError(Exception):
    """Base class of every error smtpcheck raises on purpose."""


class UsageError(SmtpcheckError, ValueError):
    """The command line or an option value is invalid."""


class ConfigLoadError(SmtpcheckError, OSError):
    """A gateway source cannot be read (missing path, permission, empty directory)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class PlatformError(SmtpcheckError):
    """The panel API could not be used: unreachable, refused the session, or answered nonsense.

    ``status_code`` is the panel's ``status.code`` when it sent one, ``http_status`` the HTTP
    status. ``retryable`` says whether trying again can help, ``retry_after`` how long the
    panel asked to wait (seconds). Neither the message nor any attribute ever holds the
    session hash or a password.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        http_status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.http_status = http_status
        self.retryable = retryable
        self.retry_after = retry_after

    def with_note(self, note: str) -> PlatformError:
        """Return the same error with ``note`` added to its message (why it was given up on)."""
        return PlatformError(
            f"{self}{note}",
            url=self.url,
            status_code=self.status_code,
            http_status=self.http_status,
            retryable=self.retryable,
            retry_after=self.retry_after,
        )


class LocalResourceError(SmtpcheckError):
    """This machine, not the gateway, lacks something a probe needs (a file descriptor).

    Not an OSError on purpose: the probe translates OSErrors into the gateway's failures, and
    this one must not be blamed on the gateway.
    """


def describe_bug(error: BaseException) -> str:
    """Return how smtpcheck names one of its own bugs: the exception's type and message."""
    return f"{type(error).__name__}: {error}"


class ServeError(SmtpcheckError):
    """`smtpcheck serve` cannot start or go on: an address, a state file it cannot use."""
