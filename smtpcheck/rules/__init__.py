"""The rule catalogue: every rule, listed explicitly, and the functions that run them by scope.

Importing this package registers nothing by side effect; `ALL_RULES` is the list. A rule is
selected by its code, a code prefix (`SC1`) or its slug; see `Selection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smtpcheck.errors import UsageError
from smtpcheck.rules import (
    auth,
    inputs,
    internal,
    live_auth,
    live_connection,
    live_delivery,
    live_tls,
    operations,
    ports,
    tls,
)
from smtpcheck.rules.base import ProbedGateway, Rule, Scope, SmtpGateway

if TYPE_CHECKING:
    from smtpcheck.config.documents import GatewayEntry, SourceDocument
    from smtpcheck.results import Finding, NotProbed

__all__ = [
    "ALL_RULES",
    "CONFIG_RULES",
    "DOCUMENT_RULES",
    "ENTRY_RULES",
    "FLEET_RULES",
    "LIVE_RULES",
    "NOT_PROBED_RULES",
    "Selection",
    "find_rule",
    "internal_error",
    "interrupted",
    "local_shortage",
    "nothing_probed",
    "run_config_rules",
    "run_document_rules",
    "run_entry_rules",
    "run_fleet_rules",
    "run_live_rules",
    "run_not_probed_rules",
]

DOCUMENT_RULES: tuple[Rule[SourceDocument], ...] = (
    inputs.invalid_json,
    inputs.bound_gateway_unknown,
    inputs.unrecognized_document,
    inputs.nothing_checked,
)
FLEET_RULES: tuple[Rule[Sequence[GatewayEntry]], ...] = (inputs.duplicate_gateway_id,)
ENTRY_RULES: tuple[Rule[GatewayEntry], ...] = (
    inputs.invalid_gateway,
    inputs.unsupported_provider,
    inputs.unresolved_env_var,
    inputs.redacted_secret,
)
CONFIG_RULES: tuple[Rule[SmtpGateway], ...] = (
    inputs.unknown_param,
    inputs.string_typed_value,
    ports.missing_host,
    ports.invalid_host,
    ports.port_out_of_range,
    ports.implicit_tls_on_plain_port,
    ports.plain_on_implicit_tls_port,
    ports.ssl_port_mismatch,
    ports.nonstandard_port,
    ports.auth_on_relay_port,
    ports.loopback_host,
    ports.ip_host_with_tls,
    tls.ssl_and_starttls,
    tls.starttls_required_not_enabled,
    tls.opportunistic_starttls,
    tls.certificate_checks_disabled,
    tls.trust_all_without_tls,
    tls.invalid_protocol,
    tls.smtps_protocol_mismatch,
    auth.auth_without_credentials,
    auth.credentials_without_auth,
    auth.cleartext_auth,
    operations.infinite_timeout,
    operations.timeout_looks_like_seconds,
    operations.very_long_timeout,
    operations.debug_enabled,
    operations.invalid_from_address,
    operations.missing_from_address,
)
LIVE_RULES: tuple[Rule[ProbedGateway], ...] = (
    live_connection.dns_failure,
    live_connection.connection_refused,
    live_connection.connect_timeout,
    live_connection.no_greeting,
    live_connection.greeting_rejected,
    live_connection.protocol_error,
    live_connection.slow_greeting,
    live_connection.no_transport,
    live_tls.starttls_not_offered,
    live_tls.starttls_failed,
    live_tls.tls_handshake_failed,
    live_tls.certificate_untrusted,
    live_tls.certificate_name_mismatch,
    live_tls.certificate_expired,
    live_tls.certificate_expires_soon,
    live_tls.weak_tls_version,
    live_auth.auth_not_offered,
    live_auth.auth_failed,
    live_auth.auth_mechanism_unsupported,
    live_auth.auth_temporary_failure,
    live_auth.cleartext_auth_offered,
    live_auth.sender_rejected,
    live_auth.test_message_rejected,
    live_delivery.accepted_never_arrived,
    live_delivery.arrived_altered,
    live_delivery.mailbox_unreachable,
)
NOT_PROBED_RULES: tuple[Rule[NotProbed], ...] = (live_connection.probe_skipped,)

#: Every rule in code order: what `smtpcheck rules` lists.
ALL_RULES: tuple[Rule[Any], ...] = tuple(
    sorted(
        (
            *DOCUMENT_RULES,
            *FLEET_RULES,
            *ENTRY_RULES,
            *CONFIG_RULES,
            *LIVE_RULES,
            *NOT_PROBED_RULES,
            internal.internal_error,
            internal.local_shortage,
            internal.interrupted,
        ),
        key=lambda r: r.code,
    )
)


def internal_error(error: BaseException | str) -> Finding:
    """Return the SC901 finding for a bug met while checking a gateway (or its description).

    Every path by which a bug becomes a finding ends here.
    """
    return internal.internal_error.run(error)[0]


def local_shortage(reason: str) -> Finding:
    """Return the SC902 finding for a probe this machine could not run (no file descriptor)."""
    return internal.local_shortage.run(reason)[0]


def interrupted(reason: str) -> Finding:
    """Return the SC903 finding for a gateway whose check the user's interruption cut short."""
    return internal.interrupted.run(reason)[0]


