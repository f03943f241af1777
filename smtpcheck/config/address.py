"""Syntax and length checks of a sender address by RFC 5321 §4.1.2 and §4.5.3.1 — no DNS.

`validate` never touches the network, so there are no MX lookups, and special-use names
(``localhost``, ``.test``, ``.local``) are as good as any: CI configs use them.
"""

from __future__ import annotations

import functools
import ipaddress
import re

__all__ = ["OBFUSCATED_EMAIL", "address_problem", "host_problem", "is_ip_literal", "is_loopback"]

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
    if not _domain(host, _HOST_LABEL) or len(host) > 253:
        return "it is not a valid host name"
    if host.removesuffix(".").rpartition(".")[2].isdigit():
        # Top-level domains are never all-numeric (RFC 3696 §2), so this is a mistyped IPv4
        # address such as 192.168.1.300, which the resolver would look up as a name.
        return "it is neither an IPv4 address nor a host name (no top-level domain is all digits)"
    return None


def is_ip_literal(host: str) -> bool:
    """Return True for an IPv4 or IPv6 address, with or without IPv6 brackets."""
    if not host or not (host[0].isdigit() or host[0] == "[" or ":" in host):
        return False  # the common case, a host name, without ipaddress's exception path
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        return False
    # Brackets belong around IPv6 only (RFC 3986 §3.2.2); Java's resolver rejects "[192.0.2.1]".
    return not bracketed or address.version == 6


def is_loopback(host: str) -> bool:
    """Return True for localhost names and loopback addresses: the platform itself."""
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if not is_ip_literal(name):
        return False
    address = ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    # Java connects to ::ffff:127.0.0.1 as the IPv4 address it maps, so it is loopback too.
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
