"""Fleets that share one server: the per-host limit holds, and a dead relay costs one timeout.

Counts are taken where they cannot lie, at the server: every connection it accepted, and the
most it ever had open at once (second looks at a silent port included).
"""

from __future__ import annotations

import dataclasses
import resource
import socket
from typing import Any

import pytest

from smtpcheck.probe.network import system_resolver
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import FailureKind, Status
from smtpcheck.runner import RunLimits
from smtpcheck.runner.slots import address_key, descriptor_budget
from tests.support.gateways import codes, gateway, probe_of, run_check
from tests.support.servers import HOST, RawServer, resolver, scripted


def _fleet(port: int, hosts: list[str], *, mode: str = "none") -> list[dict[str, Any]]:
    # Each its own user, so no two are the same probe (identical ones are probed once anyway).
    return [
        gateway(
            port, gid=gid, host=host, mode=mode, auth=False, params={"mail.smtp.user": f"u{gid}"}
        )
        for gid, host in enumerate(hosts)
    ]


@pytest.fixture
def quick(options: ProbeOptions) -> ProbeOptions:
    """Short waits: a silent port is given up on after 1 s, looked at again after 0.3 s."""
    return dataclasses.replace(options, timeout=1.0, diagnose_after=0.3)


async def test_a_fleet_behind_one_silent_relay_is_waited_on_once(smtp_server, quick):
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    report = await run_check(
        _fleet(silent.port, ["mail.test"] * 40), quick, limits=RunLimits(per_host=4)
    )
    probes = [probe_of(g) for g in report.gateways]
    assert {p.failure_kind for p in probes} == {FailureKind.NO_GREETING}
    shared = [p for p in probes if p.shared is not None]
    # The first probes (per_host - 1 at once) waited; every one queued behind took their result.
    assert len(shared) >= 40 - 3, [p.shared for p in probes]
    note = shared[0].shared or ""
    assert "not connected again" in note and shared[0].transcript == (note,)
    # Three probes and their second looks, never the 40 probes and their 40 looks.
    assert silent.counter.accepted <= 6, silent.counter
    assert silent.counter.peak <= 4, silent.counter
    assert all(g.status is Status.FAILED for g in report.gateways)


async def test_a_refusing_port_is_shared_too(quick):
    with socket.socket() as closed:  # bound, never listening: the kernel refuses connections
        closed.bind((HOST, 0))
        report = await run_check(_fleet(closed.getsockname()[1], ["mail.test"] * 20), quick)
    probes = [probe_of(g) for g in report.gateways]
    assert {p.failure_kind for p in probes} == {FailureKind.CONNECT_REFUSED}
    assert sum(p.shared is not None for p in probes) >= 20 - 7
    assert {"SC502"} <= set(codes(report.gateways[-1]))


async def test_a_working_server_is_never_shared(smtp_server, quick):
    server = await smtp_server(RawServer(scripted()))
    report = await run_check(_fleet(server.port, ["mail.test"] * 10), quick)
    assert all(probe_of(g).ok and probe_of(g).shared is None for g in report.gateways)
    assert server.counter.accepted == 10


async def test_the_limit_counts_addresses_not_names(smtp_server, quick):
    server = await smtp_server(RawServer(scripted(delay=0.2)))
    names = resolver({"a.test": HOST, "b.test": HOST, "c.test": HOST})

    async def resolve(host: str, port: int) -> Any:
        # IP literals need no look-up (the system resolver returns them as they are).
        return await (system_resolver if ":" in host or host == HOST else names)(host, port)

    spelt = dataclasses.replace(quick, resolver=resolve, diagnose_after=0.6)
    hosts = ["a.test", "b.test", "c.test", HOST, "::ffff:127.0.0.1"] * 4
    report = await run_check(_fleet(server.port, hosts), spelt, limits=RunLimits(per_host=3))
    assert all(probe_of(g).ok for g in report.gateways), [
        probe_of(g).failure for g in report.gateways
    ]
    assert server.counter.accepted == len(hosts)
    assert server.counter.peak == 2  # per_host - 1: one place is kept for a second look


@pytest.mark.parametrize("per_host", [1, 2, 4])
async def test_second_looks_count_towards_the_limit(smtp_server, quick, per_host):
    silent = await smtp_server(RawServer(scripted(greeting=None)))
    # Different timeouts: no breaker shares a result, every probe really waits and looks.
    fleet = [
        gateway(
            silent.port, gid=gid, mode="none", auth=False, params={"mail.smtp.timeout": 900 + gid}
        )
        for gid in range(6)
    ]
    await run_check(fleet, quick, limits=RunLimits(per_host=per_host))
    assert silent.counter.peak <= per_host, silent.counter
    if per_host > 1:
        assert silent.counter.accepted > len(fleet)  # the looks did happen


def test_address_key_is_the_server_not_the_spelling():
    assert address_key(("::ffff:127.0.0.1", 25, 0, 0)) == "127.0.0.1"
    assert address_key(("0:0:0:0:0:0:0:1", 25, 0, 0)) == "::1"
    assert address_key(("fe80::1%eth0", 25, 0, 2)) == "fe80::1"
    assert address_key(("127.0.0.1", 25)) == "127.0.0.1"


@pytest.fixture
def few_descriptors():
    """Lower this process's open-file limit to what is open now: no new socket can be made."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def lower() -> None:
        import os

        in_use = len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor is closed
        resource.setrlimit(resource.RLIMIT_NOFILE, (in_use, hard))

    yield lower
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_no_file_descriptor_left_is_sc902_not_the_gateways_fault(
    smtp_server, quick, few_descriptors
):
    server = await smtp_server(RawServer(scripted()))
    few_descriptors()
    report = await run_check(_fleet(server.port, ["mail.test"] * 3), quick)
    for g in report.gateways:
        assert g.status is Status.ERROR, g
        assert "SC902" in codes(g) and "SC502" not in codes(g), codes(g)
        assert "file descriptor" in codes(g)["SC902"].message
    assert server.counter.accepted == 0


def test_concurrency_stays_within_the_open_file_limit(few_descriptors):
    few_descriptors()
    budget = descriptor_budget()
    assert budget is not None and budget >= 1
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 2 * budget <= max(2, soft - 64)