def nothing_probed(entries: Sequence[GatewayEntry], selection: Selection) -> list[Finding]:
    """Return SC011 for a `check` that probed none of its gateways, saying why.

    Empty when the run has no gateway (each source already says why: SC011, SC001, SC009) or
    when SC011 is not selected.
    """
    if not entries or not selection.allows(inputs.nothing_checked):
        return []
    return [inputs.nothing_checked.finding(inputs.none_probed(entries))]


def find_rule(name: str) -> Rule[Any] | None:
    """Return the rule with this code or slug (any case), or None."""
    wanted = name.strip()
    for candidate in ALL_RULES:
        if candidate.code == wanted.upper() or candidate.slug == wanted.lower():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rules run: ``--select`` (empty: all) minus ``--ignore``, resolved once per run."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    _chosen: dict[Scope, tuple[Rule[Any], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for selector in (*self.select, *self.ignore):
            if not any(r.matches([selector]) for r in ALL_RULES):
                raise UsageError(
                    f"{selector!r} names no rule: give a code (SC101), a prefix (SC1) or a slug"
                )
        chosen: dict[Scope, tuple[Rule[Any], ...]] = {
            scope: tuple(r for r in ALL_RULES if r.scope is scope and self.allows(r))
            for scope in Scope
        }
        object.__setattr__(self, "_chosen", chosen)

    def allows(self, candidate: Rule[Any]) -> bool:
        """Return True when the rule is selected and not ignored."""
        if self.select and not candidate.matches(self.select):
            return False
        return not candidate.matches(self.ignore)

    def rules(self, scope: Scope) -> tuple[Rule[Any], ...]:
        """Return the chosen rules of one scope, in code order."""
        return self._chosen[scope]


def _run(scope: Scope, subject: object, selection: Selection) -> list[Finding]:
    # The hot loop of `validate` (tens of rules per gateway, most finding nothing): calling
    # each check directly avoids building an empty list per rule.
    findings: list[Finding] = []
    for r in selection.rules(scope):
        for violation in r.check(subject):
            findings.append(r.finding(violation))
    return findings


def run_document_rules(doc: SourceDocument, selection: Selection) -> list[Finding]:
    """Run the rules about a source as a whole."""
    return _run(Scope.DOCUMENT, doc, selection)


def run_fleet_rules(entries: Sequence[GatewayEntry], selection: Selection) -> list[Finding]:
    """Run the rules about all gateways of a run together."""
    return _run(Scope.FLEET, entries, selection)


def run_entry_rules(entry: GatewayEntry, selection: Selection) -> list[Finding]:
    """Run every static rule about one gateway: its shape, then its params when it is SMTP."""
    findings = _run(Scope.ENTRY, entry, selection)
    gateway = SmtpGateway.of(entry)
    if gateway is not None:
        findings += run_config_rules(gateway, selection)
    if entry.unset_variables or entry.redacted:
        # An unset ${VAR} or a redacted password leaves its param empty; SC008 / SC010 name the
        # cause, so a finding about that param ("password is empty") would only repeat it.
        empty = {u.param for u in entry.unset_variables} | set(entry.redacted)
        findings = [f for f in findings if f.code in ("SC008", "SC010") or f.param not in empty]
    return findings


def run_config_rules(gateway: SmtpGateway, selection: Selection) -> list[Finding]:
    """Run the param rules of one valid own SMTP gateway."""
    return _run(Scope.CONFIG, gateway, selection)


def run_live_rules(probed: ProbedGateway, selection: Selection) -> list[Finding]:
    """Run the rules about what a live probe of one gateway observed."""
    return _run(Scope.LIVE, probed, selection)


def run_not_probed_rules(not_probed: NotProbed, selection: Selection) -> list[Finding]:
    """Run the rules about a gateway that could not be probed (SC508 says why)."""
    return _run(Scope.NOT_PROBED, not_probed, selection)
