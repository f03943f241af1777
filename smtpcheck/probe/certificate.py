"""Describe a TLS session and its server certificate, also when it did not verify.

The ssl module decodes only certificates it has verified. Those are read from its own decoding;
any other leaf is parsed from DER with cryptography (imported only then, it is the heaviest
import of a check), so its subject, expiry and names are known also when verification failed
or was switched off.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smtpcheck.results import CertInfo, TlsInfo

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["VerifyFailure", "cert_info", "name_matches", "tls_info", "verify_failure"]

_DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class VerifyFailure:
    """Why a certificate did not verify: OpenSSL's X509_V_ERR code and its message."""

    code: int | None
    message: str


def verify_failure(exc: ssl.SSLCertVerificationError) -> VerifyFailure:
    """Take the code and message of a verification error."""
    code = getattr(exc, "verify_code", None)
    message = getattr(exc, "verify_message", None) or exc.reason or str(exc)
    return VerifyFailure(code if isinstance(code, int) else None, str(message))


def tls_info(
    ssl_object: ssl.SSLObject,
    *,
    host: str,
    verified: bool,
    failure: VerifyFailure | None = None,
    now: datetime | None = None,
) -> TlsInfo:
    """Describe the session of an SSL object whose handshake completed."""
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    parsed = None
    if der and verified and ssl_object.context.check_hostname:
        parsed = _known(der, ssl_object)
    if der and parsed is None:
        parsed = _parsed(der, host)
    return TlsInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        verified=verified,
        verify_error=None if failure is None else failure.message,
        verify_code=None if failure is None else failure.code,
        cert=None if parsed is None else _with_days_left(parsed[0], now=now),
        name_matches=None if parsed is None else parsed[1],
    )


# OpenSSL's long names of the attributes RFC 4514 §3 gives a short name to, as the ssl module
# decodes a name. A name with any other attribute is left to cryptography, and so is a value
# that RFC 4514 §2.4 would escape: both spell the name the same way, or not at all.
_SHORT_NAMES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}
_ESCAPED = frozenset('\\"+,;<>\0')


# Certificates the ssl module decoded, by their DER: a fleet meets the same few over and over.
_DECODED: dict[bytes, tuple[CertInfo, bool] | None] = {}
_DECODED_MAX = 256


def _known(der: bytes, ssl_object: ssl.SSLObject) -> tuple[CertInfo, bool] | None:
    if der not in _DECODED:
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[der] = _decoded(ssl_object.getpeercert())
    return _DECODED[der]


def _decoded(peercert: Mapping[str, Any] | None) -> tuple[CertInfo, bool] | None:
    """Summarise a certificate the ssl module decoded (it verified it, host name included)."""
    if not peercert:
        return None
    subject, issuer = _name(peercert.get("subject")), _name(peercert.get("issuer"))
    not_after = peercert.get("notAfter")
    if subject is None or issuer is None or not isinstance(not_after, str):
        return None
    try:
        expiry = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    except (ValueError, OverflowError, OSError):  # a date the C library cannot place
        return None  # left to cryptography
    alt_names: tuple[tuple[str, str], ...] = peercert.get("subjectAltName", ())
    names = [value for kind, value in alt_names if kind == "DNS"]
    names += [str(ipaddress.ip_address(v.strip())) for k, v in alt_names if k == "IP Address"]
    info = CertInfo(
        subject=subject,
        issuer=issuer,
        san=tuple(names),
        not_after=_utc_text(expiry),
        days_left=0,  # set by the caller, as for a parsed one
    )
    return info, True  # the verifying context checked the name against the host


def _name(rdns: object) -> str | None:
    """Spell a decoded name as RFC 4514 does (last RDN first), or None to leave it to DER."""
    if not isinstance(rdns, tuple) or not rdns:
        return None
    parts = []
    for rdn in reversed(rdns):
        if len(rdn) != 1:  # a multi-valued RDN: its order is cryptography's to decide
            return None
        ((long_name, value),) = rdn
        short = _SHORT_NAMES.get(long_name)
        plain = isinstance(value, str) and value and value.strip() == value
        if short is None or not plain or value[0] == "#" or _ESCAPED & set(value):
            return None
        parts.append(f"{short}={value}")
    return ",".join(parts)


@functools.lru_cache(maxsize=256)
def _parsed(der: bytes, host: str) -> tuple[CertInfo, bool] | None:
    # A fleet meets the same few certificates over and over (a shared relay serves hundreds of
    # gateways): parse each once per host. days_left is computed fresh by the caller.
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        info = cert_info(cert)  # a date that is no calendar date (year 0) raises ValueError
    except ValueError:  # a certificate cryptography cannot read: the session is still described
        return None
    return info, name_matches(cert, host)


def _with_days_left(info: CertInfo, *, now: datetime | None) -> CertInfo:
    # fromisoformat, not strptime: this runs once per probe, and strptime is slow.
    not_after = datetime.fromisoformat(info.not_after.replace("Z", "+00:00"))
    return dataclasses.replace(info, days_left=_days_left(not_after, now))


def cert_info(cert: x509.Certificate, *, now: datetime | None = None) -> CertInfo:
    """Summarise a certificate: who it is for, who issued it, and how long it has left."""
    not_after = cert.not_valid_after_utc
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        san=tuple(_san_names(cert)),
        not_after=_utc_text(not_after),
        days_left=_days_left(not_after, now),
    )


def _utc_text(moment: datetime) -> str:
    # isoformat, not strftime: "%Y" writes the year 950 as "950", which no parser reads back;
    # isoformat always writes four digits (datetime holds the years 1 to 9999).
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _days_left(not_after: datetime, now: datetime | None) -> int:
    seconds_left = (not_after - (now or datetime.now(UTC))).total_seconds()
    # Rounded down: an hour past expiry is day -1, an hour before it day 0.
    return math.floor(seconds_left / _DAY_SECONDS)


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _san_names(cert: x509.Certificate) -> list[str]:
    from cryptography import x509

    san = _san(cert)
    if san is None:
        return []
    names: list[str] = list(san.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return names


def name_matches(cert: x509.Certificate, host: str) -> bool:
    """Return True when the certificate is valid for ``host`` (RFC 6125 as OpenSSL applies it).

    An IP address must be an IP entry of the subjectAltName. A name matches a DNS entry exactly
    or through a wildcard that is the whole left-most label; the common name counts only when
    the certificate has no DNS entries (RFC 6125 §6.4.4).
    """
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    san = _san(cert)
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        return san is not None and address in san.get_values_for_type(x509.IPAddress)
    dns_names = [] if san is None else san.get_values_for_type(x509.DNSName)
    if not dns_names:
        dns_names = [
            str(attribute.value)
            for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    wanted = host.lower().rstrip(".")
    return any(_dns_match(pattern.lower().rstrip("."), wanted) for pattern in dns_names)


def _dns_match(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    # The wildcard stands for exactly one label, never for the registered domain itself.
    head, dot, rest = host.partition(".")
    return bool(head and dot and rest == pattern[2:] and "." in rest)
