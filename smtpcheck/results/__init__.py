"""What a run produces, shared by every part: findings, probe results, discoveries, the report.

Plain frozen dataclasses and enums, no I/O and no third-party imports: the pipeline, the probe
and discovery build them; the rules and reporters read them. ``report`` holds the verdicts,
``probe_result`` what one probe observed, ``discovery_result`` what discovery found.
"""

from __future__ import annotations

from smtpcheck.results.delivery_result import DeliveryOutcome, DeliveryResult, Difference
from smtpcheck.results.discovery_result import Attempt, Discovery
from smtpcheck.results.location import (
    STDIN_SOURCE,
    LocationKey,
    Locations,
    Region,
    RuleHelp,
    is_file_source,
)
from smtpcheck.results.probe_result import (
    CertInfo,
    Endpoint,
    FailureKind,
    NotProbed,
    PortHint,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    TlsInfo,
    TlsMode,
)
from smtpcheck.results.report import (
    Finding,
    GatewayKind,
    GatewayReport,
    Report,
    Severity,
    Status,
    Suggestion,
    Summary,
    status_of,
    works,
    worst_first,
)
from smtpcheck.results.sent import TOKEN_HEADER, SentMessage, message_id_for, valid_token

__all__ = [
    "STDIN_SOURCE",
    "TOKEN_HEADER",
    "Attempt",
    "CertInfo",
    "DeliveryOutcome",
    "DeliveryResult",
    "Difference",
    "Discovery",
    "Endpoint",
    "FailureKind",
    "Finding",
    "GatewayKind",
    "GatewayReport",
    "LocationKey",
    "Locations",
    "NotProbed",
    "PortHint",
    "ProbeFailure",
    "ProbeResult",
    "ProbeStep",
    "Region",
    "Report",
    "RuleHelp",
    "SentMessage",
    "Severity",
    "Status",
    "Suggestion",
    "Summary",
    "TlsInfo",
    "TlsMode",
    "is_file_source",
    "message_id_for",
    "status_of",
    "valid_token",
    "works",
    "worst_first",
]
