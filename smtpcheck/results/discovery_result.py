"""What discovery found on a host: each combination tried, what it showed, and the verdict.

Plain frozen dataclasses, no I/O: `smtpcheck.discovery` builds them, the discovery reporter and
`--suggest` read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpcheck.results.probe_result import Endpoint, FailureKind, ProbeResult, TlsInfo

__all__ = ["Attempt", "Discovery"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one combination showed: a probe without credentials, then maybe one with them."""

    candidate: Endpoint  # the port and mode tried (its host is the discovery's)
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
    def offers_starttls(self) -> bool:
        """Return True when the server listed STARTTLS in its EHLO reply before TLS."""
        return self.probe.offers("STARTTLS", before_tls=True)

    @property
    def untrusted(self) -> bool:
        """Return True when the connection got through but its certificate did not verify."""
        return self.probe.ok and self.tls is not None and not self.tls.verified

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
        if self.login.failure is not None:
            return self.login.failure.detail
        steps = [s.detail for s in self.login.steps if s.name == "auth" and s.ok]
        return steps[0] if steps else "accepted"


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
            unresolved = [
                a.probe.failure
                for a in self.attempts
                if a.probe.failure is not None and a.probe.failure.kind is FailureKind.DNS
            ]
            if unresolved:
                return f"nothing works: {unresolved[0].detail}"
            ports = [str(p) for p in dict.fromkeys(a.candidate.port for a in self.attempts)]
            where = f"port {ports[0]}" if len(ports) == 1 else f"ports {', '.join(ports)}"
            return f"nothing works: nothing is listening on {where} (refused or no answer)"
        untrusted = next((a for a in self.attempts if a.untrusted), None)
        if untrusted is not None and untrusted.tls is not None:
            # The usual cause with a private CA: say what would work, not only what did not.
            reason = untrusted.tls.verify_error or "unknown reason"
            return (
                f"nothing works as it is: {untrusted.candidate.describe()} gets through, but "
                f"its certificate is not trusted here ({reason}); pass its CA with --ca-file, "
                "or give the server a certificate from a public CA"
            )
        return f"nothing works: none of the {tried} combinations got through"
