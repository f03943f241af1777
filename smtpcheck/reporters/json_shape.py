"""The JSON report's shape as typed structures: what `report_to_dict` returns, key by key.

mypy checks the rendering code against these TypedDicts, and the shipped JSON Schema
(``report.schema.json``, printed by ``smtpcheck schema``) is generated from them. Each object
renders one result type; a comment on a key says what it holds when the result type does not.
"""

from __future__ import annotations

from importlib import resources
from typing import Final, Literal, NotRequired, TypedDict

from smtpcheck.results import (
    DeliveryOutcome,
    FailureKind,
    GatewayKind,
    PortHint,
    Severity,
    Status,
    TlsMode,
)

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_VERSION",
    "CertDict",
    "DeliveryDict",
    "DifferenceDict",
    "EndpointDict",
    "FindingDict",
    "GatewayDict",
    "ProbeDict",
    "ReportDict",
    "SourceFindingDict",
    "StepDict",
    "SuggestionDict",
    "SummaryDict",
    "TlsDict",
    "schema_text",
]

SCHEMA_VERSION: Final = 2
#: The generated schema, shipped beside this module (scripts/generate-schema writes it).
SCHEMA_FILE: Final = "report.schema.json"


class SummaryDict(TypedDict):
    """`Summary`."""

    gateways: int  # how many gateways the report holds
    ok: int  # how many have the status ok
    warning: int  # how many have the status warning
    failed: int  # how many have the status failed
    skipped: int  # how many have the status skipped
    error: int  # how many have the status error


class FindingDict(TypedDict):
    """`Finding`."""

    code: str  # the rule's stable code, SC and three digits: `smtpcheck rules CODE` explains it
    slug: str  # the rule's name in kebab-case
    severity: Severity
    message: str  # what is wrong, for people
    param: str | None  # the gateway param it is about, if one is
    fix: str | None  # how to fix it, when known


class SourceFindingDict(FindingDict):
    """`Finding` about a source (a file, the panel's list) rather than one gateway."""

    source: str | None  # the source it is about; null when it spans sources (a repeated id)


class EndpointDict(TypedDict):
    """`Endpoint`."""

    host: str | None  # the host JavaMail connects to; null when the gateway names none
    port: int  # the port JavaMail connects to
    mode: TlsMode
    starttls_required: bool  # meant only in STARTTLS mode: without it, no STARTTLS is plain text


class StepDict(TypedDict):
    """`ProbeStep`."""

    name: str  # the stage: resolve, connect, tls, greeting, ehlo, starttls, auth, mail, quit …
    ok: bool  # the stage succeeded
    ms: float  # how long it took, in milliseconds (two decimals)
    detail: str  # what the server said, or why the stage failed; may be empty
    reply_code: int | None  # the server's SMTP reply code, when it replied


class CertDict(TypedDict):
    """`CertInfo`."""

    subject: str  # the subject's distinguished name, as RFC 4514 writes it
    issuer: str  # the issuer's distinguished name, as RFC 4514 writes it
    san: list[str]  # the DNS names and addresses of its subjectAltName
    not_after: str  # when it expires: ISO 8601, UTC
    days_left: int  # whole days left until not_after, rounded down (negative once expired)


class TlsDict(TypedDict):
    """`TlsInfo`."""

    version: str  # as OpenSSL names it: TLSv1.2, TLSv1.3
    cipher: str  # the cipher suite, as OpenSSL names it
    verified: bool  # the certificate verified against the CAs this run trusts
    verify_error: str | None  # why it did not verify
    verify_code: int | None
    name_matches: bool | None  # the certificate names the configured host; null: not read
    cert: CertDict | None  # the server's certificate; null when it could not be read


class ProbeDict(TypedDict):
    """`ProbeResult`."""

    ok: bool  # every stage the config asks for succeeded
    steps: list[StepDict]  # the stages, in the order they ran
    tls: TlsDict | None  # the TLS session; null when the session never became TLS
    extensions_before_tls: list[str]  # the EHLO reply's lines before TLS (none: implicit TLS)
    extensions: list[str]  # the last EHLO reply's lines (after STARTTLS when there was one)
    auth_mechanisms_before_tls: list[str]  # the AUTH mechanisms offered before TLS
    auth_mechanisms: list[str]  # the AUTH mechanisms of the last EHLO reply
    failure: FailureKind | None  # why the probe stopped; null when it succeeded
    failure_detail: str  # the failure, for people; empty when it succeeded
    reply_code: int | None
    port_hint: PortHint | None
    tls_error: str | None
    shared: str | None
    ms: float  # how long the whole probe took, in milliseconds (two decimals)
    # Only with -v: the SMTP conversation, one line each ("C: " sent, "S: " received, "-- "
    # a note), AUTH and the password masked.
    transcript: NotRequired[list[str]]


class DifferenceDict(TypedDict):
    """`Difference`."""

    field: str  # sender, recipient, subject, token or body
    sent: str  # the value as sent (a long one shortened, ending in …)
    found: str | None  # null: the field is gone


class DeliveryDict(TypedDict):
    """`DeliveryResult`."""

    where: str  # the catcher or mailbox URL, its password masked
    outcome: DeliveryOutcome  # delivered, altered, missing (SC801) or unreachable (SC803)
    token: str  # the test message's token (in its Message-ID and X-Smtpcheck-Token)
    latency_ms: float | None  # from the server's 250 to the look that found it; null: not found
    waited_ms: float  # the whole time spent looking
    polls: int  # how many looks it took
    found_id: str | None  # the catcher's message id, or the IMAP UID
    differences: list[DifferenceDict]  # what arrived other than sent (SC802)
    detail: str  # what was found, or why nothing was, for people
    problem: str | None  # what to fix when it could not be asked: url, credentials, running…
    removed: bool  # the message was deleted after it was found (not with --keep-delivered)


class SuggestionDict(TypedDict):
    """`Suggestion`."""

    params: dict[str, object]  # the params to write, with their values
    why: str  # what the probe observed that makes the patch work
    previous: dict[str, object]


class GatewayDict(TypedDict):
    """`GatewayReport`."""

    id: int | None  # the gateway's id; null when its entry has none
    label: str | None  # its label as written, control characters and all
    kind: GatewayKind
    source: str  # the file or panel list it was read from
    status: Status
    # Whether the platform's JavaMail gets a message through with this config, as the probe
    # measured it; null when not probed. Independent of the findings.
    works: bool | None
    endpoint: EndpointDict | None  # where it connects; null for a leasable one or bad params
    findings: list[FindingDict]  # what the rules found in its config and in its probe
    probe: ProbeDict | None  # what the probe saw; null if not probed (validate, SC508, SC901)
    suggestion: SuggestionDict | None  # a params patch that works; null unless --suggest found one
    delivery: DeliveryDict | None  # null unless --expect-delivery looked for the test message


class ReportDict(TypedDict):
    """`Report`."""

    schema: Literal[2]  # this layout's number: a new one only for an incompatible change
    tool: Literal["smtpcheck"]  # the program that wrote the report
    version: str  # the smtpcheck version that wrote the report
    started: str | None  # when the run began: ISO 8601, UTC, to the second; null when not known
    host: str | None
    summary: SummaryDict
    findings: list[SourceFindingDict]  # what belongs to a source, not to one gateway
    gateways: list[GatewayDict]  # every gateway, in the order of its sources


def schema_text() -> str:
    """Return the shipped JSON Schema of the report, as its file holds it."""
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
