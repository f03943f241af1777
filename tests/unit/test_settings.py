"""How JavaMail reads the params: PropUtil's int and boolean parsing, the TLS mode, the port.

The expected values follow Angus Mail's ``PropUtil.getInt`` / ``getBoolean``: a String goes
through ``Integer.parseInt`` (``0x`` prefix: radix 16), an Integer is used as is, and anything
else — or a string that does not parse — silently gives the default.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from smtpcheck.config.javamail import (
    DEFAULT_PLAIN_PORT,
    DEFAULT_SSL_PORT,
    java_bool,
    java_int,
    settings_of,
)
from smtpcheck.config.models import SmtpParams
from smtpcheck.results import Endpoint, TlsMode


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (587, 587),
        (0, 0),
        (-1, -1),
        (2**31 - 1, 2**31 - 1),
        (2**31, None),  # a Long, not an Integer: the default
        (-(2**31), -(2**31)),
        (-(2**31) - 1, None),
        ("587", 587),
        ("+587", 587),  # parseInt takes a leading sign
        ("-1", -1),
        ("007", 7),
        ("0x24B", 587),
        ("0x24b", 587),
        ("0x-19", -25),  # the sign may follow the prefix: parseInt("-19", 16)
        ("0x", None),
        ("0X24B", None),  # only a lowercase prefix means hex
        ("-0x19", None),
        ("24B", None),
        ("", None),
        (" 587", None),  # no trimming
        ("587 ", None),
        ("587\n", None),
        ("587.0", None),
        ("5_87", None),  # Python's int() would take it
        ("1e3", None),
        ("2147483647", 2**31 - 1),
        ("2147483648", None),  # out of range: NumberFormatException, the default
        ("0x7fffffff", 2**31 - 1),
        ("0x80000000", None),
        ("\u0665\u0668\u0667", 587),  # Character.digit takes every Unicode decimal digit
        ("\u00b2", None),  # a superscript is a digit to Python's isdigit, not to Java
        ("twenty-five", None),
    ],
)
def test_settings_java_int_follows_prop_util(value: int | str | None, expected: int | None) -> None:
    assert java_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("false", False),
        ("yes", False),
        ("on", False),
        ("1", False),
        (" true", False),
        ("true ", False),
        ("", False),
    ],
)
def test_settings_java_bool_only_true_turns_a_flag_on(
    value: bool | str | None, expected: bool
) -> None:
    assert java_bool(value) is expected


def _settings(**params: Any) -> Any:
    return settings_of(SmtpParams.model_validate(params))


@pytest.mark.parametrize(
    ("use_ssl", "enable", "required", "mode"),
    [
        (None, None, None, TlsMode.NONE),
        (False, False, False, TlsMode.NONE),
        (True, False, False, TlsMode.IMPLICIT),
        (True, True, True, TlsMode.IMPLICIT),  # SSL wins: JavaMail skips STARTTLS on SSL
        (False, True, False, TlsMode.STARTTLS),
        (False, True, True, TlsMode.STARTTLS),
        (False, False, True, TlsMode.STARTTLS),  # required alone still issues STARTTLS
        ("true", None, None, TlsMode.IMPLICIT),
        ("yes", "yes", "yes", TlsMode.NONE),
        (None, "TRUE", None, TlsMode.STARTTLS),
    ],
)
def test_settings_mode_is_derived_as_javamail_does(
    use_ssl: object, enable: object, required: object, mode: TlsMode
) -> None:
    settings = _settings(
        **{
            "mail.smtp.use_ssl": use_ssl,
            "mail.smtp.starttls.enable": enable,
            "mail.smtp.starttls.required": required,
        }
    )
    assert settings.mode is mode


@pytest.mark.parametrize(
    ("required", "expected"), [(True, True), ("true", True), (False, False), ("yes", False)]
)
def test_settings_starttls_required_is_read_as_a_flag(required: object, expected: bool) -> None:
    settings = _settings(**{"mail.smtp.starttls.required": required})
    assert settings.starttls_required is expected


@pytest.mark.parametrize(
    ("params", "port"),
    [
        ({}, DEFAULT_PLAIN_PORT),
        ({"mail.smtp.port": 587}, 587),
        ({"mail.smtp.port": "587"}, 587),
        ({"mail.smtp.port": "587 "}, DEFAULT_PLAIN_PORT),  # unreadable: the default
        ({"mail.smtp.port": 25, "mail.smtp.ssl.port": 465}, 25),  # ssl.port only with use_ssl
        ({"mail.smtp.use_ssl": True}, DEFAULT_SSL_PORT),
        ({"mail.smtp.use_ssl": True, "mail.smtp.port": 465, "mail.smtp.ssl.port": 465}, 465),
        ({"mail.smtp.use_ssl": True, "mail.smtp.port": 25, "mail.smtp.ssl.port": 465}, 465),
        ({"mail.smtp.use_ssl": True, "mail.smtp.port": 465, "mail.smtp.ssl.port": 4650}, 4650),
        ({"mail.smtp.use_ssl": True, "mail.smtp.port": 4650}, 4650),  # ssl.port missing
        # written but unreadable: it still replaces the port, and PropUtil falls back to 465
        ({"mail.smtp.use_ssl": True, "mail.smtp.port": 4650, "mail.smtp.ssl.port": "x"}, 465),
        ({"mail.smtp.use_ssl": True, "mail.smtp.ssl.port": "0x1d1"}, 465),
        ({"mail.smtp.use_ssl": True, "mail.smtp.ssl.port": 0}, 0),  # SC103 reports it
        ({"mail.smtp.starttls.enable": True, "mail.smtp.ssl.port": 465}, DEFAULT_PLAIN_PORT),
    ],
)
def test_settings_port_follows_use_ssl(params: dict[str, Any], port: int) -> None:
    assert _settings(**params).port == port


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (60000, 60000),
        ("60000", 60000),
        (1, 1),
        (0, None),  # java.net.Socket: 0 is "infinite"
        (-1, None),  # JavaMail sets no timeout below 0
        (None, None),
        ("60s", None),
        (2**31, None),
    ],
)
def test_settings_timeouts_none_means_forever(
    value: int | str | None, expected: int | None
) -> None:
    settings = _settings(**{"mail.smtp.timeout": value, "mail.smtp.connectiontimeout": value})
    assert settings.read_timeout_ms == expected
    assert settings.connect_timeout_ms == expected


def test_settings_of_the_example_gateway() -> None:
    settings = _settings(
        **{
            "default_from_address": "alerts@example.com",
            "mail.smtp.user": "alerts@example.com",
            "mail.smtp.password": "example-password",
            "mail.smtp.host": "smtp.example.com",
            "mail.smtp.port": 587,
            "mail.smtp.auth": True,
            "mail.smtp.starttls.enable": True,
            "mail.smtp.starttls.required": True,
            "mail.debug": "true",
            "mail.smtp.ssl.trust_all_hosts": False,
        }
    )
    assert settings.endpoint == Endpoint(
        host="smtp.example.com", port=587, mode=TlsMode.STARTTLS, starttls_required=True
    )
    assert settings.auth is True
    assert settings.user == "alerts@example.com"
    assert settings.has_credentials is True
    assert settings.from_address == "alerts@example.com"
    assert settings.protocol == "smtp"
    assert settings.debug is True
    assert settings.trust_all_hosts is False


@pytest.mark.parametrize(("host", "expected"), [(None, None), ("", None), (" h ", " h ")])
def test_settings_host_empty_is_none_and_spaces_are_kept(
    host: str | None, expected: str | None
) -> None:
    # Spaces are kept so that SC102 can point at them and the probe uses what JavaMail would.
    assert _settings(**{"mail.smtp.host": host}).host == expected


@pytest.mark.parametrize(
    ("user", "password", "expected"),
    [
        ("u", "p", True),
        ("u", "", False),
        ("u", None, False),
        ("", "p", False),
        (None, "p", False),
        ("u", " ", True),  # a password of one space is a password
    ],
)
def test_settings_has_credentials_needs_both(
    user: str | None, password: str | None, expected: bool
) -> None:
    settings = _settings(**{"mail.smtp.user": user, "mail.smtp.password": password})
    assert settings.has_credentials is expected


def test_settings_keep_the_password_secret() -> None:
    settings = _settings(**{"mail.smtp.password": "hunter2-do-not-print"})
    assert isinstance(settings.password, SecretStr)
    assert "hunter2-do-not-print" not in repr(settings)


@pytest.mark.parametrize(
    ("protocol", "expected"), [(None, "smtp"), ("", "smtp"), ("smtps", "smtps"), ("tls", "tls")]
)
def test_settings_protocol_defaults_to_smtp(protocol: str | None, expected: str) -> None:
    assert _settings(**{"mail.transport.protocol": protocol}).protocol == expected
