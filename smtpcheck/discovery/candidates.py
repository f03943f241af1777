"""The port × mode combinations discovery tries, and how the working ones rank.

Pure data and ordering, no I/O: `search` runs the probes, `suggest` turns the best combination
into a params patch. A combination is an `Endpoint` without a host (the host is the one being
discovered); what each showed is an `Attempt` (`smtpcheck.results`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from smtpcheck.results import Attempt, Endpoint, TlsMode

__all__ = ["DEFAULT_CANDIDATES", "candidate", "candidates", "preference", "rank", "tier"]


def candidate(port: int, mode: TlsMode) -> Endpoint:
    """Return the combination of a port and a mode; discovery always probes STARTTLS required."""
    return Endpoint(None, port, mode, starttls_required=mode is TlsMode.STARTTLS)


#: What is tried without ``--try-port``: submission over TLS (RFC 8314), submission with STARTTLS
#: (RFC 6409), the relay port, and 2525, the common stand-in where a provider blocks 25.
DEFAULT_CANDIDATES: tuple[Endpoint, ...] = (
    candidate(465, TlsMode.IMPLICIT),
    candidate(587, TlsMode.STARTTLS),
    candidate(25, TlsMode.STARTTLS),
    candidate(25, TlsMode.NONE),
    candidate(2525, TlsMode.STARTTLS),
    candidate(2525, TlsMode.NONE),
)

_EVERY_MODE = (TlsMode.IMPLICIT, TlsMode.STARTTLS, TlsMode.NONE)


def candidates(*, ports: Sequence[int] = (), configured: int | None = None) -> tuple[Endpoint, ...]:
    """Return the combinations to try, in order.

    Given ``ports``, each of them in every mode, and nothing else. Otherwise the usual
    combinations plus the configured port in every mode: the most likely fix of a broken gateway
    is the right mode on the port it already names.
    """
    if ports:
        return tuple(candidate(p, m) for p in dict.fromkeys(ports) for m in _EVERY_MODE)
    found = list(DEFAULT_CANDIDATES)
    if configured is not None:
        found += [candidate(configured, m) for m in _EVERY_MODE]
    return tuple(dict.fromkeys(found))


def tier(endpoint: Endpoint) -> int:
    """Return how safe a way of connecting is: 3 TLS for sure, 2 opportunistic STARTTLS, 1 plain."""
    if endpoint.mode is TlsMode.NONE:
        return 1
    # Without `required` a missing STARTTLS means plain text: an attacker on the path can strip
    # it from the EHLO reply (RFC 3207 §6). Implicit TLS (RFC 8314) has no such step.
    if endpoint.mode is TlsMode.STARTTLS and not endpoint.starttls_required:
        return 2
    return 3


def preference(attempt: Attempt, *, configured: int | None, index: int) -> tuple[object, ...]:
    """Return the sort key of a working combination: the larger, the better.

    In order: a verified certificate; then the mode (implicit TLS and required STARTTLS above
    opportunistic STARTTLS above plain); then the configured port, so a gateway that only needs
    the right mode keeps its port; then implicit TLS over STARTTLS (RFC 8314 §3); then the order
    tried.
    """
    tried = attempt.candidate
    return (
        attempt.verified,
        tier(tried),
        tried.port == configured,
        tried.mode is TlsMode.IMPLICIT,
        -index,
    )


def rank(attempts: Iterable[Attempt], *, configured: int | None = None) -> tuple[Attempt, ...]:
    """Return the working combinations best first, then the others in the order tried."""
    tried = list(attempts)
    working = sorted(
        (i for i, attempt in enumerate(tried) if attempt.works),
        key=lambda i: preference(tried[i], configured=configured, index=i),
        reverse=True,
    )
    return tuple(tried[i] for i in working) + tuple(a for a in tried if not a.works)
