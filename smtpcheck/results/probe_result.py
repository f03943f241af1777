"""What one live probe observed: the endpoint, the timed steps, TLS, and why it stopped.

Plain frozen dataclasses, no I/O. The probe builds them; the live rules, discovery and the
reporters read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smtpcheck.results.sent import SentMessage

__all__ = [
    "CertInfo",
    "Endpoint",
    "FailureKind",
    "NotProbed",
    "PortHint",
    "ProbeFailure",
    "ProbeResult",
    "ProbeStep",
    "TlsInfo",
    "TlsMode",
]


class TlsMode(StrEnum):
    """How a gateway's connection is secured, as JavaMail derives it from the params."""

    NONE = "none"
    STARTTLS = "starttls"  # RFC 3207: plain connect, then upgrade
    IMPLICIT = "implicit"  # RFC 8314: TLS from the first byte

    @property
    def short(self) -> str:
        """Return the mode in a word, for tables: ``plain``, ``STARTTLS``, ``TLS``."""
        return _MODE_WORDS[self][0]

    @property
    def words(self) -> str:
        """Return the mode for sentences: ``plain SMTP``, ``STARTTLS``, ``implicit TLS``."""
        return _MODE_WORDS[self][1]


#: How people read each mode: in a table column, and in a sentence.
_MODE_WORDS = {
    TlsMode.NONE: ("plain", "plain SMTP"),
    TlsMode.STARTTLS: ("STARTTLS", "STARTTLS"),
    TlsMode.IMPLICIT: ("TLS", "implicit TLS"),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how a gateway connects: host, port, TLS mode, and whether STARTTLS is required.

    ``host`` is None for a gateway that names none, and for a discovery candidate (a way to
    connect to whichever host is being discovered). ``starttls_required`` means something only
    in STARTTLS mode: without it a server that offers no STARTTLS gets plain text.
    """

    host: str | None
    port: int
    mode: TlsMode
    starttls_required: bool = False

    def describe(self) -> str:
        """Return ``port 465 with implicit TLS`` and the like."""
        return f"port {self.port} with {self.mode.words}"


class FailureKind(StrEnum):
    """Why a probe stopped, named by the stage that failed."""

    NO_TRANSPORT = "no_transport"  # JavaMail has no transport for the protocol asked for
    DNS = "dns"
    CONNECT_REFUSED = "connect_refused"
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECT_ERROR = "connect_error"
    NO_GREETING = "no_greeting"
    GREETING_REJECTED = "greeting_rejected"
    PROTOCOL = "protocol"
    READ_TIMEOUT = "read_timeout"
    STARTTLS_UNAVAILABLE = "starttls_unavailable"
    STARTTLS_FAILED = "starttls_failed"
    TLS_HANDSHAKE = "tls_handshake"
    CERT_INVALID = "cert_invalid"
    NO_CREDENTIALS = "no_credentials"  # JavaMail would not log in with what the config holds
    AUTH_FAILED = "auth_failed"
    AUTH_MECHANISM = "auth_mechanism"
    AUTH_TEMPORARY = "auth_temporary"
    SENDER_REJECTED = "sender_rejected"
    MESSAGE_REJECTED = "message_rejected"
    DEADLINE = "deadline"
    LOCAL = "local"  # this machine lacked something the probe needs (a file descriptor)
    INTERRUPTED = "interrupted"  # the user stopped the run (SIGINT, SIGTERM) before it ended
    INTERNAL = "internal"  # a bug in smtpcheck, caught by the runner's per-target guard


class PortHint(StrEnum):
    """What a second, short look at a port that did not behave as configured found it speaking."""

    TLS = "tls"  # it completed a TLS handshake
    SMTP = "smtp"  # it sent a plain "220" greeting
    SILENT = "silent"  # neither


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One timed stage of a probe."""

    name: str
    ok: bool
    ms: float
    detail: str = ""
    reply_code: int | None = None


@dataclass(frozen=True, slots=True)
class CertInfo:
    """The server's leaf certificate, read from DER so it is known even when it did not verify."""

    subject: str
    issuer: str
    san: tuple[str, ...]
    not_after: str  # ISO 8601, UTC
    days_left: int


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """The negotiated TLS session."""

    version: str
    cipher: str
    verified: bool
    verify_error: str | None = None
    cert: CertInfo | None = None
    verify_code: int | None = None  # OpenSSL's X509_V_ERR_* code when verification failed
    name_matches: bool | None = None  # the certificate names the configured host


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """Why a probe stopped: the stage's failure kind, a detail for people, what the server said.

    The one failure type from the stage that failed to the report: the probe raises it inside
    `StageFailure`, and the result keeps it as it is.
    """

    kind: FailureKind
    detail: str
    reply_code: int | None = None  # the refusing reply, when a reply refused
    tls_error: str | None = None  # OpenSSL's reason, when a TLS handshake failed


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything one live probe observed; live rules turn it into findings."""

    steps: tuple[ProbeStep, ...]
    ms: float
    failure: ProbeFailure | None = None
    tls: TlsInfo | None = None
    extensions_before_tls: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    auth_mechanisms_before_tls: tuple[str, ...] = ()
    auth_mechanisms: tuple[str, ...] = ()
    port_hint: PortHint | None = None
    transcript: tuple[str, ...] = ()
    # Why this is another probe's result: the same address and port, dead before any SMTP was
    # spoken, and this target was not connected again (the runner's breaker).
    shared: str | None = None
    sent: SentMessage | None = None  # the --send-to test message, when the server took it

    @property
    def ok(self) -> bool:
        """Return True when every stage the config asks for succeeded."""
        return self.failure is None

    @property
    def failure_kind(self) -> FailureKind | None:
        """Return the failure kind, or None when the probe succeeded."""
        return None if self.failure is None else self.failure.kind

    def offers(self, keyword: str, *, before_tls: bool = False) -> bool:
        """Return True when the last EHLO reply (or the one before TLS) lists this extension.

        The keyword is the first word of a reply line, case-insensitive (RFC 5321 §4.1.1.1).
        """
        lines = self.extensions_before_tls if before_tls else self.extensions
        return any(line.split(" ", 1)[0].upper() == keyword for line in lines)


@dataclass(frozen=True, slots=True)
class NotProbed:
    """Why a gateway's config cannot be connected to as it is, in one line (SC508 reports it).

    Not a probe result: such a gateway's report has no probe at all.
    """

    reason: str
    endpoint: Endpoint | None = None  # where JavaMail would connect, when not where params say
