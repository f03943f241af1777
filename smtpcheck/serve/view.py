"""What `smtpcheck serve` knows at a moment: the latest verdict on each gateway and its history.

Plain frozen data, read by the endpoints (metrics, status page, report) and built by the
scheduler; nothing here does I/O, so each endpoint renders a snapshot it cannot disturb.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpcheck.results import Finding, GatewayReport, Report

__all__ = ["Change", "CycleStats", "FleetView", "GatewayState"]


@dataclass(frozen=True, slots=True)
class Change:
    """One state change of a gateway: from ok to failed, or back (times: Unix seconds)."""

    key: str  # the gateway's key (its id; a repeated id gets "#2", as in every format)
    at: float
    status: str  # the new status: ok, warning, failed, skipped, error
    previous: str | None  # None: the first verdict ever recorded
    code: str | None = None  # the first finding's code, when the new status has one
    message: str | None = None  # and its message (secrets already masked by the pipeline)


@dataclass(frozen=True, slots=True)
class GatewayState:
    """The latest verdict on one gateway and how long it has held."""

    key: str
    report: GatewayReport
    checked_at: float  # when the check that gave ``report`` ended (Unix seconds)
    duration_s: float  # how long that check took
    consecutive_failures: int  # checks in a row whose status was failed or error
    failing_since: float | None  # when the current run of failures began; None when not failing
    last_change: float | None  # when the status last changed (None: never seen to change)


@dataclass(frozen=True, slots=True)
class CycleStats:
    """The last complete cycle: every gateway checked once."""

    number: int  # 1 for the first cycle
    started: float
    finished: float
    lag_s: float  # how far the cycle ended past its interval (0 when on time)

    @property
    def duration_s(self) -> float:
        """Return how long the cycle took."""
        return self.finished - self.started


@dataclass(frozen=True, slots=True)
class FleetView:
    """A snapshot of the whole fleet, as every endpoint renders it."""

    gateways: tuple[GatewayState, ...] = ()
    findings: tuple[Finding, ...] = ()  # source-level findings of the list in use
    cycle: CycleStats | None = None  # None until the first complete cycle
    interval_s: float = 300.0
    list_error: str | None = None  # the last reload failed: the list in use is older
    list_loaded_at: float | None = None  # when the list in use was loaded
    started_at: float = 0.0  # when serve started

    @property
    def ready(self) -> bool:
        """Return True once one complete cycle has checked every gateway."""
        return self.cycle is not None

    def report(self, *, version: str = "") -> Report:
        """Return the latest verdicts as the report `check` writes (for /report.json)."""
        return Report(
            gateways=tuple(g.report for g in self.gateways),
            findings=self.findings,
            version=version,
        )
