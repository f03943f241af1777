"""The port × mode combinations discovery tries, what each one showed, and how they rank.

Pure data and ordering, no I/O: `discover` runs the probes, `suggest` turns the best combination
into a params patch, and the discovery reporter renders it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smtpcheck.results import FailureKind, ProbeResult, TlsInfo, TlsMode

__all__ = [
    "DEFAULT_CANDIDATES",
    "Attempt",
    "Candidate",
    "Discovery",
    "candidates",
    "preference",
    "rank",
]

_MODE_TEXT = {
    TlsMode.IMPLICIT: "implicit TLS",
    TlsMode.STARTTLS: "STARTTLS",
    TlsMode.NONE: "plain SMTP",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One way to connect: a port and a TLS mode (STARTTLS required, or only opportunistic)."""

    port: int
    mode: TlsMode
    starttls_required: bool = True  # STARTTLS only; discovery always probes it required

    @property
    def tier(self) -> int:
        """Return how safe the mode is: 3 TLS for sure, 2 opportunistic STARTTLS, 1 plain."""
        if self.mode is TlsMode.NONE:
            return 1
        # Without `required` a missing STARTTLS means plain text: an attacker on the path can strip
        # it from the EHLO reply (RFC 3207 §6). Implicit TLS (RFC 8314) has no such step.
        if self.mode is TlsMode.STARTTLS and not self.starttls_required:
            return 2
        return 3

    def describe(self) -> str:
        """Return ``port 465 with implicit TLS`` and the like."""
        return f"port {self.port} with {_MODE_TEXT[self.mode]}"

    def params(self) -> dict[str, object]:
        """Return the connection params that make JavaMail connect exactly this way."""
        starttls = self.mode is TlsMode.STARTTLS
        return {
            "mail.smtp.port": self.port,
            # JavaMail reads ssl.port under use_ssl; the panel's UI always writes it equal to port.
            "mail.smtp.ssl.port": self.port,
            "mail.smtp.use_ssl": self.mode is TlsMode.IMPLICIT,
            "mail.smtp.starttls.enable": starttls,
            "mail.smtp.starttls.required": starttls and self.starttls_required,
        }


#: What is tried without ``--try-port``: submission over TLS (RFC 8314), submission with STARTTLS
#: (RFC 6409), the relay port, and 2525, the common stand-in where a provider blocks 25.
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate(465, TlsMode.IMPLICIT),
    Candidate(587, TlsMode.STARTTLS),
    Candidate(25, TlsMode.STARTTLS),
    Candidate(25, TlsMode.NONE),
    Candidate(2525, TlsMode.STARTTLS),
    Candidate(2525, TlsMode.NONE),
)

_EVERY_MODE = (TlsMode.IMPLICIT, TlsMode.STARTTLS, TlsMode.NONE)


def candidates(
    *, ports: Sequence[int] = (), configured: int | None = None
) -> tuple[Candidate, ...]:
    """Return the combinations to try, in order.

    Given ``ports``, each of them in every mode, and nothing else. Otherwise the usual
    combinations plus the configured port in every mode: the most likely fix of a broken gateway
    is the right mode on the port it already names.
    """
    if ports:
        return tuple(Candidate(p, m) for p in dict.fromkeys(ports) for m in _EVERY_MODE)
    found = list(DEFAULT_CANDIDATES)
    if configured is not None:
        found += [Candidate(configured, m) for m in _EVERY_MODE]
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one combination showed: a probe without credentials, then maybe one with them."""

    candidate: Candidate
    probe: ProbeResult  # greeting, TLS, certificate, AUTH offered; no credentials sent
    login: ProbeResult | None = None  # the same connection logging in, when it was tried
    works: bool = False  # everything asked for was verified end to end
    problem: str = ""  # why it does not work, one line
    note: str = ""  # why the credentials were not tried here

    @property
    def reachable(self) -> bool:
        """Return True when a TCP connection was made."""
        return any(step.name == "connect" and step.ok for step in self.probe.steps)

    @property
    def greeting(self) -> str | None:
        """Return the server's greeting (code and first line), if it greeted."""
        for step in self.probe.steps:
            if step.name == "greeting" and step.ok:
                return step.detail
        return None

    @property
    def tls(self) -> TlsInfo | None:
        """Return the TLS session seen (by the login when there was one)."""
        if self.login is not None and self.login.tls is not None:
            return self.login.tls
        return self.probe.tls

    @property
    def verified(self) -> bool:
        """Return True when the session was TLS and its certificate verified."""
        return self.tls is not None and self.tls.verified

    @property
    def logged_in(self) -> bool | None:
        """Return whether the credentials were accepted; None when they were not tried."""
        return None if self.login is None else self.login.ok

    @property
    def login_detail(self) -> str:
        """Return what came of the credentials: the accepting mechanism, the refusal, or why not."""
        if self.login is None:
            return self.note
        if self.login.ok:
            steps = [s.detail for s in self.login.steps if s.name == "auth" and s.ok]
            return steps[0] if steps else "accepted"
        return self.login.failure_detail


def preference(attempt: Attempt, *, configured: int | None, index: int) -> tuple[object, ...]:
    """Return the sort key of a working combination: the larger, the better.

    In order: a verified certificate; then the mode (implicit TLS and required STARTTLS above
    opportunistic STARTTLS above plain); then the configured port, so a gateway that only needs
    the right mode keeps its port; then implicit TLS over STARTTLS (RFC 8314 §3); then the order
    tried.
    """
    candidate = attempt.candidate
    return (
        attempt.verified,
        candidate.tier,
        candidate.port == configured,
        candidate.mode is TlsMode.IMPLICIT,
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


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every combination tried on one host, best first."""

    host: str
    attempts: tuple[Attempt, ...]
    credentials: bool  # a login was part of "works"

    @property
    def best(self) -> Attempt | None:
        """Return the best working combination, if any works."""
        return self.attempts[0] if self.attempts and self.attempts[0].works else None

    def verdict(self) -> str:
        """Return one line: how many combinations work, or why none does."""
        working = sum(a.works for a in self.attempts)
        tried = len(self.attempts)
        if working:
            return f"{working} of {tried} combinations work"
        if not any(a.reachable for a in self.attempts):
            unresolved = [a for a in self.attempts if a.probe.failure is FailureKind.DNS]
            if unresolved:
                return f"nothing works: {unresolved[0].probe.failure_detail}"
            ports = [str(p) for p in dict.fromkeys(a.candidate.port for a in self.attempts)]
            where = f"port {ports[0]}" if len(ports) == 1 else f"ports {', '.join(ports)}"
            return f"nothing works: nothing is listening on {where} (refused or no answer)"
        return f"nothing works: none of the {tried} combinations got through"
