"""Which JavaMail the platform runs and how it calls it: the choices some verdicts depend on.

The platform's code is not public, so these are options (DESIGN §10). Each default is the most
common choice: current Jakarta Mail (Angus Mail), and credentials passed the way Spring's
`JavaMailSenderImpl` passes them, `transport.connect(host, port, user, password)`, through a
transport taken for the message's address (what `Transport.send` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Credentials", "JavaMailProfile", "Library", "TransportChoice"]


class Library(StrEnum):
    """The JavaMail implementation: they differ on checking the certificate's host name."""

    ANGUS = "angus"  # Jakarta Mail 2.1+ / Angus Mail: checks the name, even with ssl.trust="*"
    LEGACY = "legacy"  # com.sun.mail <= 2.0, JavaMail 1.x: checkserveridentity off by default

    @property
    def checks_name(self) -> bool:
        """Return True when the library checks the certificate's name (server identity)."""
        return self is Library.ANGUS


class Credentials(StrEnum):
    """How the platform hands JavaMail the user name and password."""

    # transport.connect(user, password): logs in whenever both are non-null and the server
    # offers AUTH, whatever mail.smtp.auth says.
    CONNECT = "connect"
    # A Session Authenticator: asked only when mail.smtp.auth is true.
    AUTHENTICATOR = "authenticator"


class TransportChoice(StrEnum):
    """Which transport the platform asks the Session for."""

    SEND = "send"  # Transport.send / getTransport(address): always "smtp", mail.smtp.* keys
    SESSION = "session"  # session.getTransport(): follows mail.transport.protocol


@dataclass(frozen=True, slots=True)
class JavaMailProfile:
    """The platform's JavaMail, as far as a verdict depends on it."""

    library: Library = Library.ANGUS
    credentials: Credentials = Credentials.CONNECT
    transport: TransportChoice = TransportChoice.SEND
