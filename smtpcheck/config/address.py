"""Syntax and length checks of a sender address by RFC 5321 §4.1.2 and §4.5.3.1 — no DNS.

`validate` never touches the network, so there are no MX lookups, and special-use names
(``localhost``, ``.test``, ``.local``) are as good as any: CI configs use them. A host is read
as Java's ``InetAddress.getByName`` reads it (`java_ip_literal`), not as the C library does.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string

__all__ = [
    "OBFUSCATED_EMAIL",
    "address_problem",
    "host_problem",
    "is_ip_literal",
    "is_loopback",
    "java_ip_literal",
    "java_ipv4_literal",
    "java_literal_refusal",
    "tls_name",
]

#: What a web page's e-mail obfuscation (Cloudflare's) leaves in place of an address when a
#: config is copied from a browser. The API page's own example carries it.
OBFUSCATED_EMAIL = "[email protected]"

# A character class spanning all of Unicode costs milliseconds to compile; "not ASCII" is the
# same set for these patterns and compiles at once (start-up of `validate` matters).
_NON_ASCII = r"[^\x00-\x7f]"
# RFC 5321 §4.1.2 atext, plus any non-ASCII character for SMTPUTF8 (RFC 6531 §3.3).
_ATOM = rf"(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{{|}}~]|{_NON_ASCII})+"
_DOT_STRING = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_QUOTED_STRING = re.compile(rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|{_NON_ASCII}|\\[\x20-\x7e])*"')
_LABEL = re.compile(rf"(?!-)(?:[A-Za-z0-9-]|{_NON_ASCII}){{1,63}}(?<!-)")
# Not in RFC 5321's grammar, but real internal host names carry them and resolvers accept them.
_HOST_LABEL = re.compile(rf"(?!-)(?:[A-Za-z0-9_-]|{_NON_ASCII}){{1,63}}(?<!-)")

_MAX_LOCAL = 64
_MAX_DOMAIN = 255
_MAX_PATH = 256  # including the angle brackets of the reverse-path


@functools.lru_cache(maxsize=4096)  # a fleet repeats its senders and relays; checks are pure
def address_problem(address: str) -> str | None:
    """Return why ``address`` is not a valid RFC 5321 mailbox, or None when it is."""
    if address == OBFUSCATED_EMAIL or "email protected" in address:
        return (
            "this is what a web page's e-mail obfuscation shows instead of an address: "
            "it was copied from a browser, not typed"
        )
    if address != address.strip():
        return "it has leading or trailing spaces"
    if "<" in address or ">" in address:
        return "it has angle brackets or a display name; write the bare address"
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "it has no local part and @"
    if len(local.encode()) > _MAX_LOCAL:
        return f"the local part is longer than {_MAX_LOCAL} octets"
    if len(domain.encode()) > _MAX_DOMAIN:
        return f"the domain is longer than {_MAX_DOMAIN} octets"
    if len(address.encode()) + 2 > _MAX_PATH:
        return f"the address is longer than {_MAX_PATH - 2} octets"
    if not (_DOT_STRING.fullmatch(local) or _QUOTED_STRING.fullmatch(local)):
        return f"the local part {local!r} is not valid (unquoted spaces, commas or dots in a row?)"
    if domain.startswith("[") and domain.endswith("]"):
        return None if _address_literal(domain[1:-1]) else f"{domain} is not an address literal"
    if not _domain(domain, _LABEL):
        return f"the domain {domain!r} is not a valid domain name"
    if domain.removesuffix(".").rpartition(".")[2].isdigit():
        # No top-level domain is all digits (RFC 3696 §2); an IP address needs brackets
        # (RFC 5321 §4.1.3).
        return f"the domain {domain!r} is not a domain name; write an IP address as [{domain}]"
    return None


def _address_literal(text: str) -> bool:
    candidate = text[5:] if text.lower().startswith("ipv6:") else text
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _domain(name: str, label: re.Pattern[str]) -> bool:
    name = name.removesuffix(".")
    return bool(name) and all(label.fullmatch(part) for part in name.split("."))


@functools.lru_cache(maxsize=4096)
def host_problem(host: str) -> str | None:
    """Return why ``host`` is not a bare host name or IP address, or None when it is."""
    if host != host.strip() or any(c.isspace() for c in host):
        return "it contains spaces"
    if "://" in host:
        return "it has a URL scheme; write only the host name"
    if "/" in host:
        return "it has a path; write only the host name"
    if "@" in host:
        return "it has a user name (user@host); put the user in mail.smtp.user"
    if is_ip_literal(host):
        return None
    if host.count(":") == 1 or (host.startswith("[") and "]:" in host):
        return "it has a :port; put the port in mail.smtp.port"
    refusal = java_literal_refusal(host)
    if refusal is not None:
        return refusal
    if not _domain(host, _HOST_LABEL) or len(host) > 253:
        return "it is not a valid host name"
    if host.removesuffix(".").rpartition(".")[2].isdigit():
        # Top-level domains are never all-numeric (RFC 3696 §2), so this is a mistyped IPv4
        # address such as 192.168.1.300, which the resolver would look up as a name.
        return "it is neither an IPv4 address nor a host name (no top-level domain is all digits)"
    return None


# --- hosts as Java reads them ----------------------------------------------------------------
#
# InetAddress.getByName (OpenJDK 17.0.15, checked against it: tests/hostile/test_host_forms.py)
# takes an IPv4 literal of 1 to 4 decimal parts, the last filling the remaining bytes ("127.1",
# "2130706433", "127.0.0.01" are 127.0.0.1; "0177.0.0.1" is 177.0.0.1), an IPv6 literal with
# or without brackets, and looks anything else up as a name. What the C library's inet_aton
# reads and Java does not (a hex or octal part: "0x7f000001") Java refuses without a look-up
# (an "ambiguous" literal; -Djdk.net.allowAmbiguousIPAddressLiterals=true, as older JDKs did,
# looks it up, and on Linux the C library then reads it), and so do brackets around anything
# but an IPv6 address.

_JAVA_V4 = re.compile(r"[0-9]+(?:\.[0-9]+){0,3}")  # ASCII digits only, as Java's parser
_JAVA_V4_LENGTH = 15  # Java's parser refuses a longer text outright
_BSD_PART = r"(?:0[xX][0-9A-Fa-f]+|0[0-7]*|[1-9][0-9]*)"
_BSD_V4 = re.compile(rf"{_BSD_PART}(?:\.{_BSD_PART}){{0,3}}")
_HEX_GROUP = re.compile(r"[0-9A-Fa-f]{1,4}")


def java_ipv4_literal(host: str) -> str | None:
    """Return the dotted quad Java reads in ``host`` as an IPv4 literal, or None for none."""
    if len(host) > _JAVA_V4_LENGTH or not _JAVA_V4.fullmatch(host):
        return None
    return _ipv4([int(part) for part in host.split(".")])


def _bsd_ipv4(host: str) -> str | None:
    """Return the address the C library's inet_aton reads in ``host`` (hex, octal), or None."""
    if not _BSD_V4.fullmatch(host):
        return None
    return _ipv4([_bsd_part(part) for part in host.split(".")])


