"""Find the combinations of port and TLS mode that work on a host, by probing them all.

Two rounds, both through the runner (per-host limit, identical probes shared). First every
candidate is probed at once without credentials: greeting, TLS, certificate, AUTH offered, and,
when there are no credentials, whether MAIL FROM is accepted. Then, when there are credentials,
the working candidates are logged in to, best first, each asking MAIL FROM after AUTH: one at a
time until one accepts them, and never again after one refuses them. A password is never sent
more than once per combination, never in plain text to another machine, and never over TLS whose
certificate did not verify (unless the gateway's own trust_all_hosts would do the same).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from smtpcheck.config.address import is_loopback
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.discovery.candidates import candidates, preference, rank
from smtpcheck.probe.network import shared_resolver
from smtpcheck.probe.session import ProbeOptions, probe_gateway
from smtpcheck.redaction import reveal
from smtpcheck.results import (
    Attempt,
    Discovery,
    Endpoint,
    FailureKind,
    ProbeFailure,
    ProbeResult,
    TlsMode,
)
from smtpcheck.runner import RunLimits, probe_all

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["DiscoverOptions", "Request", "discover"]

#: Probes a batch of targets through the runner, outcomes in the targets' order.
_Batch = Callable[[Sequence[SmtpSettings]], Awaitable[list[ProbeResult]]]


@dataclass(frozen=True, slots=True)
class DiscoverOptions:
    """How to discover: the probe's options, the run's limits, and the ports to try."""

    probe: ProbeOptions
    limits: RunLimits = field(default_factory=RunLimits)
    ports: tuple[int, ...] = ()  # each in every mode; empty: the usual combinations


@dataclass(frozen=True, slots=True)
class Request:
    """One host to discover, with what a gateway brings to it: its login, trust and timeouts.

    With both ``user`` and ``password``, logging in is part of "works".
    """

    host: str
    user: str | None = None
    password: SecretStr | None = None
    trust_all_hosts: bool = False
    connect_timeout_ms: int | None = None  # None: the probe's cap
    read_timeout_ms: int | None = None
    configured: int | None = None  # the port the gateway names, preferred when it works securely
    sender: str = ""  # MAIL FROM for the check that mail is taken ("": the null reverse-path)

    @classmethod
    def for_gateway(cls, settings: SmtpSettings) -> Request:
        """Return the request that searches a gateway's host the way the gateway connects."""
        login = settings.auth and settings.has_credentials
        return cls(
            host=settings.host or "",
            user=settings.user if login else None,
            password=settings.password if login else None,
            trust_all_hosts=settings.trust_all_hosts,
            connect_timeout_ms=settings.connect_timeout_ms,
            read_timeout_ms=settings.read_timeout_ms,
            configured=settings.port,
            sender=settings.from_address or "",
        )

    @property
    def logs_in(self) -> bool:
        """Return True when logging in is part of what must work."""
        return bool(self.user) and bool(reveal(self.password))

    def settings(self, candidate: Endpoint, *, scout: bool = False) -> SmtpSettings:
        """Return how to probe one candidate on this host; a scout sends no credentials.

        A scout also goes past a certificate that does not verify: nothing secret is sent, and
        the probe still reads what the server offers after TLS.
        """
        login = self.logs_in and not scout
        # The probe asks MAIL FROM of settings with a sender: the probe that decides "works".
        # A scout of a login does not: without AUTH the server may rightly refuse it.
        decides = login or not self.logs_in
        return SmtpSettings(
            endpoint=dataclasses.replace(candidate, host=self.host),
            auth=login,
            user=self.user if login else None,
            password=self.password if login else None,
            trust_all_hosts=self.trust_all_hosts or scout,
            connect_timeout_ms=self.connect_timeout_ms,
            read_timeout_ms=self.read_timeout_ms,
            from_address=self.sender if decides else None,
        )


async def discover(requests: Sequence[Request], options: DiscoverOptions) -> list[Discovery]:
    """Probe every candidate combination of every request; return one discovery per request."""
    # Discovery never sends a message, and nobody reads its transcripts.
    probe_options = dataclasses.replace(
        options.probe,
        send_to=None,
        transcript=False,
        mail_check=True,
        resolver=shared_resolver(options.probe.resolver),  # each name once, for every port
    )
    probe = functools.partial(probe_gateway, options=probe_options)

    async def run(targets: Sequence[SmtpSettings]) -> list[ProbeResult]:
        return await probe_all(
            targets,
            probe,
            limits=options.limits,
            resolve=probe_options.resolver,
            resolve_timeout=probe_options.timeout,
        )

    plans = [candidates(ports=options.ports, configured=r.configured) for r in requests]
    scouts = [
        r.settings(c, scout=True) for r, plan in zip(requests, plans, strict=True) for c in plan
    ]
    outcomes = iter(await run(scouts))
    found = [[Attempt(c, next(outcomes)) for c in plan] for plan in plans]
    logins = await _log_in(requests, found, run)
    return [
        _discovery(request, attempts, tried)
        for request, attempts, tried in zip(requests, found, logins, strict=True)
    ]


