"""The param keys an own gateway's ``params`` may hold, and what JavaMail reads them as.

Kept free of pydantic so that `smtpcheck rules` can explain the catalogue without loading it.
"""

from __future__ import annotations

import re

__all__ = [
    "BOOL_PARAMS",
    "INT_PARAMS",
    "JAVAMAIL_KEYS",
    "KNOWN_PARAMS",
    "REDACTED",
    "SECRET_PARAMS",
    "escape_reference",
    "is_escaped_reference",
    "is_secret_param",
]

#: Every key the panel writes, in the order the API returns them.
KNOWN_PARAMS: tuple[str, ...] = (
    "default_from_address",
    "mail.smtp.user",
    "mail.smtp.password",
    "mail.smtp.host",
    "mail.smtp.port",
    "mail.smtp.ssl.port",
    "mail.smtp.ssl.trust_all_hosts",
    "mail.smtp.auth",
    "mail.debug",
    "mail.smtp.starttls.enable",
    "mail.smtp.starttls.required",
    "mail.smtp.use_ssl",
    "mail.smtp.timeout",
    "mail.smtp.connectiontimeout",
    "mail.transport.protocol",
)

#: Read by JavaMail as an int: strings are parsed, anything else falls back to the default.
INT_PARAMS: frozenset[str] = frozenset(
    {"mail.smtp.port", "mail.smtp.ssl.port", "mail.smtp.timeout", "mail.smtp.connectiontimeout"}
)

#: Read by JavaMail as a boolean: only true or the string "true" turns one on.
BOOL_PARAMS: frozenset[str] = frozenset(
    {
        "mail.smtp.ssl.trust_all_hosts",
        "mail.smtp.auth",
        "mail.debug",
        "mail.smtp.starttls.enable",
        "mail.smtp.starttls.required",
        "mail.smtp.use_ssl",
    }
)

#: Never printed, logged or saved unless the user asks for it.
SECRET_PARAMS: frozenset[str] = frozenset({"mail.smtp.password"})

#: What `smtpcheck fetch` writes in place of a password; reading it back means "no password here".
REDACTED = "**redacted**"


def is_secret_param(key: str) -> bool:
    """Return True for the password param and for any misspelt key that looks like one."""
    lowered = key.lower()
    return key in SECRET_PARAMS or any(word in lowered for word in ("pass", "secret", "token"))


#: Real JavaMail keys that the panel does not read, and the panel key that does their job.
JAVAMAIL_KEYS: dict[str, str] = {
    "mail.smtp.ssl.enable": "mail.smtp.use_ssl",
    "mail.smtp.ssl.trust": "mail.smtp.ssl.trust_all_hosts",
    "mail.smtp.from": "default_from_address",
    "mail.from": "default_from_address",
    "mail.host": "mail.smtp.host",
    "mail.user": "mail.smtp.user",
    "mail.smtps.host": "mail.smtp.host",
    "mail.smtps.port": "mail.smtp.port",
    "mail.smtps.auth": "mail.smtp.auth",
    "mail.smtp.socketFactory.port": "mail.smtp.ssl.port",
    "mail.smtp.ssl.socketFactory.port": "mail.smtp.ssl.port",
}


#: In a file, "$${" (or more dollars) is the text with one dollar less, never a ${NAME} reference.
_ESCAPED_REFERENCE = re.compile(r"\$\$+\{")


def is_escaped_reference(value: str) -> bool:
    """Return True for text that a file wrote with `escape_reference`."""
    return _ESCAPED_REFERENCE.match(value) is not None


def escape_reference(value: str) -> str:
    """Return how a file must write ``value`` so that it is read back as that very text.

    Only text starting with dollars and a brace needs it: one more dollar in front.
    """
    return f"${value}" if value.startswith("${") or is_escaped_reference(value) else value
