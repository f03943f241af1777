"""What the panel API answered, or why it did not: one-line `PlatformError`s named for people.

A reply is judged by its HTTP status and the panel's ``status.code`` (never its description,
which the docs say changes); a transport error by what lies under it (timeout, TLS, DNS,
refused). Every server-sent text is scrubbed of the session's secrets before it is quoted.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from smtpcheck.config.loading import json_int
from smtpcheck.config.params import is_secret_param
from smtpcheck.errors import PlatformError
from smtpcheck.redaction import scrub

__all__ = ["decode", "panel_error", "quoted", "retry_after_seconds", "transport_failure"]

_NOT_A_PANEL = "; is --api-url a panel API base such as https://api.eu.navixy.com/v2?"
# Transient by their documented meaning: database error, unexpected error, "queue service error,
# try again later", database unavailable, too many requests.
_TRANSIENT_CODES = frozenset({1, 6, 8, 14, 15})
_SIGN_IN_AGAIN = "log in again (a panel session lasts 24 hours)"
_MESSAGES = {
    2: "the panel refused the service credentials (code 2)",
    3: "the panel rejected the session hash (code 3): check --hash or NAVIXY_HASH",
    4: f"session hash invalid or expired (code 4): {_SIGN_IN_AGAIN}",
    11: "login refused (code 11): access denied, the dealer account is blocked",
    12: "login refused (code 12): no such dealer, or a wrong password; check --login and "
    "NAVIXY_PASSWORD",
    13: "the panel account lacks the permission email_gateways: read (code 13)",
    15: "rate limited by the panel API (code 15)",
    101: "the panel is in demo mode, which disables this function (code 101)",
    102: "login refused (code 102): wrong login or password",
    111: "the API does not know {action} (code 111)" + _NOT_A_PANEL,
    112: "the API does not know {action} (code 112)" + _NOT_A_PANEL,
}

_E = TypeVar("_E", bound=BaseException)


def retry_after_seconds(value: str, *, now: datetime) -> float | None:
    """Return the wait a ``Retry-After`` header asks for (delay-seconds or an HTTP date).

    None when the header is malformed; a date in the past means no wait.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():  # RFC 9110 §10.2.3: delay-seconds is ASCII DIGITs
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, but parsed as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def panel_error(
    action: str,
    url: str,
    message: str,
    secrets: Collection[str],
    *,
    retryable: bool,
    retry_after: float | None = None,
    status_code: int | None = None,
    http_status: int | None = None,
) -> PlatformError:
    """Return the error of one failed try, its text named by the action and scrubbed."""
    return PlatformError(
        scrub(f"{action}: {message}", secrets),
        url=url,
        status_code=status_code,
        http_status=http_status,
        retryable=retryable,
        retry_after=retry_after,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield the exception, then its causes and contexts, each once (chains can loop)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """Return the first exception of ``kind`` in the chain of causes and contexts."""
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _innermost_os_error(exc: BaseException) -> OSError | None:
    errors = [e for e in _chain(exc) if isinstance(e, OSError)]
    return errors[-1] if errors else None


def transport_failure(
    exc: httpx.HTTPError, action: str, url: str, secrets: Collection[str]
) -> PlatformError:
    """Name what went wrong below HTTP; connection trouble and timeouts are worth a retry."""
    message, retryable = _transport_problem(exc, url)
    return panel_error(action, url, message, secrets, retryable=retryable)


def _transport_problem(exc: httpx.HTTPError, url: str) -> tuple[str, bool]:
    parts = httpx.URL(url)
    host, where = parts.host, parts.netloc.decode("ascii")
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting to",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting to connect to",
        }.get(type(exc), "waiting for the answer of")
        return f"timed out {phase} {where}", True
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        return _tls_message(host, tls), False  # retrying cannot fix a certificate
    dns = _cause(exc, socket.gaierror)
    if dns is not None:
        # Only EAI_AGAIN ("temporary failure in name resolution") can go away by itself.
        return f"cannot resolve {host}: {dns.strerror}", dns.errno == socket.EAI_AGAIN
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} closed the connection without a proper answer", True
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
        return f"cannot send the request to {where} ({type(exc).__name__})", False
    if isinstance(exc, httpx.TransportError):
        os_error = _innermost_os_error(exc)
        detail = os.strerror(os_error.errno).lower() if os_error and os_error.errno else "failed"
        return f"cannot connect to {where}: {detail}", True
    return f"the request to {where} failed ({type(exc).__name__})", False


