"""`smtpcheck demo`: check sample gateways against real mail servers started in-process.

The servers (see `servers`) listen on free loopback ports with a throwaway CA (see `certs`); the
gateway files in ``configs/`` (also ``sample_configs/demo/``) reach them through ``${NAME}``
values that the demo sets, so they are ordinary config files. Two gateways are correct, one is a
CI catcher, and two are broken on purpose; the check runs with ``--suggest`` and sends a test
message through each working gateway with ``--expect-delivery`` pointed at the demo's own
Mailpit-compatible API (`web`). The demo passes when each gateway gets the verdict it is meant to
get, the mismatched one its verified fix, and each working one's message arrives intact.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from smtpcheck.config.loading import load_paths
from smtpcheck.delivery.inbox import parse_place
from smtpcheck.delivery.polling import DeliveryOptions
from smtpcheck.demo.certs import make_certificates
from smtpcheck.demo.inbox import Inbox
from smtpcheck.demo.servers import start_servers
from smtpcheck.demo.web import start_web
from smtpcheck.pipeline.check import CheckOptions, check_async
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.probe.tls import build_tls_contexts
from smtpcheck.results import DeliveryOutcome, Report, Status

__all__ = [
    "CONFIGS",
    "DELIVERED",
    "EXPECTED",
    "EXPECTED_FIX",
    "DemoResult",
    "display_path",
    "run_demo",
    "unmet_expectations",
]

#: The demo's gateway files.
CONFIGS = Path(__file__).parent / "configs"
#: What each demo gateway is meant to get: a status, and the codes that must be among its findings.
EXPECTED: Mapping[int, tuple[Status, frozenset[str]]] = {
    1: (Status.OK, frozenset()),
    2: (Status.OK, frozenset()),
    3: (Status.OK, frozenset()),
    4: (Status.FAILED, frozenset({"SC504"})),
    5: (Status.FAILED, frozenset({"SC702"})),
}
#: The gateways whose test message must arrive intact in the demo's catcher.
DELIVERED = frozenset({1, 2, 3})
#: Where the demo sends its test messages (its own domain: nothing leaves the machine).
SEND_TO = "fleet-alerts@demo.test"
#: The fix `--suggest` must find for the gateway configured in the wrong TLS mode.
EXPECTED_FIX: tuple[int, Mapping[str, object]] = (
    4,
    {
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    },
)
_USER = "alerts@demo.test"


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The demo's report, and what in it differs from the demo's expectations."""

    report: Report
    unmet: tuple[str, ...]


def run_demo(*, verbose: bool = False, timeout: float = 5.0) -> DemoResult:
    """Start the servers, check the demo gateways against them, stop the servers."""
    return asyncio.run(_run(verbose=verbose, phase_timeout=timeout))


async def _run(*, verbose: bool, phase_timeout: float) -> DemoResult:
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="smtpcheck-demo-") as tmp:
        certs = make_certificates(Path(tmp))
        inbox = Inbox()
        servers = await start_servers(
            context=certs.server_context, user=_USER, password=password, inbox=inbox
        )
        web = await start_web(inbox)
        try:
            environ = {
                **os.environ,
                "SMTPCHECK_DEMO_PASSWORD": password,
                **{f"SMTPCHECK_DEMO_{s.name.upper()}_PORT": str(s.port) for s in servers.values()},
            }
            probe = ProbeOptions(
                ehlo_name="smtpcheck-demo.localhost",
                tls=build_tls_contexts(ca_file=certs.ca_file),
                timeout=phase_timeout,
                transcript=verbose,
                send_to=SEND_TO,
            )
            web_port = web.sockets[0].getsockname()[1]
            delivery = DeliveryOptions(
                place=parse_place(f"mailpit+http://127.0.0.1:{web_port}"),
                timeout=phase_timeout,
            )
            documents = load_paths([display_path(CONFIGS)], environ=environ)
            # --suggest, searching the demo's own ports: the mismatched gateway gets its fix.
            ports = tuple(s.port for s in servers.values())
            options = CheckOptions(probe=probe, suggest=ports, delivery=delivery)
            report = await check_async(documents, LintOptions(), options)
        finally:
            for server in (*(s.server for s in servers.values()), web):
                server.close()
                await server.wait_closed()
    return DemoResult(report, tuple(unmet_expectations(report)))


def display_path(path: Path) -> str:
    """Return ``path`` relative to the working directory when it is below it (shorter reports)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def unmet_expectations(report: Report) -> list[str]:
    """Say, per demo gateway, how its verdict differs from what the demo meant it to get."""
    unmet: list[str] = []
    seen = {g.id: g for g in report.gateways}
    for gw_id, (status, codes) in EXPECTED.items():
        gateway = seen.get(gw_id)
        if gateway is None:
            unmet.append(f"gateway {gw_id} is missing from the demo configs")
            continue
        found = {f.code for f in gateway.findings}
        if gateway.status is not status or not codes <= found:
            wanted = f"{status}" + (f" with {', '.join(sorted(codes))}" if codes else "")
            unmet.append(
                f"gateway {gw_id} is {gateway.status} with {', '.join(sorted(found)) or 'nothing'}"
                f", expected {wanted}"
            )
    for gw_id in sorted(DELIVERED):
        delivery = seen[gw_id].delivery if gw_id in seen else None
        if delivery is None or delivery.outcome is not DeliveryOutcome.DELIVERED:
            outcome = (
                "not checked" if delivery is None else f"{delivery.outcome}: {delivery.detail}"
            )
            unmet.append(f"gateway {gw_id}'s test message was {outcome}, expected delivered")
    fixed_id, fix = EXPECTED_FIX
    gateway = seen.get(fixed_id)
    suggested = dict(gateway.suggestion.params) if gateway and gateway.suggestion else {}
    if any(suggested.get(key) != value for key, value in fix.items()):
        unmet.append(f"gateway {fixed_id} got the suggestion {suggested or 'none'}, not {fix}")
    return unmet
