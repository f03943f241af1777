"""How a probe stage fails: the `StageFailure` it ends with, and the tables that name the kind.

Replies are judged by stage and code (RFC 4954 §6 for AUTH), timeouts by the stage they cut
short, and socket and ssl errors by what they are. The SMTP client's own exceptions are mapped
onto these in `client.failure_of`, the one boundary where they are caught.
"""

from __future__ import annotations

import socket
import ssl

from smtpcheck.probe.certificate import VerifyFailure, verify_failure
from smtpcheck.results import FailureKind, ProbeFailure

__all__ = ["StageFailure", "clip", "network_failure", "reply_failure", "timeout_failure"]


class StageFailure(Exception):
    """Ends a probe: its `ProbeFailure`, already judged, and why a certificate was refused.

    It never leaves the probe: the result keeps ``failure`` as it is.
    """

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        *,
        reply_code: int | None = None,
        tls_error: str | None = None,
        verify: VerifyFailure | None = None,
    ) -> None:
        super().__init__(detail)
        self.failure = ProbeFailure(kind, detail, reply_code=reply_code, tls_error=tls_error)
        self.verify = verify  # set when the certificate was the only problem


_AUTH_REPLIES = {
    535: FailureKind.AUTH_FAILED,  # RFC 4954 §6: credentials invalid
    504: FailureKind.AUTH_MECHANISM,  # mechanism not supported
    530: FailureKind.AUTH_MECHANISM,  # encryption (STARTTLS) required first
    534: FailureKind.AUTH_MECHANISM,  # mechanism too weak
    538: FailureKind.AUTH_MECHANISM,  # encryption required for this mechanism
    454: FailureKind.AUTH_TEMPORARY,  # temporary failure
    432: FailureKind.AUTH_TEMPORARY,  # a password transition is needed
}
_REPLY_KINDS = {
    "greeting": FailureKind.GREETING_REJECTED,  # RFC 5321 §3.1: 554 instead of 220, or 421
    "starttls": FailureKind.STARTTLS_FAILED,  # RFC 3207 §4: 454, 501
    "mail": FailureKind.SENDER_REJECTED,
    "rcpt": FailureKind.MESSAGE_REJECTED,
    "data": FailureKind.MESSAGE_REJECTED,
}


def reply_failure(stage: str, code: int, message: str) -> StageFailure:
    """Judge a reply that refused what a stage asked."""
    text = f"{code} {message.partition(chr(10))[0]}".strip()
    if stage == "auth":
        default = FailureKind.AUTH_TEMPORARY if 400 <= code < 500 else FailureKind.AUTH_FAILED
        return StageFailure(_AUTH_REPLIES.get(code, default), f"AUTH: {text}", reply_code=code)
    kind = _REPLY_KINDS.get(stage, FailureKind.PROTOCOL)
    return StageFailure(kind, f"{stage.upper()}: {text}", reply_code=code)


def timeout_failure(stage: str, *, host: str, port: int, timeout: float) -> StageFailure:
    """Judge a stage that ran out of time."""
    within = f"within {timeout:g} s"
    if stage == "resolve":
        return StageFailure(FailureKind.DNS, f"no DNS answer for {host} {within}")
    if stage == "connect":
        detail = f"no answer from {host} port {port} {within}"
        return StageFailure(FailureKind.CONNECT_TIMEOUT, detail)
    if stage == "greeting":
        return StageFailure(FailureKind.NO_GREETING, f"connected, but no greeting {within}")
    if stage == "tls":
        return StageFailure(FailureKind.TLS_HANDSHAKE, f"the TLS handshake did not end {within}")
    return StageFailure(FailureKind.READ_TIMEOUT, f"no reply to {stage.upper()} {within}")


def network_failure(exc: OSError, stage: str, *, host: str, port: int) -> StageFailure:
    """Judge an ssl or socket error (timeouts go to `timeout_failure`).

    A certificate verification error is a subclass of SSLError, and SSLError of OSError, so they
    are tested in that order.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        verify = verify_failure(exc)
        detail = f"certificate not accepted: {verify.message}"
        return StageFailure(FailureKind.CERT_INVALID, detail, tls_error=exc.reason, verify=verify)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        detail = f"TLS handshake failed: {reason}"
        return StageFailure(FailureKind.TLS_HANDSHAKE, detail, tls_error=reason)
    if isinstance(exc, socket.gaierror):
        return StageFailure(FailureKind.DNS, f"cannot resolve {host}: {exc.strerror or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return StageFailure(FailureKind.CONNECT_REFUSED, f"{host} port {port} refused to connect")
    kinds = {"connect": FailureKind.CONNECT_ERROR, "tls": FailureKind.TLS_HANDSHAKE}
    reason = exc.strerror or str(exc) or type(exc).__name__
    return StageFailure(kinds.get(stage, FailureKind.PROTOCOL), f"{stage} failed: {reason}")


def clip(text: str, limit: int = 80) -> str:
    """Shorten a server's text for a message, with line ends shown."""
    text = text.strip().replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
