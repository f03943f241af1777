"""Sender address and host syntax by RFC 5321 (grammar §4.1.2, lengths §4.5.3.1), with no DNS."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from smtpcheck.config.address import (
    OBFUSCATED_EMAIL,
    address_problem,
    host_problem,
    is_ip_literal,
    is_loopback,
)

_LABEL63 = "b" * 63


@pytest.mark.parametrize(
    "address",
    [
        "alerts@example.com",
        "ALERTS@EXAMPLE.COM",
        "alerts+gps@example.com",
        "first.last@example.com",
        "o'brien@example.com",
        "#!$%&'*+-/=?^_`{|}~@example.com",  # every atext character
        "alerts@ci.test",  # special-use names: CI uses them, no DNS is asked
        "alerts@mailpit.local",
        "alerts@localhost",
        "alerts@example",
        "alerts@123.example.com",
        "alerts@xn--exmple-cua.com",
        "alerts@exämple.com",  # RFC 6531: UTF-8 domains
        "jöhn@example.com",  # RFC 6531: UTF-8 local parts
        "用户@例子.广告",
        '"alerts desk"@example.com',  # quoted local part: spaces allowed
        '"a\\"b"@example.com',  # quoted-pair
        '""@example.com',  # RFC 5321 allows an empty quoted string
        "alerts@[192.0.2.1]",  # address literals (§4.1.3)
        "alerts@[IPv6:2001:db8::1]",
        "a" * 64 + "@example.com",  # the longest local part
        "ö" * 32 + "@example.com",  # 64 octets in UTF-8
        "a" * 64 + "@" + ".".join([_LABEL63, _LABEL63, "d" * 61]),  # 254: the longest path
    ],
)
def test_address_valid(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (OBFUSCATED_EMAIL, "e-mail obfuscation"),
        ("Alerts [email protected]", "e-mail obfuscation"),
        ("Alerts <alerts@example.com>", "display name"),
        ("<alerts@example.com>", "angle brackets"),
        (" alerts@example.com", "leading or trailing spaces"),
        ("alerts@example.com\n", "leading or trailing spaces"),
        ("alerts", "no local part and @"),
        ("@example.com", "no local part and @"),
        ("a" * 65 + "@example.com", "local part is longer than 64 octets"),
        ("ö" * 32 + "a@example.com", "local part is longer than 64 octets"),  # 65 octets
        ("a@" + ".".join([_LABEL63] * 3 + ["c" * 64]), "domain is longer than 255 octets"),
        ("a" * 64 + "@" + ".".join([_LABEL63, _LABEL63, "d" * 62]), "longer than 254 octets"),
        ("a..b@example.com", "local part 'a..b' is not valid"),
        (".a@example.com", "is not valid"),
        ("a.@example.com", "is not valid"),
        ("dealer alerts@example.com", "is not valid"),
        ("a@b@example.com", "is not valid"),
        ("a@example.com,b@example.com", "is not valid"),
        ('"unterminated@example.com', "is not valid"),
        ("alerts@", "domain '' is not a valid domain name"),
        ("alerts@example..com", "not a valid domain name"),
        ("alerts@-example.com", "not a valid domain name"),
        ("alerts@example-.com", "not a valid domain name"),
        ("alerts@mail_relay.example.com", "not a valid domain name"),
        ("alerts@ex ample.com", "not a valid domain name"),
        ("alerts@" + "b" * 64 + ".com", "not a valid domain name"),
        ("alerts@192.0.2.1", "write an IP address as [192.0.2.1]"),
        ("alerts@[300.1.1.1]", "is not an address literal"),
        ("alerts@[]", "is not an address literal"),
        ("alerts@[IPv6:192.0.2.1x]", "is not an address literal"),
    ],
)
def test_address_invalid(address: str, problem: str) -> None:
    found = address_problem(address)
    assert found is not None, address
    assert problem in found


def test_address_obfuscation_names_the_cause() -> None:
    found = address_problem(OBFUSCATED_EMAIL)
    assert found is not None
    assert "copied from a browser" in found


def test_address_checks_never_ask_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []

    def record(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        raise AssertionError("DNS was asked")

    monkeypatch.setattr(socket, "getaddrinfo", record)
    monkeypatch.setattr(socket, "gethostbyname", record)
    for address in ("alerts@example.com", "alerts@no-such-domain.test", "alerts@[192.0.2.1]"):
        assert address_problem(address) is None
    for host in ("smtp.example.com", "no-such-host.invalid", "192.0.2.1", "localhost"):
        assert host_problem(host) is None
        is_loopback(host)
    assert asked == []


@pytest.mark.parametrize(
    "host",
    [
        "smtp.example.com",
        "smtp.example.com.",  # fully qualified, with the root dot
        "SMTP.EXAMPLE.COM",
        "mailrelay",
        "smtp_relay.internal",  # not RFC 5321, but resolvers take it
        "smtp.exämple.com",
        "123.example.com",
        "192.0.2.25",
        "2001:db8::25",
        "[2001:db8::25]",
        "[::1]",
        "::ffff:192.0.2.1",
        "fe80::1%eth0",
        ".".join([_LABEL63] * 3 + ["c" * 61]),  # 253: the longest name
    ],
)
def test_address_host_valid(host: str) -> None:
    assert host_problem(host) is None


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("smtp://smtp.example.com", "URL scheme"),
        ("smtps://smtp.example.com:465", "URL scheme"),
        ("smtp.example.com/mail", "it has a path"),
        ("alerts@smtp.example.com", "user name"),
        ("smtp.example.com:587", "it has a :port"),
        ("[2001:db8::25]:587", "it has a :port"),
        ("[::1]:25", "it has a :port"),
        (" smtp.example.com", "spaces"),
        ("smtp.example.com\t", "spaces"),
        ("smtp example.com", "spaces"),
        ("smtp..example.com", "not a valid host name"),
        ("-smtp.example.com", "not a valid host name"),
        ("a" * 64 + ".example.com", "not a valid host name"),
        (".".join([_LABEL63] * 3 + ["c" * 62]), "not a valid host name"),  # 254
        ("[192.0.2.25]", "not a valid host name"),  # brackets are for IPv6 only
        ("[::1", "not a valid host name"),
        ("smtp1.example.com,smtp2.example.com", "not a valid host name"),
        ("192.168.1.300", "neither an IPv4 address nor a host name"),
        ("smtp.example.123", "neither an IPv4 address nor a host name"),
    ],
)
def test_address_host_invalid(host: str, problem: str) -> None:
    found = host_problem(host)
    assert found is not None, host
    assert problem in found


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("mail.localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),  # Java connects to the mapped IPv4 address
        ("[::ffff:127.0.0.1]", True),
        ("smtp.example.com", False),
        ("localhost.example.com", False),
        ("mylocalhost", False),
        ("192.0.2.1", False),
        ("10.0.0.1", False),  # private, but another machine
        ("::ffff:192.0.2.1", False),
        ("[127.0.0.1]", False),  # not a valid host at all (SC102)
    ],
)
def test_address_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "literal"),
    [
        ("192.0.2.1", True),
        ("2001:db8::1", True),
        ("[2001:db8::1]", True),
        ("fe80::1%eth0", True),
        ("[192.0.2.1]", False),
        ("[2001:db8::1", False),
        ("2001:db8::1]", False),
        ("192.0.2", True),  # Java reads it as 192.0.0.2: the last part fills the rest
        ("smtp.example.com", False),
        ("", False),
        ("1smtp.example.com", False),
    ],
)
def test_address_is_ip_literal(host: str, literal: bool) -> None:
    assert is_ip_literal(host) is literal
