"""SC7xx: what a live probe found about AUTH and, with --send-to, sending a message."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.results import FailureKind, Severity
from smtpcheck.rules.base import ProbedGateway, Scope, Violation, rule

__all__ = [
    "auth_failed",
    "auth_mechanism_unsupported",
    "auth_not_offered",
    "auth_temporary_failure",
    "cleartext_auth_offered",
    "sender_rejected",
    "test_message_rejected",
]

_CLEARTEXT_MECHANISMS = frozenset({"plain", "login"})  # the password itself, base64-encoded
_AFTER_LOGIN = (FailureKind.SENDER_REJECTED, FailureKind.MESSAGE_REJECTED)


@rule(code="SC701", slug="auth-not-offered", severity=Severity.ERROR, scope=Scope.LIVE)
def auth_not_offered(live: ProbedGateway) -> Iterator[Violation]:
    """AUTH is on, but the server does not offer it.

    What it checks:
        The last EHLO reply (after TLS, when TLS is used) for the AUTH extension (RFC 4954 §3),
        on a probe that got past the point where JavaMail logs in.

    Why it matters:
        JavaMail then connects without logging in, no error (it sends AUTH only when the server
        offers it), and the server decides at MAIL or RCPT: 530 or 550 relay denied, or an
        open relay. Many servers offer AUTH only after STARTTLS, so a config without TLS never
        sees it.

    Bad:
        mail.smtp.auth=true without TLS against a server that offers AUTH only after STARTTLS.

    Good:
        The same server with mail.smtp.starttls.enable and required on.

    Fix:
        Turn on STARTTLS (or use_ssl on 465), or turn mail.smtp.auth off if no login is needed.
    """
    probe = live.probe
    if not live.config.settings.auth or not _past_login(live) or probe.auth_mechanisms:
        return
    if probe.offers("AUTH"):
        return
    tls = probe.tls is not None
    offered = "the server does not offer AUTH" + (" after TLS" if tls else "")
    yield Violation(
        f"mail.smtp.auth is on, but {offered}: JavaMail goes on without logging in, and the "
        "server decides at MAIL or RCPT (530 or relay denied, or it relays for anyone)",
        param="mail.smtp.auth",
        fix="turn mail.smtp.auth off if the server needs no login"
        if tls
        else "turn on STARTTLS (many servers offer AUTH only after it), or turn mail.smtp.auth off",
    )


def _past_login(live: ProbedGateway) -> bool:
    """Return True when the probe got past the point where JavaMail logs in."""
    probe = live.probe
    greeted = any(step.name == "ehlo" and step.ok for step in probe.steps)
    return greeted and (probe.ok or live.failed(*_AFTER_LOGIN) is not None)


@rule(code="SC702", slug="auth-failed", severity=Severity.ERROR, scope=Scope.LIVE)
def auth_failed(live: ProbedGateway) -> Iterator[Violation]:
    """The server rejected the user name and password.

    What it checks:
        The AUTH reply, tried once with one mechanism as JavaMail picks it (LOGIN, else PLAIN); 535
        means the credentials are invalid (RFC 4954 §6).

    Why it matters:
        Every message fails with AuthenticationFailedException. Repeated failures can also
        lock the account. Also reported, without sending a login, when JavaMail could not log
        in with what the config holds: a null password (it fails before connecting), a null
        user (it logs in under the platform's OS account name) or an empty one.

    Bad:
        An account password where the provider wants an app password (Gmail, Microsoft 365).

    Good:
        The credentials the provider issued for SMTP.

    Fix:
        Check mail.smtp.user and mail.smtp.password; many providers need an app password.
    """
    if (failure := live.failed(FailureKind.NO_CREDENTIALS)) is not None:
        # Not sent: JavaMail fails before connecting, or the server refuses the login.
        yield Violation(
            f"JavaMail cannot log in: {failure.detail}",
            param="mail.smtp.password" if "password" in failure.detail else "mail.smtp.user",
            fix="fill in mail.smtp.user and mail.smtp.password",
        )
    if (failure := live.failed(FailureKind.AUTH_FAILED)) is not None:
        yield Violation(
            f"the server rejected the credentials: {failure.detail}",
            param="mail.smtp.password",
            fix="check mail.smtp.user and mail.smtp.password (many providers need an app "
            "password for SMTP)",
        )


@rule(code="SC703", slug="auth-mechanism-unsupported", severity=Severity.ERROR, scope=Scope.LIVE)
def auth_mechanism_unsupported(live: ProbedGateway) -> Iterator[Violation]:
    """No AUTH mechanism both sides support, or the server refused the one tried.

    What it checks:
        The mechanisms the server offers against JavaMail's LOGIN and PLAIN, and replies 504
        (not supported), 534 (too weak), 538 and 530 (encryption required) (RFC 4954 §6).

    Why it matters:
        JavaMail cannot log in, so every message fails. A server that offers only OAuth
        (XOAUTH2) needs a client configured for it.

    Bad:
        A server that offers only AUTH XOAUTH2, or refuses PLAIN without TLS (538).

    Good:
        A server that offers AUTH PLAIN or LOGIN over TLS.

    Fix:
        Turn on TLS if the server wants encryption first; else ask for PLAIN or LOGIN.
    """
    if (failure := live.failed(FailureKind.AUTH_MECHANISM)) is not None:
        yield Violation(
            f"AUTH cannot be done: {failure.detail}",
            param="mail.smtp.auth",
            fix="turn on TLS if the server wants encryption first, or ask the provider for "
            "PLAIN or LOGIN",
        )


@rule(code="SC704", slug="auth-temporary-failure", severity=Severity.WARNING, scope=Scope.LIVE)
def auth_temporary_failure(live: ProbedGateway) -> Iterator[Violation]:
    """AUTH failed for a temporary reason.

    What it checks:
        AUTH replies 454 (temporary failure) and 432 (a password transition is needed),
        RFC 4954 §6.

    Why it matters:
        The credentials could not be checked now; mail fails until the server recovers, and
        432 needs someone to change the password.

    Bad:
        A server whose authentication backend is down answers 454.

    Good:
        AUTH answered 235.

    Fix:
        Run the check again later; on 432, change the password as the provider asks.
    """
    if (failure := live.failed(FailureKind.AUTH_TEMPORARY)) is not None:
        yield Violation(
            f"AUTH failed for now: {failure.detail}",
            param="mail.smtp.password" if failure.reply_code == 432 else None,
            fix="change the password as the provider asks"
            if failure.reply_code == 432
            else "run the check again later; ask the provider if it persists",
        )


@rule(code="SC705", slug="cleartext-auth-offered", severity=Severity.WARNING, scope=Scope.LIVE)
def cleartext_auth_offered(live: ProbedGateway) -> Iterator[Violation]:
    """The server offers PLAIN or LOGIN on a connection that is not encrypted.

    What it checks:
        The AUTH mechanisms in the EHLO reply before any TLS.

    Why it matters:
        PLAIN and LOGIN send the password itself, base64-encoded. RFC 4954 §4 asks servers not
        to offer them without encryption; a client, or a downgrade attack that strips
        STARTTLS, can then send the password in clear text.

    Bad:
        A server that lists "AUTH PLAIN LOGIN" before STARTTLS.

    Good:
        A server that lists AUTH only after STARTTLS, or implicit TLS.

    Fix:
        Keep mail.smtp.starttls.required=true (or use implicit TLS); ask the provider to
        offer AUTH only after TLS.
    """
    offered = [m.upper() for m in live.probe.auth_mechanisms_before_tls]
    cleartext = [m for m in offered if m.lower() in _CLEARTEXT_MECHANISMS]
    if cleartext:
        yield Violation(
            f"the server offers AUTH {' '.join(cleartext)} before TLS: a password can be sent "
            "in clear text",
            param="mail.smtp.starttls.required",
            fix="keep mail.smtp.starttls.required=true (or use implicit TLS on 465)",
        )


@rule(code="SC706", slug="sender-rejected", severity=Severity.ERROR, scope=Scope.LIVE)
def sender_rejected(live: ProbedGateway) -> Iterator[Violation]:
    """With --send-to, the server refused the sender address.

    What it checks:
        The reply to MAIL FROM with `default_from_address` (or `--from`); 4xx is a warning,
        5xx an error.

    Why it matters:
        The platform sends from that address: a server that refuses it (553, 550 "sender not
        owned by user") rejects every notification.

    Bad:
        A default_from_address in a domain the SMTP account may not send for.

    Good:
        The account's own address, or one the provider allows it to send as.

    Fix:
        Set default_from_address to an address the account may send from.
    """
    if (failure := live.failed(FailureKind.SENDER_REJECTED)) is not None:
        yield Violation(
            f"the sender was refused: {failure.detail}",
            param="default_from_address",
            fix="set default_from_address to an address the SMTP account may send from",
            severity=_temporary(failure.reply_code),
        )


@rule(code="SC707", slug="test-message-rejected", severity=Severity.ERROR, scope=Scope.LIVE)
def test_message_rejected(live: ProbedGateway) -> Iterator[Violation]:
    """With --send-to, the server refused the recipient or the test message.

    What it checks:
        The replies to RCPT TO and to the end of DATA; 4xx is a warning, 5xx an error.

    Why it matters:
        A recipient refused with 550/554 "relay denied" usually means the login did not happen
        or does not allow relaying; a refused message may be a content or size policy.

    Bad:
        A relay that only delivers to its own domains, asked to send elsewhere.

    Good:
        A submission server that accepts the authenticated user's mail to any recipient.

    Fix:
        Check AUTH and the provider's relay rules; the reply text usually says which.
    """
    if (failure := live.failed(FailureKind.MESSAGE_REJECTED)) is not None:
        yield Violation(
            f"the test message was refused: {failure.detail}",
            fix="check that the account may relay to this recipient; the reply says why",
            severity=_temporary(failure.reply_code),
        )


def _temporary(code: int | None) -> Severity | None:
    return Severity.WARNING if code is not None and 400 <= code < 500 else None
