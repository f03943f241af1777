"""What a run produces: findings, each gateway's verdict, and the report every format renders.

Plain frozen dataclasses, no I/O: the pipeline builds them, reporters read them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from smtpcheck.results.delivery_result import DeliveryOutcome, DeliveryResult
from smtpcheck.results.probe_result import Endpoint, ProbeResult

if TYPE_CHECKING:
    from datetime import datetime  # rules read results and must not import a clock

__all__ = [
    "Finding",
    "GatewayKind",
    "GatewayReport",
    "Report",
    "Severity",
    "Status",
    "Suggestion",
    "Summary",
    "status_of",
    "works",
    "worst_first",
]


class Severity(StrEnum):
    """How bad a finding is; `--fail-on` picks the lowest one that fails a run."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Return 2 for error, 1 for warning, 0 for info, so severities compare by badness."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 2, Severity.WARNING: 1, Severity.INFO: 0}


class Status(StrEnum):
    """The verdict on one gateway."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the check itself could not run (a bug, an aborted probe)


class GatewayKind(StrEnum):
    """Own gateways carry SMTP params and are checked; leasable ones are only listed."""

    OWN = "own"
    LEASABLE = "leasable"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) about a gateway or a source, with a stable rule code."""

    code: str
    slug: str
    severity: Severity
    message: str
    param: str | None = None
    fix: str | None = None
    source: str | None = None  # set on source-level findings only
    # A finding about several gateways at once (SC005): the (source, position) of each.
    places: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A verified params patch that makes a failing gateway work."""

    params: Mapping[str, object]
    why: str
    previous: Mapping[str, object] = field(default_factory=dict)  # the patched keys as written


@dataclass(frozen=True, slots=True)
class GatewayReport:
    """The verdict on one gateway and everything behind it."""

    id: int | None
    label: str | None
    kind: GatewayKind
    source: str
    status: Status
    endpoint: Endpoint | None
    findings: tuple[Finding, ...]
    probe: ProbeResult | None = None  # None: not probed (validate, not SMTP, SC508, SC901)
    suggestion: Suggestion | None = None
    position: str = ""  # where in its source: '' (the whole file), '[2]', 'own[0]'
    delivery: DeliveryResult | None = None  # --expect-delivery: did the test message arrive

    @property
    def works(self) -> bool | None:
        """Return whether the platform's JavaMail gets through with this config, as probed.

        The probe negotiates as JavaMail would, so its success is the verdict; None when the
        gateway was not probed. Kept apart from the findings: a gateway that works but logs
        in in clear text works, and its findings say what is unsafe. A message accepted and
        then lost (`--expect-delivery`) does not work, whatever the server said.
        """
        return works(self.probe, self.delivery)


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of gateways by status."""

    gateways: int
    ok: int
    warning: int
    failed: int
    skipped: int
    error: int


@dataclass(frozen=True, slots=True, repr=False)
class Report:
    """One run: every gateway plus the findings that belong to no single gateway."""

    gateways: tuple[GatewayReport, ...]
    findings: tuple[Finding, ...] = ()
    version: str = field(default="")
    started: datetime | None = None  # when the run began, in UTC
    host: str | None = None  # the machine that ran it (JUnit's hostname)

    def __repr__(self) -> str:
        # Short on purpose: asyncio formats the result of the task that built a report in some
        # error paths (CPython 3.11's Runner.run does it twice on every run), and the generated
        # repr of a 1 000-gateway report is megabytes.
        s = self.summary
        return (
            f"Report({s.gateways} gateways: {s.ok} ok, {s.warning} warning, {s.failed} failed, "
            f"{s.skipped} skipped, {s.error} error; {len(self.findings)} source findings)"
        )

    @property
    def summary(self) -> Summary:
        """Count the gateways by status."""
        counts = Counter(gateway.status for gateway in self.gateways)
        return Summary(
            gateways=len(self.gateways),
            ok=counts[Status.OK],
            warning=counts[Status.WARNING],
            failed=counts[Status.FAILED],
            skipped=counts[Status.SKIPPED],
            error=counts[Status.ERROR],
        )

    def all_findings(self) -> Iterable[Finding]:
        """Yield the source-level findings, then every gateway's."""
        yield from self.findings
        for gateway in self.gateways:
            yield from gateway.findings

    def fails(self, fail_on: Severity) -> bool:
        """Return True when the run should exit 1: a failed or errored gateway, or a bad finding."""
        if any(g.status in (Status.FAILED, Status.ERROR) for g in self.gateways):
            return True
        return any(f.severity.rank >= fail_on.rank for f in self.all_findings())


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """Return the findings in the order people read them: worst severity first, then by code.

    Every format and the status page name the same finding first this way.
    """
    return sorted(findings, key=lambda f: (-f.severity.rank, f.code))


def works(probe: ProbeResult | None, delivery: DeliveryResult | None = None) -> bool | None:
    """Return whether a gateway works: its probe got through, and its message arrived if checked.

    None when it was not probed. A delivery that could not be checked (the catcher down) says
    nothing either way: the probe's verdict stands, and SC803 says the check was not made.
    """
    if probe is None:
        return None
    return probe.ok and (delivery is None or delivery.outcome is not DeliveryOutcome.MISSING)


def status_of(findings: Iterable[Finding], works: bool | None = None) -> Status:
    """Return the status of a checked gateway: failed only when it does not work.

    A probed gateway fails when the probe did not get through (``works`` false); one that
    works is at worst a warning, whatever its findings ("works, but …"). Unprobed
    (``works`` None, as under `validate`), an error finding predicts failure.
    """
    if works is False:
        return Status.FAILED
    worst = max((f.severity.rank for f in findings), default=0)
    if worst >= Severity.ERROR.rank:
        return Status.WARNING if works else Status.FAILED
    if worst >= Severity.WARNING.rank:
        return Status.WARNING
    return Status.OK
