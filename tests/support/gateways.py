"""Building gateways for the live tests, and running the live pipeline over them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smtpcheck.config.javamail import connection_params
from smtpcheck.config.loading import document_from_data
from smtpcheck.pipeline.check import CheckOptions, check_async
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import (
    CertInfo,
    Endpoint,
    Finding,
    GatewayReport,
    ProbeResult,
    Report,
    TlsInfo,
    TlsMode,
)
from tests.support.servers import PASSWORD, USER

__all__ = [
    "cert_of",
    "codes",
    "gateway",
    "live_codes",
    "probe_of",
    "run_check",
    "tls_of",
]

#: The test names of the ways to connect, as the product's one mode <-> params mapping writes them.
_MODES = {
    "none": (TlsMode.NONE, False),
    "starttls": (TlsMode.STARTTLS, True),
    "opportunistic": (TlsMode.STARTTLS, False),
    "implicit": (TlsMode.IMPLICIT, False),
}


def gateway(
    port: int,
    *,
    mode: str = "starttls",
    auth: bool = True,
    host: str = "mail.test",
    gid: int = 1,
    password: str = PASSWORD,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A gateway object as the panel API returns it, pointed at a local server."""
    tls_mode, required = _MODES[mode]
    connection = connection_params(Endpoint(host, port, tls_mode, starttls_required=required))
    values: dict[str, Any] = {
        "default_from_address": USER,
        "mail.smtp.user": USER if auth else None,
        "mail.smtp.password": password if auth else None,
        "mail.smtp.host": host,
        "mail.smtp.ssl.trust_all_hosts": False,
        "mail.smtp.auth": auth,
        "mail.debug": False,
        **connection,
        "mail.smtp.timeout": 30000,
        "mail.smtp.connectiontimeout": 30000,
        "mail.transport.protocol": "smtp",
    }
    values.update(params or {})
    return {
        "id": gid,
        "leasable": False,
        "label": f"gw {gid}",
        "provider": "smtp",
        "params": values,
    }


async def run_check(gateways: list[dict[str, Any]], options: ProbeOptions, **live: Any) -> Report:
    """Run `check` (static + live) over gateways, in the test's event loop."""
    document = document_from_data(gateways, source="gateways.json", environ={})
    return await check_async([document], LintOptions(), CheckOptions(probe=options, **live))


def codes(report: GatewayReport) -> dict[str, Finding]:
    """The findings of one gateway by code."""
    return {f.code: f for f in report.findings}


def live_codes(report: GatewayReport) -> set[str]:
    """The codes of the live findings (SC5xx–SC7xx) of one gateway."""
    return {f.code for f in report.findings if f.code[2] in "567"}


def probe_of(report: GatewayReport) -> ProbeResult:
    """The probe of a gateway that must have been probed."""
    assert report.probe is not None, f"gateway {report.id} was not probed"
    return report.probe


def tls_of(item: GatewayReport | ProbeResult) -> TlsInfo:
    """The TLS session a probe must have seen."""
    probe = probe_of(item) if isinstance(item, GatewayReport) else item
    assert probe.tls is not None, "no TLS session"
    return probe.tls


def cert_of(item: GatewayReport | ProbeResult) -> CertInfo:
    """The certificate a probe must have read."""
    tls = tls_of(item)
    assert tls.cert is not None, "no certificate"
    return tls.cert
