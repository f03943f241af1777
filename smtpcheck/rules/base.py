"""The rule type: a stable code, a slug, a default severity and a pure check function.

A check yields `Violation`s (what is wrong, which param, the fix); the rule stamps its code, slug
and severity on them to make `Finding`s, so a check never repeats its own identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from smtpcheck.config.profile import Library
from smtpcheck.defaults import CERT_WARN_DAYS, SLOW_GREETING_MS
from smtpcheck.results import (
    DeliveryResult,
    FailureKind,
    Finding,
    ProbeFailure,
    ProbeResult,
    Severity,
)

if TYPE_CHECKING:
    from smtpcheck.config.documents import GatewayEntry
    from smtpcheck.config.javamail import SmtpSettings
    from smtpcheck.config.models import SmtpParams

__all__ = [
    "EXAMPLE_GATEWAY",
    "ProbedGateway",
    "Rule",
    "Scope",
    "SmtpGateway",
    "Violation",
    "rule",
]

T = TypeVar("T")

#: The correct gateway that the Bad and Good examples of gateway rules are written against: an
#: example lists only the params it changes. It passes every rule.
EXAMPLE_GATEWAY: dict[str, object] = {
    "id": 7,
    "leasable": False,
    "label": "Dealer mail",
    "provider": "smtp",
    "params": {
        "default_from_address": "alerts@example.com",
        "mail.smtp.user": "alerts@example.com",
        "mail.smtp.password": "example-password",
        "mail.smtp.host": "smtp.example.com",
        "mail.smtp.port": 587,
        "mail.smtp.ssl.port": 587,
        "mail.smtp.ssl.trust_all_hosts": False,
        "mail.smtp.auth": True,
        "mail.debug": False,
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
        "mail.smtp.use_ssl": False,
        "mail.smtp.timeout": 60000,
        "mail.smtp.connectiontimeout": 60000,
        "mail.transport.protocol": "smtp",
    },
}


class Scope(StrEnum):
    """What a rule looks at, which decides when it runs."""

    DOCUMENT = "document"  # one parsed source
    FLEET = "fleet"  # every gateway of the run together
    ENTRY = "entry"  # one gateway object, valid or not
    CONFIG = "config"  # the params of one valid own SMTP gateway
    LIVE = "live"  # what a live probe of one gateway observed
    NOT_PROBED = "not-probed"  # why one gateway's config could not be probed as it is
    INTERNAL = "internal"  # an exception smtpcheck raised while checking one gateway


@dataclass(frozen=True, slots=True)
class SmtpGateway:
    """A valid own SMTP gateway: its params as written and as JavaMail reads them."""

    entry: GatewayEntry
    params: SmtpParams
    settings: SmtpSettings

    @classmethod
    def of(cls, entry: GatewayEntry) -> SmtpGateway | None:
        """Return the entry as an SMTP gateway, or None unless it is a valid own SMTP one."""
        params, settings = entry.params, entry.settings
        if not entry.is_smtp or params is None or settings is None:
            return None
        return cls(entry, params, settings)


@dataclass(frozen=True, slots=True)
class ProbedGateway:
    """A probed gateway: its config, what the probe saw, and the run's thresholds."""

    config: SmtpGateway
    probe: ProbeResult
    cert_warn_days: int = CERT_WARN_DAYS
    slow_greeting_ms: float = SLOW_GREETING_MS
    library: Library = Library.ANGUS  # whose behaviour the findings describe
    delivery: DeliveryResult | None = None  # --expect-delivery: what became of the test message

    def failed(self, *kinds: FailureKind) -> ProbeFailure | None:
        """Return the probe's failure when it is of one of these kinds, else None."""
        failure = self.probe.failure
        return failure if failure is not None and failure.kind in kinds else None


@dataclass(frozen=True, slots=True)
class Violation:
    """What a check found: the message, the param at fault, how to fix it."""

    message: str
    param: str | None = None
    fix: str | None = None
    severity: Severity | None = None  # None: the rule's default
    places: tuple[tuple[str, str], ...] = ()  # the gateways a fleet finding is about


@dataclass(frozen=True, slots=True)
class Rule(Generic[T]):
    """One entry of the catalogue."""

    code: str
    slug: str
    severity: Severity
    scope: Scope
    check: Callable[[T], Iterable[Violation]]

    @property
    def doc(self) -> str:
        """Return the rule's documentation: its check's docstring, dedented."""
        import inspect  # only `smtpcheck rules` reads docs; validate should not pay the import

        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """Return the first line of the documentation."""
        return self.doc.partition("\n")[0]

    def run(self, subject: T) -> list[Finding]:
        """Check one subject and return its findings."""
        return [self.finding(v) for v in self.check(subject)]

    def finding(self, violation: Violation) -> Finding:
        """Stamp this rule's code, slug and (default) severity on a violation."""
        return Finding(
            code=self.code,
            slug=self.slug,
            severity=violation.severity or self.severity,
            message=violation.message,
            param=violation.param,
            fix=violation.fix,
            places=violation.places,
        )

    def matches(self, selectors: Sequence[str]) -> bool:
        """Return True when a selector names this rule: its code, a code prefix, or its slug."""
        return any(self.code.startswith(s.upper()) or s.lower() == self.slug for s in selectors)


def rule(
    *, code: str, slug: str, severity: Severity, scope: Scope
) -> Callable[[Callable[[T], Iterable[Violation]]], Rule[T]]:
    """Turn a check function into a `Rule`; its docstring is the rule's documentation."""

    def wrap(check: Callable[[T], Iterable[Violation]]) -> Rule[T]:
        return Rule(code=code, slug=slug, severity=severity, scope=scope, check=check)

    return wrap