def _not_for_login(request: Request, attempt: Attempt) -> str | None:
    """Return why the credentials must not be tried on this combination, or None if they may."""
    if not attempt.probe.ok:
        return "not tried: the connection did not get that far"
    if attempt.candidate.mode is TlsMode.NONE and not is_loopback(request.host):
        return "not tried: the password would cross the network in plain text"
    if attempt.tls is not None and not attempt.verified and not request.trust_all_hosts:
        return "not tried: the certificate did not verify"
    if not attempt.probe.auth_mechanisms:
        return "the server offers no AUTH here"
    return None


async def _log_in(
    requests: Sequence[Request],
    found: Sequence[Sequence[Attempt]],
    run: _Batch,
) -> list[dict[int, ProbeResult | str]]:
    """Log in on each usable combination, best first, until one refuses the credentials.

    Until a combination accepts them, a request logs in on one combination per round; after
    that the credentials are known to be good, and the rest go in one round. All requests share
    each round, through the runner. Returns, per request, each attempt's login or why not.
    """
    queues: list[deque[int]] = []
    tried: list[dict[int, ProbeResult | str]] = []
    for request, attempts in zip(requests, found, strict=True):
        queue, reasons = _login_queue(request, attempts)
        queues.append(queue)
        tried.append(reasons)
    accepted = [False] * len(requests)
    while batch := [(r, i) for r, queue in enumerate(queues) for i in _next(queue, accepted[r])]:
        targets = [requests[r].settings(found[r][i].candidate) for r, i in batch]
        results = await run(targets)
        for (r, i), result in zip(batch, results, strict=True):
            tried[r][i] = result
            accepted[r] = accepted[r] or result.ok
            if result.failure_kind is FailureKind.AUTH_FAILED:
                # Servers lock an account out after a few refused logins (and log each one):
                # a refusal is never tried again elsewhere.
                where = found[r][i].candidate.describe()
                while queues[r]:
                    tried[r][queues[r].popleft()] = f"not tried: {where} refused them already"
    return tried


def _next(queue: deque[int], accepted: bool) -> list[int]:
    if not queue:
        return []
    if not accepted:
        return [queue.popleft()]
    taken = list(queue)
    queue.clear()
    return taken


def _login_queue(
    request: Request, attempts: Sequence[Attempt]
) -> tuple[deque[int], dict[int, ProbeResult | str]]:
    """Return the attempts to log in on, best first, and why each of the others is not."""
    reasons: dict[int, ProbeResult | str] = {}
    if not request.logs_in:
        return deque(), reasons
    usable: list[int] = []
    for i, attempt in enumerate(attempts):
        reason = _not_for_login(request, attempt)
        if reason is None:
            usable.append(i)
        else:
            reasons[i] = reason

    def best_first(i: int) -> tuple[object, ...]:
        return preference(attempts[i], configured=request.configured, index=i)

    return deque(sorted(usable, key=best_first, reverse=True)), reasons


def _discovery(
    request: Request, attempts: Sequence[Attempt], tried: dict[int, ProbeResult | str]
) -> Discovery:
    judged = []
    for i, attempt in enumerate(attempts):
        outcome = tried.get(i)
        if isinstance(outcome, ProbeResult):
            attempt = dataclasses.replace(attempt, login=outcome)
        elif outcome is not None:
            attempt = dataclasses.replace(attempt, note=outcome)
        problem = _problem(request, attempt)
        judged.append(dataclasses.replace(attempt, works=problem is None, problem=problem or ""))
    return Discovery(
        host=request.host,
        attempts=rank(judged, configured=request.configured),
        credentials=request.logs_in,
    )


def _problem(request: Request, attempt: Attempt) -> str | None:
    """Return why a combination does not work as the request needs it, or None when it does."""
    if attempt.probe.failure is not None:
        return _failure_text(attempt.probe.failure)
    if attempt.candidate.mode is TlsMode.NONE and attempt.offers_starttls:
        # Never give up TLS where the port offers it (RFC 8314 §3): plain text "working" here
        # is a downgrade, whatever the STARTTLS row says about the certificate.
        return "the port offers STARTTLS: plain text is not an option here"
    tls = attempt.tls
    if tls is not None and not tls.verified and not request.trust_all_hosts:
        return f"certificate not verified: {tls.verify_error or 'unknown reason'}"
    if not request.logs_in:
        return None
    if attempt.login is None:
        return f"AUTH {attempt.note}" if attempt.note.startswith("not tried") else attempt.note
    return None if attempt.login.failure is None else _failure_text(attempt.login.failure)


def _failure_text(failure: ProbeFailure) -> str:
    if failure.kind is FailureKind.INTERNAL:
        # A bug while probing: this combination is reported as not working, the others go on.
        return f"internal error (a bug; please report it): {failure.detail}"
    return failure.detail or str(failure.kind)
