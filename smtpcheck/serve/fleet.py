"""The fleet as `serve` knows it: the latest verdict per gateway, with its run of failures.

`FleetTracker` takes each verdict as its check ends, asks the history when the gateway began
failing and when it last changed (so both survive a restart), and hands the endpoints a
`FleetView` snapshot, built again only after something changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from smtpcheck.results import Finding, GatewayReport, Severity, Status, worst_first
from smtpcheck.serve.view import Change, CycleStats, FleetView, GatewayState

__all__ = ["FleetTracker", "StateHistory"]

#: Statuses that count as failing: "failing since" and consecutive failures follow them.
_FAILING = frozenset({Status.FAILED, Status.ERROR})


class StateHistory(Protocol):
    """Where state changes are kept (`serve.history.History`)."""

    def observe(
        self, key: str, *, at: float, status: str, code: str | None, message: str | None
    ) -> Change | None:
        """Record a verdict; return the change when the status differs from the last one."""

    def since(self, key: str) -> tuple[float | None, float | None]:
        """Return (failing since, last change) for the gateway."""


class FleetTracker:
    """The latest state of every gateway in the list in use, in the list's order."""

    def __init__(
        self,
        history: StateHistory,
        *,
        interval_s: float,
        started_at: float,
        clock: Callable[[], float],
    ) -> None:
        self._history = history
        self._clock = clock
        self._interval_s = interval_s
        self._started_at = started_at
        self._order: list[str] = []
        self._states: dict[str, GatewayState] = {}
        self._findings: tuple[Finding, ...] = ()
        self._cycle: CycleStats | None = None
        self._list_error: str | None = None
        self._list_loaded_at: float | None = None
        self._view: FleetView | None = None

    def set_list(self, keys: Sequence[str], findings: tuple[Finding, ...]) -> None:
        """Take a newly loaded gateway list: its order, and who is no longer in it."""
        self._order = list(keys)
        wanted = set(keys)
        # A gateway that left the list leaves the view; its history stays in the store.
        self._states = {key: state for key, state in self._states.items() if key in wanted}
        self._findings = findings
        self._list_error = None
        self._list_loaded_at = self._clock()
        self._view = None

    def list_failed(self, message: str) -> None:
        """Say that a reload failed: the list in use stays, and the view says how old it is."""
        self._list_error = message
        self._view = None

    def update(self, key: str, report: GatewayReport) -> GatewayState:
        """Take a gateway's new verdict; return its state."""
        now = self._clock()
        first = _first_finding(report)
        self._history.observe(
            key,
            at=now,
            status=str(report.status),
            code=None if first is None else first.code,
            message=None if first is None else first.message,
        )
        failing_since, last_change = self._history.since(key)
        previous = self._states.get(key)
        failures = previous.consecutive_failures if previous is not None else 0
        state = GatewayState(
            key=key,
            report=report,
            checked_at=now,
            duration_s=0.0 if report.probe is None else report.probe.ms / 1000,
            consecutive_failures=failures + 1 if report.status in _FAILING else 0,
            failing_since=failing_since,
            last_change=last_change,
        )
        self._states[key] = state
        self._view = None
        return state

    def cycle_done(self, stats: CycleStats) -> None:
        """Take the figures of a cycle that checked every gateway."""
        self._cycle = stats
        self._view = None

    def state(self, key: str) -> GatewayState | None:
        """Return the latest state of one gateway, or None when it was never checked."""
        return self._states.get(key)

    def view(self) -> FleetView:
        """Return a snapshot of the fleet: checked gateways in list order."""
        if self._view is None:
            states = tuple(self._states[key] for key in self._order if key in self._states)
            self._view = FleetView(
                gateways=states,
                findings=self._findings,
                cycle=self._cycle,
                interval_s=self._interval_s,
                list_error=self._list_error,
                list_loaded_at=self._list_loaded_at,
                started_at=self._started_at,
            )
        return self._view


def _first_finding(report: GatewayReport) -> Finding | None:
    """Return the finding a person reads first: the worst, then the lowest code."""
    ordered = worst_first(report.findings)
    if not ordered or (ordered[0].severity is Severity.INFO and report.status is Status.OK):
        return None
    return ordered[0]
