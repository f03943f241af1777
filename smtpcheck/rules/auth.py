"""SC3xx: AUTH switched on or off, and the credentials that go with it (RFC 4954)."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.config.address import is_loopback
from smtpcheck.config.javamail import login_problem
from smtpcheck.results import Severity, TlsMode
from smtpcheck.rules.base import Scope, SmtpGateway, Violation, rule

__all__ = ["auth_without_credentials", "cleartext_auth", "credentials_without_auth"]


@rule(code="SC301", slug="auth-without-credentials", severity=Severity.ERROR, scope=Scope.CONFIG)
def auth_without_credentials(config: SmtpGateway) -> Iterator[Violation]:
    """AUTH is on, but the user name or the password is empty.

    What it checks:
        `mail.smtp.auth` true with `mail.smtp.user` or `mail.smtp.password` missing, null
        or empty.

    Why it matters:
        Every message fails, in one of three ways (observed with the real library): a null
        password and JavaMail fails before connecting ("failed to connect, no password
        specified?"); a null user and it logs in under the platform's own OS account name when
        the platform passes the credentials to `connect`, or fails before connecting with a
        Session Authenticator; an empty one and it connects, sends it, and the server refuses
        the login (535), which counts towards the account's lock-out.

    Bad:
        {"mail.smtp.password": null}

    Good:
        {"mail.smtp.password": "example-password"}

    Fix:
        Fill in both, or set mail.smtp.auth=false if the server accepts mail without login.
    """
    s = config.settings
    if not s.auth or s.has_credentials:
        return
    missing = [
        key
        for key, present in (
            ("mail.smtp.user", bool(s.user)),
            ("mail.smtp.password", s.has_password),
        )
        if not present
    ]
    yield Violation(
        f"mail.smtp.auth=true but {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} empty: {login_problem(s, None)}",
        param=missing[0],
        fix=f"set {' and '.join(missing)}, or set mail.smtp.auth=false",
    )


@rule(code="SC302", slug="credentials-without-auth", severity=Severity.WARNING, scope=Scope.CONFIG)
def credentials_without_auth(config: SmtpGateway) -> Iterator[Violation]:
    """A user name or password is set, but AUTH is off.

    What it checks:
        `mail.smtp.user` or `mail.smtp.password` filled in with `mail.smtp.auth` false.

    Why it matters:
        The panel clears both fields when AUTH is unticked, so this record was edited by hand.
        Whether the credentials are then used depends on how the platform passes them (observed
        with the real library): `transport.connect(user, password)` logs in whenever both are
        set and the server offers AUTH, mail.smtp.auth or not (so a wrong password fails every
        message); a Session Authenticator is asked only under mail.smtp.auth, so no login is
        sent and a server that wants one refuses to relay.

    Bad:
        {"mail.smtp.auth": false}

    Good:
        {"mail.smtp.auth": true}

    Fix:
        Set mail.smtp.auth=true, or clear mail.smtp.user and mail.smtp.password.
    """
    s = config.settings
    if s.auth:
        return
    filled = [
        key
        for key, present in (
            ("mail.smtp.user", bool(s.user)),
            ("mail.smtp.password", s.has_password),
        )
        if present
    ]
    if filled:
        both = s.user is not None and s.password is not None
        consequence = (
            "JavaMail still logs in if the platform passes them to connect(), not with an "
            "Authenticator"
            if both
            else "JavaMail does not log in"
        )
        yield Violation(
            f"{' and '.join(filled)} {'is' if len(filled) == 1 else 'are'} set but "
            f"mail.smtp.auth=false: {consequence}",
            param="mail.smtp.auth",
            fix=f"set mail.smtp.auth=true, or clear {' and '.join(filled)}",
        )


@rule(code="SC303", slug="cleartext-auth", severity=Severity.ERROR, scope=Scope.CONFIG)
def cleartext_auth(config: SmtpGateway) -> Iterator[Violation]:
    """AUTH without any TLS: the password crosses the network in clear text.

    What it checks:
        `mail.smtp.auth` true with neither use_ssl nor STARTTLS. An error for a remote host; a
        warning for a loopback host, where the password never leaves the machine.

    Why it matters:
        AUTH PLAIN and LOGIN only base64-encode the password. RFC 4954 §4 tells servers not to
        allow them without TLS, so many servers hide AUTH until STARTTLS — and then JavaMail skips
        AUTH without a word and the server refuses to relay at MAIL or RCPT.

    Bad:
        {"mail.smtp.starttls.enable": false, "mail.smtp.starttls.required": false}

    Good:
        {"mail.smtp.starttls.enable": true, "mail.smtp.starttls.required": true}

    Fix:
        Turn on STARTTLS (enable and required) on 587, or use_ssl on 465.

    References:
        RFC 4954 §4, RFC 8314 §3.
    """
    s = config.settings
    if not s.auth or s.mode is not TlsMode.NONE:
        return
    local = bool(s.host) and is_loopback(s.host or "")
    yield Violation(
        "mail.smtp.auth=true without TLS: the password is sent in clear text"
        + (" (to a loopback host, so it stays on this machine)" if local else ""),
        param="mail.smtp.starttls.enable",
        fix="set mail.smtp.starttls.enable=true and mail.smtp.starttls.required=true "
        "(or use_ssl=true on port 465)",
        severity=Severity.WARNING if local else None,
    )