def _bsd_part(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part, 16)
    if part.startswith("0"):
        return int(part, 8)
    # Past 10 digits it is past 32 bits; and Python refuses to read 4300 decimal digits.
    return int(part) if len(part) <= 10 else 1 << 32


def _ipv4(parts: list[int]) -> str | None:
    # a.b.c.d; a.b.c with c 16 bits; a.b with b 24 bits; a alone 32 bits (inet_aton's forms).
    *head, last = parts
    if any(part > 255 for part in head) or last >= 1 << (8 * (5 - len(parts))):
        return None
    number = sum(part << (8 * (3 - index)) for index, part in enumerate(head)) + last
    return str(ipaddress.IPv4Address(number))


def _java_ipv6(text: str) -> str | None:
    """Return the address Java reads in an IPv6 literal without brackets, or None.

    An IPv4-mapped address is the IPv4 address (Java makes it an Inet4Address). Java allows
    leading zeros in a group while it stays 16 bits, and an IPv4 tail of exactly 4 parts.
    """
    address, percent, zone = text.partition("%")
    if percent and not zone:
        return None
    groups = address.split(":")
    tail = groups[-1]
    if "." in tail:
        quad = java_ipv4_literal(tail) if tail.count(".") == 3 else None
        if quad is None:
            return None
        groups[-1] = quad
    for index, group in enumerate(groups if "." not in tail else groups[:-1]):
        if group:
            hexits = group.lstrip("0") or "0"
            if not _HEX_GROUP.fullmatch(hexits):
                return None
            groups[index] = hexits
    try:
        parsed = ipaddress.IPv6Address(":".join(groups) + (f"%{zone}" if percent else ""))
    except ValueError:
        return None
    mapped = parsed.ipv4_mapped
    return str(parsed) if mapped is None else str(mapped)


@functools.lru_cache(maxsize=4096)
def tls_name(host: str) -> str:
    """Return the name a TLS certificate is checked against: an IP literal as Java reads it."""
    return java_ip_literal(host) or host


def java_ip_literal(host: str) -> str | None:
    """Return the IP address Java connects to for ``host`` without a look-up, or None.

    None for a name (Java looks it up) and for a text Java refuses (`java_literal_refusal`).
    An IPv6 address comes without brackets, with its ``%zone`` if it has one.
    """
    if host.startswith("[") and host.endswith("]") and len(host) > 2:
        return _java_ipv6(host[1:-1])
    if not host or not (host[0] in string.hexdigits or host[0] == ":"):
        return None  # the common case, a host name, answered at once (as Java does)
    return java_ipv4_literal(host) or (_java_ipv6(host) if ":" in host else None)


def java_literal_refusal(host: str) -> str | None:
    """Return why Java refuses ``host`` without a look-up (an UnknownHostException), or None."""
    if java_ip_literal(host) is not None:
        return None
    if host.startswith("["):
        return (
            "it is not a valid host name: Java reads brackets as an IPv6 address; these hold none"
        )
    if not host or not (host[0] in string.hexdigits or host[0] == ":"):
        return None
    inet_aton = _bsd_ipv4(host)
    if inet_aton is not None:
        return (
            "Java refuses an IPv4 address with a part in hex or octal (the C library would "
            f"read it as {inet_aton}); write the address in decimal"
        )
    if ":" in host:
        return "it is not a valid host name, nor an IPv6 address: Java refuses it without a look-up"
    return None


def is_ip_literal(host: str) -> bool:
    """Return True for a host Java reads as an IP address (see `java_ip_literal`)."""
    return java_ip_literal(host) is not None


def is_loopback(host: str) -> bool:
    """Return True for localhost names and loopback addresses: the platform itself."""
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    # As Java reads it: "127.1" is 127.0.0.1, and ::ffff:127.0.0.1 the IPv4 address it maps.
    literal = java_ip_literal(host)
    return literal is not None and ipaddress.ip_address(literal.partition("%")[0]).is_loopback
