"""How to open a panel session: a session hash, or a login and its password.

Apart from the client so that the command line can build them without importing httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smtpcheck.errors import UsageError

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to open a panel session: an existing session hash, or a login and its password."""

    session_hash: str | None = field(default=None, repr=False)
    login: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.session_hash is None) == (self.login is None):
            raise UsageError("give either a panel session hash or a panel login")
        if self.login is not None and not self.password:
            raise UsageError("a panel login needs its password")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values no message may show."""
        return tuple(s for s in (self.session_hash, self.password) if s)
