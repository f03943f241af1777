"""SC4xx: timeouts, debug logging and the sender address."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.config.address import address_problem
from smtpcheck.config.javamail import java_int
from smtpcheck.results import Severity
from smtpcheck.rules.base import Scope, SmtpGateway, Violation, rule

__all__ = [
    "debug_enabled",
    "infinite_timeout",
    "invalid_from_address",
    "missing_from_address",
    "timeout_looks_like_seconds",
    "very_long_timeout",
]

#: Longer than RFC 5321 §4.5.3.2's largest per-command minimum that matters before DATA (5 min).
LONG_TIMEOUT_MS = 300_000
#: Below one second a millisecond value was almost certainly meant as seconds.
SECONDS_LIKE_MS = 1_000


def _timeouts(config: SmtpGateway) -> dict[str, int | None]:
    p = config.params
    return {
        "mail.smtp.connectiontimeout": java_int(p.connection_timeout),
        "mail.smtp.timeout": java_int(p.timeout),
    }


# What "no timeout" costs, per key (java.net.Socket with no timeout set).
_WAITS = {
    "mail.smtp.connectiontimeout": (
        "JavaMail then waits for a connection as long as the operating system lets it try "
        "(about 2 minutes on Linux, for every message)"
    ),
    "mail.smtp.timeout": (
        "JavaMail then waits for each reply until the server drops the connection: for ever "
        "on a server that accepts and stays silent"
    ),
}


@rule(code="SC401", slug="infinite-timeout", severity=Severity.WARNING, scope=Scope.CONFIG)
def infinite_timeout(config: SmtpGateway) -> Iterator[Violation]:
    """A timeout is missing, 0 or negative, which means: wait for ever.

    What it checks:
        `mail.smtp.connectiontimeout` (TCP connect) and `mail.smtp.timeout` (each read), in
        milliseconds.

    Why it matters:
        JavaMail sets no timeout when the key is missing or negative, and `java.net.Socket`
        reads 0 as "infinite". One unresponsive server then blocks the sending thread for ever,
        and alerts stop without an error.

    Bad:
        {"mail.smtp.timeout": 0}

    Good:
        {"mail.smtp.timeout": 60000}

    Fix:
        Set both timeouts, e.g. 60000 (one minute).
    """
    for key, value in _timeouts(config).items():
        if value is None or value <= 0:
            written = str(value)
            if value is None:
                raw = config.params.given(key)
                written = "missing" if raw is None else f"{raw!r}, which JavaMail cannot read"
            yield Violation(
                f"{key} is {written}: {_WAITS[key]}",
                param=key,
                fix=f"set {key} to a number of milliseconds, e.g. 60000",
            )


@rule(
    code="SC402", slug="timeout-looks-like-seconds", severity=Severity.WARNING, scope=Scope.CONFIG
)
def timeout_looks_like_seconds(config: SmtpGateway) -> Iterator[Violation]:
    """A timeout below one second: probably seconds written into a millisecond field.

    What it checks:
        `mail.smtp.connectiontimeout` and `mail.smtp.timeout` between 1 and 999.

    Why it matters:
        Both are milliseconds. `30` gives the server 30 ms to answer, which fails on any real
        network; RFC 5321 §4.5.3.2 expects minutes.

    Bad:
        {"mail.smtp.timeout": 30}

    Good:
        {"mail.smtp.timeout": 30000}

    Fix:
        Multiply by 1000.

    References:
        RFC 5321 §4.5.3.2.
    """
    for key, value in _timeouts(config).items():
        if value is not None and 0 < value < SECONDS_LIKE_MS:
            yield Violation(
                f"{key} is {value} ms: that looks like seconds in a millisecond field",
                param=key,
                fix=f"set {key} to {value * 1000} if {value} seconds was meant",
            )


@rule(code="SC403", slug="very-long-timeout", severity=Severity.WARNING, scope=Scope.CONFIG)
def very_long_timeout(config: SmtpGateway) -> Iterator[Violation]:
    """A timeout longer than five minutes.

    What it checks:
        `mail.smtp.connectiontimeout` and `mail.smtp.timeout` above 300000 ms.

    Why it matters:
        Five minutes is the longest wait RFC 5321 §4.5.3.2 asks for before DATA. Longer timeouts
        only delay the moment a dead server is noticed, while alerts queue up behind it.

    Bad:
        {"mail.smtp.connectiontimeout": 3600000}

    Good:
        {"mail.smtp.connectiontimeout": 60000}

    Fix:
        Use 60000 to 300000 ms.

    References:
        RFC 5321 §4.5.3.2.
    """
    for key, value in _timeouts(config).items():
        if value is not None and value > LONG_TIMEOUT_MS:
            yield Violation(
                f"{key} is {value} ms ({value / 60000:.0f} min): "
                "a dead server is noticed that late",
                param=key,
                fix=f"set {key} to at most {LONG_TIMEOUT_MS}",
            )


@rule(code="SC404", slug="debug-enabled", severity=Severity.WARNING, scope=Scope.CONFIG)
def debug_enabled(config: SmtpGateway) -> Iterator[Violation]:
    """mail.debug is on: the full SMTP conversation goes to the server's log.

    What it checks:
        `mail.debug` true.

    Why it matters:
        JavaMail then logs every command and reply, the envelope and whole messages — personal data
        in the platform's logs. JavaMail before 1.4.5 logged the AUTH exchange too, i.e. the
        password in base64.

    Bad:
        {"mail.debug": true}

    Good:
        {"mail.debug": false}

    Fix:
        Set mail.debug=false once the gateway works.
    """
    if config.settings.debug:
        yield Violation(
            "mail.debug=true: the SMTP conversation, envelopes and messages are logged",
            param="mail.debug",
            fix="set mail.debug=false",
        )


@rule(code="SC405", slug="invalid-from-address", severity=Severity.ERROR, scope=Scope.CONFIG)
def invalid_from_address(config: SmtpGateway) -> Iterator[Violation]:
    """default_from_address is not a valid e-mail address.

    What it checks:
        Syntax and lengths by RFC 5321 (local part ≤ 64 octets, domain ≤ 255, path ≤ 256), with no
        DNS lookup; special-use domains such as `.test` or `localhost` are accepted. It also
        recognises `[email protected]`, which is what a web page's e-mail obfuscation leaves
        when a config is copied from a browser.

    Why it matters:
        The server rejects the sender at `MAIL FROM` (553), and no alert is delivered.

    Bad:
        {"default_from_address": "alerts at example.com"}

    Good:
        {"default_from_address": "alerts@example.com"}

    Fix:
        Type the sender address itself (not copied from a web page), e.g. alerts@example.com.

    References:
        RFC 5321 §4.1.2, §4.5.3.1.
    """
    address = config.settings.from_address
    problem = address_problem(address) if address else None
    if problem:
        yield Violation(
            f"default_from_address {address!r} is not a valid address: {problem}",
            param="default_from_address",
            fix="set default_from_address to a plain address such as alerts@example.com",
        )


@rule(code="SC406", slug="missing-from-address", severity=Severity.INFO, scope=Scope.CONFIG)
def missing_from_address(config: SmtpGateway) -> Iterator[Violation]:
    """No default_from_address: the sender comes from the panel's notification settings.

    What it checks:
        `default_from_address` missing, null or empty.

    Why it matters:
        The panel itself writes null here and keeps the sender in its notification settings, so
        this is normal — but then the sender cannot be checked from the gateway alone, and
        `--send-to` needs `--from`.

    Bad:
        {"default_from_address": null}

    Good:
        {"default_from_address": "alerts@example.com"}

    Fix:
        Nothing to do if the panel's notification settings carry the sender.
    """
    if not config.settings.from_address:
        yield Violation(
            "default_from_address is empty: the sender comes from the panel's "
            "notification settings",
            param="default_from_address",
        )
