"""Turn the best working combination of a failed gateway into the smallest params patch.

A suggestion is made only from a combination verified end to end just now (greeting, TLS with a
certificate that verifies, AUTH when the gateway logs in), and it changes only the connection
keys whose value JavaMail would read differently.
"""

from __future__ import annotations

from collections.abc import Sequence

from smtpcheck.config.address import is_loopback
from smtpcheck.config.javamail import SmtpSettings, connection_params, java_bool, java_int
from smtpcheck.config.models import SmtpParams
from smtpcheck.config.params import INT_PARAMS
from smtpcheck.discovery.search import DiscoverOptions, Request, discover
from smtpcheck.results import Attempt, Discovery, Endpoint, Suggestion, TlsMode

__all__ = ["patch_for", "suggest_fixes", "suggestion_from"]


async def suggest_fixes(
    gateways: Sequence[tuple[SmtpParams, SmtpSettings]], options: DiscoverOptions
) -> list[Suggestion | Exception | None]:
    """Discover each gateway's host and return a suggestion per gateway, or None.

    A gateway that is to log in but has no credentials gets None at once: AUTH cannot be
    verified. A bug while building one suggestion is returned in its place.
    """
    wanted = [
        i for i, (_, s) in enumerate(gateways) if s.host and (not s.auth or s.has_credentials)
    ]
    requests = [Request.for_gateway(gateways[i][1]) for i in wanted]
    found = dict(zip(wanted, await discover(requests, options), strict=True))
    results: list[Suggestion | Exception | None] = []
    for i, (params, settings) in enumerate(gateways):
        discovery = found.get(i)
        try:
            results.append(
                None if discovery is None else suggestion_from(params, settings, discovery)
            )
        except Exception as exc:  # the per-gateway guard: one bug never stops the others
            results.append(exc)
    return results


def suggestion_from(
    params: SmtpParams, settings: SmtpSettings, discovery: Discovery
) -> Suggestion | None:
    """Return the patch to the best working combination, or None when nothing works or changes."""
    best = discovery.best
    if best is None:
        return None
    if best.candidate.mode is TlsMode.NONE and settings.auth and not is_loopback(discovery.host):
        return None  # never AUTH in plain text to another machine; discover does not log in so
    patch, previous = patch_for(params, best.candidate)
    if not patch:
        return None  # the config already says this; what failed is not the connection
    return Suggestion(params=patch, why=_why(discovery.host, best), previous=previous)


def patch_for(
    params: SmtpParams, candidate: Endpoint
) -> tuple[dict[str, object], dict[str, object]]:
    """Return the keys to change for a combination, and the values they had where written."""
    patch: dict[str, object] = {}
    previous: dict[str, object] = {}
    for key, value in connection_params(candidate).items():
        written = params.given(key)
        if (
            key == "mail.smtp.ssl.port"
            and candidate.mode is not TlsMode.IMPLICIT
            and written is None
        ):
            continue  # read only under use_ssl: nothing to keep equal to the port
        if _reads_as(key, written) == value:
            continue  # a string "true" stays: SC004 says so, and JavaMail reads it right
        patch[key] = value
        if written is not None:
            previous[key] = written
    return patch, previous


def _reads_as(key: str, written: object) -> object:
    """Return the value JavaMail reads for a written param (None: a port it defaults)."""
    if key in INT_PARAMS:
        # A missing port is JavaMail's default, which depends on use_ssl: always write one.
        if isinstance(written, bool) or not isinstance(written, int | str):
            return None
        return java_int(written)
    return java_bool(written) if isinstance(written, bool | str) else False


def _why(host: str, best: Attempt) -> str:
    verified = [f"{best.candidate.describe()} works on {host}, verified just now: greeting"]
    tls = best.tls
    if tls is None:
        verified.append("no TLS")
    else:
        state = "verified" if tls.verified else "NOT verified, accepted by trust_all_hosts"
        verified.append(f"{tls.version} with the certificate {state}")
    if best.logged_in:
        verified.append(f"AUTH {best.login_detail}")
    return ", ".join(verified)
