"""How JavaMail reads a gateway's params: the effective host, port, TLS mode, auth and timeouts.

The rules and the probe both start from these values, so a config is judged and connected exactly
the way the platform's mail sender would use it. The mode <-> params mapping lives here too, in
both directions: `mode_of` reads the flags as JavaMail does, `connection_params` writes them for
a port and mode (discovery's suggestions, tests), `pinned_params` says which ones an endpoint
determines (the text report's diff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smtpcheck.config.profile import Credentials
from smtpcheck.redaction import reveal, secret_forms
from smtpcheck.results import Endpoint, TlsMode

if TYPE_CHECKING:
    from pydantic import SecretStr

    from smtpcheck.config.models import SmtpParams

__all__ = [
    "DEFAULT_PLAIN_PORT",
    "DEFAULT_SSL_PORT",
    "SmtpSettings",
    "connection_params",
    "fails_before_connecting",
    "java_bool",
    "java_int",
    "login_problem",
    "mode_of",
    "pinned_params",
    "settings_of",
    "smtps_endpoint",
]

DEFAULT_PLAIN_PORT = 25
DEFAULT_SSL_PORT = 465  # JavaMail's default when SSL is on (RFC 8314 "submissions")

_INT32 = range(-(2**31), 2**31)
# Java's Character.digit takes every Unicode decimal digit ("٥٨٧" is 587), and so do `\d` in a
# str pattern and int(); the fullwidth hex letters it also takes are left out as too rare.
_DECIMAL = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"[+-]?(?:\d|[a-fA-F])+")


def java_int(value: int | float | str | None) -> int | None:
    """Return the int JavaMail's PropUtil reads from a value, or None when it uses its default.

    Strings go through ``Integer.parseInt`` (``0x`` prefix: hex); no spaces, no decimals, and
    anything out of the 32-bit range falls back to the default, silently. So does a value of
    another type: a JSON 25.0 arrives as a Double, true as a Boolean.
    """
    if value is None or isinstance(value, bool | float):
        return None
    if isinstance(value, int):
        return value if value in _INT32 else None
    if value.startswith("0x"):
        digits, base = value[2:], 16
        pattern = _HEX
    else:
        digits, base, pattern = value, 10, _DECIMAL
    if not pattern.fullmatch(digits):
        return None
    number = int(digits, base)
    return number if number in _INT32 else None


def java_bool(value: bool | int | float | str | None) -> bool:
    """Return the boolean JavaMail reads for a flag whose default is false.

    Only true and the string "true" (any case) turn such a flag on; "yes", "1", the number 1
    and typos leave it off.
    """
    if isinstance(value, str):
        return value.lower() == "true"
    return value is True


def _timeout_ms(value: int | float | str | None) -> int | None:
    # java.net.Socket treats 0 as "wait for ever", and JavaMail skips negative values: both are
    # infinite, which is None here.
    number = java_int(value)
    return number if number is not None and number > 0 else None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The connection a gateway's params describe, as JavaMail would make it."""

    endpoint: Endpoint
    auth: bool
    user: str | None  # as written: "" and null differ for JavaMail
    password: SecretStr | None
    trust_all_hosts: bool
    connect_timeout_ms: int | None  # None: waits for ever
    read_timeout_ms: int | None
    from_address: str | None = None
    protocol: str = "smtp"
    debug: bool = False

    @property
    def host(self) -> str | None:
        """Return the host, as written."""
        return self.endpoint.host

    @property
    def port(self) -> int:
        """Return the port JavaMail connects to."""
        return self.endpoint.port

    @property
    def mode(self) -> TlsMode:
        """Return how the connection is secured."""
        return self.endpoint.mode

    @property
    def starttls_required(self) -> bool:
        """Return True when a server without STARTTLS must fail the connection."""
        return self.endpoint.starttls_required

    @property
    def has_password(self) -> bool:
        """Return True when a password is filled in."""
        return bool(reveal(self.password))

    @property
    def has_credentials(self) -> bool:
        """Return True when both a user name and a password are filled in."""
        return bool(self.user) and self.has_password

    def logs_in(self, credentials: Credentials) -> bool:
        """Return True when JavaMail sends AUTH (if the server offers it) for this config.

        SMTPTransport.protocolConnect: ``(useAuth || (user != null && password != null))``;
        both are non-null only when the platform passes them to ``connect``. A null password
        under mail.smtp.auth fails before connecting ("no password specified?").
        """
        if self.auth:
            return True
        passed = credentials is Credentials.CONNECT
        return passed and self.user is not None and self.password is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the password in every form it may take in an output (see `secret_forms`)."""
        return secret_forms(self.user, reveal(self.password))


def login_problem(settings: SmtpSettings, credentials: Credentials | None) -> str | None:
    """Say what JavaMail does with a login it cannot make, or None when the login may work.

    As observed with the real library: a null password fails before connecting; a null user
    logs in under the JVM's user.name with connect(), and fails before connecting with an
    Authenticator; an empty one is sent and refused. ``credentials`` None: the platform's way
    is not known, and both are told.
    """
    if settings.password is None:
        return "JavaMail fails before connecting (no password specified)"
    if settings.user is None:
        return {
            Credentials.CONNECT: "JavaMail logs in under the platform's own OS account name "
            "(user.name), which the server refuses",
            Credentials.AUTHENTICATOR: "JavaMail fails before connecting (no user name specified)",
            None: "JavaMail logs in under the platform's own OS account name if the platform "
            "passes the credentials to connect(), or fails before connecting with an "
            "Authenticator",
        }[credentials]
    if not settings.user or not settings.has_password:
        return "JavaMail connects and sends it, and the server refuses the login (535)"
    return None


def fails_before_connecting(settings: SmtpSettings, credentials: Credentials) -> bool:
    """Return True when JavaMail gives up on the login before it opens a connection."""
    if settings.password is None:
        return True
    return settings.user is None and credentials is Credentials.AUTHENTICATOR


# The mode <-> params mapping, both directions. The panel writes each way of connecting with
# these flags (use_ssl, starttls.enable, starttls.required), keyed by mode and whether STARTTLS
# is required; `mode_of` is how JavaMail reads any combination of them back.
_FLAGS: dict[tuple[TlsMode, bool], tuple[bool, bool, bool]] = {
    (TlsMode.NONE, False): (False, False, False),
    (TlsMode.STARTTLS, False): (False, True, False),  # opportunistic: plain text without it
    (TlsMode.STARTTLS, True): (False, True, True),
    (TlsMode.IMPLICIT, False): (True, False, False),
}


def mode_of(*, use_ssl: bool, starttls_enable: bool, starttls_required: bool) -> TlsMode:
    """Return the mode JavaMail connects in for these flags (use_ssl wins over STARTTLS)."""
    if use_ssl:
        return TlsMode.IMPLICIT
    # JavaMail issues STARTTLS when either flag is set: `if (useStartTLS || requireStartTLS)`.
    if starttls_enable or starttls_required:
        return TlsMode.STARTTLS
    return TlsMode.NONE


def connection_params(endpoint: Endpoint) -> dict[str, object]:
    """Return the connection params that make JavaMail connect exactly to this port and mode."""
    required = endpoint.mode is TlsMode.STARTTLS and endpoint.starttls_required
    use_ssl, enable, required = _FLAGS[(endpoint.mode, required)]
    return {
        "mail.smtp.port": endpoint.port,
        # JavaMail reads ssl.port under use_ssl; the panel's UI always writes it equal to port.
        "mail.smtp.ssl.port": endpoint.port,
        "mail.smtp.use_ssl": use_ssl,
        "mail.smtp.starttls.enable": enable,
        "mail.smtp.starttls.required": required,
    }


def pinned_params(endpoint: Endpoint) -> dict[str, object]:
    """Return the params whose value follows from the endpoint alone, whatever else is written.

    The host, use_ssl, and the port under the key JavaMail reads for the mode. Of the STARTTLS
    flags, only plain mode pins both (off); STARTTLS mode is one flag or the other, and under
    use_ssl they are not read at all.
    """
    implicit = endpoint.mode is TlsMode.IMPLICIT
    pinned: dict[str, object] = {
        "mail.smtp.host": endpoint.host,
        "mail.smtp.use_ssl": implicit,
        "mail.smtp.ssl.port" if implicit else "mail.smtp.port": endpoint.port,
    }
    if endpoint.mode is TlsMode.NONE:
        pinned["mail.smtp.starttls.enable"] = False
        pinned["mail.smtp.starttls.required"] = False
    return pinned


def _port(params: SmtpParams, mode: TlsMode) -> int:
    port = java_int(params.port)
    if mode is TlsMode.IMPLICIT:
        # mail.smtp.ssl.port exists for implicit TLS; the panel UI always writes it equal to port.
        # Written but unreadable, it still replaces mail.smtp.port, and JavaMail's PropUtil
        # then falls back to the SSL default; only an absent ssl.port leaves the port alone.
        if params.ssl_port is not None:
            ssl_port = java_int(params.ssl_port)
            return ssl_port if ssl_port is not None else DEFAULT_SSL_PORT
        return port if port is not None else DEFAULT_SSL_PORT
    return port if port is not None else DEFAULT_PLAIN_PORT


def settings_of(params: SmtpParams) -> SmtpSettings:
    """Derive the effective connection settings from a gateway's params."""
    required = java_bool(params.starttls_required)
    mode = mode_of(
        use_ssl=java_bool(params.use_ssl),
        starttls_enable=java_bool(params.starttls_enable),
        starttls_required=required,
    )
    endpoint = Endpoint(
        host=params.host or None,  # as written: SC102 flags stray spaces, the probe keeps them
        port=_port(params, mode),
        mode=mode,
        starttls_required=required and mode is TlsMode.STARTTLS,
    )
    return SmtpSettings(
        endpoint=endpoint,
        auth=java_bool(params.auth),
        user=params.user,
        password=params.password,
        trust_all_hosts=java_bool(params.trust_all_hosts),
        connect_timeout_ms=_timeout_ms(params.connection_timeout),
        read_timeout_ms=_timeout_ms(params.timeout),
        from_address=params.default_from_address or None,
        protocol=(params.protocol or "smtp"),
        debug=java_bool(params.debug),
    )


def smtps_endpoint(params: SmtpParams) -> Endpoint:
    """Return where JavaMail's SSL transport connects: it reads only mail.smtps.* keys.

    That is what ``session.getTransport()`` gives under mail.transport.protocol=smtps: no
    mail.smtps.host means localhost (SMTPTransport.protocolConnect), no port means 465.
    """
    extra = params.model_extra or {}
    host = extra.get("mail.smtps.host")
    port = extra.get("mail.smtps.port")
    return Endpoint(
        host=host if isinstance(host, str) and host else "localhost",
        port=_smtps_port(port),
        mode=TlsMode.IMPLICIT,
    )


def _smtps_port(value: object) -> int:
    number = java_int(value) if isinstance(value, int | float | str) else None
    return DEFAULT_SSL_PORT if number is None else number
