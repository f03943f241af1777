"""smtpcheck: lint and live-check the SMTP email gateways of a Navixy-style telematics panel.

The public API is listed in ``__all__``. Names are loaded on first use, so ``import smtpcheck``
(and `smtpcheck --version`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from smtpcheck._version import __version__

if TYPE_CHECKING:
    from smtpcheck.config.loading import document_from_data, load_paths, parse_document
    from smtpcheck.errors import ConfigLoadError, PlatformError, SmtpcheckError, UsageError
    from smtpcheck.pipeline.check import CheckOptions, check
    from smtpcheck.pipeline.inventory import LintOptions
    from smtpcheck.pipeline.validate import validate
    from smtpcheck.probe.session import ProbeOptions, probe_gateway
    from smtpcheck.probe.tls import TlsContexts, build_tls_contexts
    from smtpcheck.reporters import REPORTERS, RenderOptions, render
    from smtpcheck.results import (
        Endpoint,
        Finding,
        GatewayReport,
        ProbeFailure,
        ProbeResult,
        Report,
        Severity,
        Status,
        TlsMode,
    )
    from smtpcheck.rules import ALL_RULES, Selection
    from smtpcheck.runner import RunLimits

__all__ = [
    "ALL_RULES",
    "REPORTERS",
    "CheckOptions",
    "ConfigLoadError",
    "Endpoint",
    "Finding",
    "GatewayReport",
    "LintOptions",
    "PlatformError",
    "ProbeFailure",
    "ProbeOptions",
    "ProbeResult",
    "RenderOptions",
    "Report",
    "RunLimits",
    "Selection",
    "Severity",
    "SmtpcheckError",
    "Status",
    "TlsContexts",
    "TlsMode",
    "UsageError",
    "__version__",
    "build_tls_contexts",
    "check",
    "document_from_data",
    "load_paths",
    "parse_document",
    "probe_gateway",
    "render",
    "validate",
]

_HOMES = {
    "CheckOptions": "smtpcheck.pipeline.check",
    "check": "smtpcheck.pipeline.check",
    "ProbeOptions": "smtpcheck.probe.session",
    "probe_gateway": "smtpcheck.probe.session",
    "RunLimits": "smtpcheck.runner",
    "TlsContexts": "smtpcheck.probe.tls",
    "build_tls_contexts": "smtpcheck.probe.tls",
    "LintOptions": "smtpcheck.pipeline.inventory",
    "validate": "smtpcheck.pipeline.validate",
    "ConfigLoadError": "smtpcheck.errors",
    "PlatformError": "smtpcheck.errors",
    "SmtpcheckError": "smtpcheck.errors",
    "UsageError": "smtpcheck.errors",
    "REPORTERS": "smtpcheck.reporters",
    "RenderOptions": "smtpcheck.reporters",
    "render": "smtpcheck.reporters",
    "Endpoint": "smtpcheck.results",
    "Finding": "smtpcheck.results",
    "GatewayReport": "smtpcheck.results",
    "ProbeFailure": "smtpcheck.results",
    "ProbeResult": "smtpcheck.results",
    "Report": "smtpcheck.results",
    "Severity": "smtpcheck.results",
    "Status": "smtpcheck.results",
    "TlsMode": "smtpcheck.results",
    "ALL_RULES": "smtpcheck.rules",
    "Selection": "smtpcheck.rules",
    "document_from_data": "smtpcheck.config.loading",
    "load_paths": "smtpcheck.config.loading",
    "parse_document": "smtpcheck.config.loading",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'smtpcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