def _tls_message(host: str, error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        # verify_message is set by the ssl module; an error built elsewhere may lack it.
        detail = getattr(error, "verify_message", None) or "certificate verify failed"
        return (
            f"TLS certificate of {host} is not trusted ({detail}); for a panel "
            "with a private CA, set SSL_CERT_FILE to its CA bundle"
        )
    reason = getattr(error, "reason", None) or type(error).__name__
    hint = ""
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"):
        hint = "; does this port speak plain HTTP? then the URL starts with http://"
    return f"TLS handshake with {host} failed ({reason}){hint}"


def decode(
    response: httpx.Response,
    content: bytes | bytearray,
    action: str,
    secrets: Collection[str],
) -> dict[str, Any]:
    """Return a successful answer's data; raise `PlatformError` named by the panel's status code.

    ``content`` is the answer's body, decoded (it was read apart from the response: streamed).

    Raises:
        PlatformError: the answer is not a successful one; ``retryable`` says if a retry helps.
    """
    http = response.status_code
    url = str(response.request.url)
    transient = http >= 500 or http == 429
    header = response.headers.get("Retry-After")
    wait = retry_after_seconds(header, now=datetime.now(UTC)) if header else None
    try:
        data = json.loads(content, parse_int=json_int)
    except (ValueError, RecursionError):  # also UnicodeDecodeError; nesting past the stack
        data = None
    if not isinstance(data, dict):
        raise panel_error(
            action,
            url,
            _not_json(response, content, data),
            secrets,
            retryable=transient,
            retry_after=wait,
            http_status=http,
        )
    if data.get("success") is True and response.is_success:
        # A hash pasted into a label (or any text) must not reach a report; the SMTP passwords
        # themselves stay as sent: the probe logs in with them, and masks them on output.
        return _masked(data, secrets)
    status = data.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        if http == 429:
            message = "rate limited by the panel API (HTTP 429)"
        else:
            message = f"HTTP {http}, and the answer carries no panel status code{_NOT_A_PANEL}"
        raise panel_error(
            action, url, message, secrets, retryable=transient, retry_after=wait, http_status=http
        )
    assert isinstance(status, dict)
    raise panel_error(
        action,
        url,
        _describe(code, status, data, action, secrets),
        secrets,
        retryable=transient or code in _TRANSIENT_CODES,
        retry_after=wait,
        status_code=code,
        http_status=http,
    )


def _masked(data: dict[str, Any], secrets: Collection[str]) -> dict[str, Any]:
    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and not is_secret_param(key):
            return scrub(value, secrets)
        return value

    result: dict[str, Any] = walk(data)
    return result


def _not_json(response: httpx.Response, content: bytes | bytearray, data: object) -> str:
    http = response.status_code
    if http == 429:
        return "rate limited by the panel API (HTTP 429)"
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type or content.lstrip()[:1] == b"<":
        what = "an HTML page"
    elif not content.strip():
        what = "an empty body"
    elif data is not None:
        what = "JSON that is not an object"
    else:
        what = "a body that is not JSON"
    hint = "" if http >= 500 else _NOT_A_PANEL
    return f"HTTP {http} with {what} instead of a panel API answer{hint}"


def _describe(
    code: int, status: dict[str, Any], data: dict[str, Any], action: str, secrets: Collection[str]
) -> str:
    # Keyed by the code alone: the docs warn that descriptions change.
    if code == 7:
        problems = [
            f"{item.get('parameter')}: {item.get('error')}"
            for item in data.get("errors") or ()
            if isinstance(item, dict)
        ]
        detail = f": {quoted('; '.join(problems), secrets)}" if problems else ""
        return f"the panel rejected the request parameters (code 7){detail}"
    if code in _MESSAGES:
        return _MESSAGES[code].format(action=action)
    description = status.get("description")
    said = (
        f" ({quoted(description, secrets)})" if isinstance(description, str) and description else ""
    )
    return f"the panel refused the request with code {code}{said}"


def quoted(text: str, secrets: Collection[str], limit: int = 200) -> str:
    """Return server-sent text fit for a one-line message: scrubbed, printable, bounded."""
    # Scrubbed first: flattening could change a secret with spaces in it, and cutting could
    # leave a prefix of one that no longer matches.
    text = scrub(text, secrets)
    # A newline would break the one-line contract, an escape sequence would reach the terminal.
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
