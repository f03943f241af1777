"""`discover`: which ports and TLS modes of one host work, with an optional login."""

from __future__ import annotations

import asyncio

from smtpcheck.discovery.search import DiscoverOptions, Request, discover
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import Discovery
from smtpcheck.runner import RunLimits

__all__ = ["discover_host"]


def discover_host(
    host: str,
    *,
    user: str | None,
    password: str | None,
    probe: ProbeOptions,
    limits: RunLimits,
    ports: tuple[int, ...] = (),
) -> Discovery:
    """Probe every candidate combination on ``host``; runs its own event loop."""
    from pydantic import SecretStr

    secret = SecretStr(password) if password is not None else None
    request = Request(host, user=user, password=secret)
    options = DiscoverOptions(probe=probe, limits=limits, ports=ports)
    (found,) = asyncio.run(discover([request], options))
    return found
