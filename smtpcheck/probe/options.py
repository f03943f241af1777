"""How to probe: the options one run gives every probe (TLS contexts, names, timeouts, sending)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smtpcheck.config.profile import JavaMailProfile
from smtpcheck.defaults import CHECK_TIMEOUT
from smtpcheck.errors import UsageError
from smtpcheck.probe.network import Resolver, system_resolver
from smtpcheck.probe.tls import TlsContexts

__all__ = ["ProbeOptions"]


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How to probe: the run's TLS contexts, the EHLO name, timeouts, the opt-in test message."""

    ehlo_name: str  # sent in EHLO; never looked up per connection
    tls: TlsContexts  # built once per run by `build_tls_contexts`
    timeout: float = (
        CHECK_TIMEOUT  # seconds: caps every phase, whatever the config's own timeouts say
    )
    deadline: float | None = None  # seconds for a whole probe; None: twice the timeout
    resolver: Resolver = system_resolver
    profile: JavaMailProfile = field(default_factory=JavaMailProfile)  # the platform's JavaMail
    # After AUTH, MAIL FROM (then RSET) for settings that name a sender ("" is <>): discovery.
    mail_check: bool = False
    send_to: str | None = None  # really send one test message to this address
    mail_from: str | None = None  # its sender; default: the gateway's default_from_address
    transcript: bool = True
    diagnose_after: float = 1.0  # seconds without a greeting before a second look at the port

    def __post_init__(self) -> None:
        name = self.ehlo_name
        if not name or any(c.isspace() or not c.isprintable() for c in name):
            raise UsageError(f"EHLO name {name!r}: give a host name without spaces")
        if self.timeout <= 0:
            raise UsageError("the timeout must be more than 0 seconds")
        if self.tls.verifying.check_hostname is not self.profile.library.checks_name:
            # A programming error, not a user's: the contexts were built for another library.
            raise ValueError("TLS contexts built for another JavaMail library")
