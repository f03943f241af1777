"""Probing a fleet: input order, one probe per identical gateway, limits, the per-target guard."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from smtpcheck.probe.session import ProbeOptions
from smtpcheck.results import Status
from smtpcheck.runner import RunLimits
from tests.support.gateways import codes, gateway, live_codes, probe_of, run_check
from tests.support.servers import HOST, PASSWORD, Counter, RawServer, resolver, scripted


async def test_results_keep_input_order_whatever_finishes_first(smtp_server, options):
    slow = await smtp_server(RawServer(scripted(b"220 slow\r\n", delay=0.3)))
    fast = await smtp_server(RawServer(scripted(b"220 fast\r\n")))
    gateways = [
        gateway(slow.port, gid=1, mode="none", auth=False),
        gateway(fast.port, gid=2, mode="none", auth=False),
        gateway(1, gid=3, host="nowhere.test"),
    ]
    report = await run_check(gateways, options)
    assert [g.id for g in report.gateways] == [1, 2, 3]
    assert [probe_of(g).steps[2].detail for g in report.gateways[:2]] == ["220 slow", "220 fast"]
    assert live_codes(report.gateways[2]) == {"SC501"}


async def test_identical_gateways_are_probed_once(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))
    twins = [gateway(server.port, gid=gid, mode="none", auth=False) for gid in (1, 2)]
    report = await run_check(twins, options)
    assert server.counter.accepted == 1
    first, second = report.gateways
    assert first.probe is second.probe and probe_of(first).ok
    assert (first.id, second.id) == (1, 2)


async def test_different_credentials_are_not_shared(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))
    pair = [
        gateway(server.port, gid=1, mode="none"),
        gateway(server.port, gid=2, mode="none", password="other"),
    ]
    await run_check(pair, options)
    assert server.counter.accepted == 2


async def _peak(smtp_server: Any, options: ProbeOptions, limits: RunLimits) -> int:
    server = await smtp_server(RawServer(scripted(delay=0.2)))
    fleet = [
        gateway(server.port, gid=gid, mode="none", auth=False, params={"mail.smtp.user": f"u{gid}"})
        for gid in range(6)
    ]
    report = await run_check(fleet, options, limits=limits)
    assert all(probe_of(g).ok for g in report.gateways)
    assert server.counter.accepted == 6
    peak: int = server.counter.peak
    return peak


async def test_per_host_limit_caps_connections_to_one_host(smtp_server, options):
    # One place per address is kept for a second look at a silent port: N - 1 probes at once.
    assert await _peak(smtp_server, options, RunLimits(per_host=3)) == 2
    assert await _peak(smtp_server, options, RunLimits(per_host=1)) == 1
    assert await _peak(smtp_server, options, RunLimits(per_host=8)) == 6  # the limit is the cause


def _sender(gid: int) -> dict[str, str]:
    # A different sender makes gateways different probes (identical ones are probed once).
    return {"default_from_address": f"u{gid}@mail.test"}


async def test_concurrency_caps_probes_over_all_hosts(smtp_server, options):
    shared = Counter()
    first = await smtp_server(RawServer(scripted(delay=0.1), counter=shared))
    second = await smtp_server(RawServer(scripted(delay=0.1), counter=shared))
    two_hosts = dataclasses.replace(options, resolver=resolver({"a.test": HOST, "b.test": HOST}))
    targets = [(first.port, "a.test"), (second.port, "b.test")] * 2
    fleet = [
        gateway(port, gid=gid, host=host, mode="none", auth=False, params=_sender(gid))
        for gid, (port, host) in enumerate(targets)
    ]
    await run_check(fleet, two_hosts, limits=RunLimits(concurrency=1))
    assert (shared.accepted, shared.peak) == (4, 1)


async def test_a_bug_in_one_probe_is_sc901_and_the_others_still_run(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))
    working = resolver({"mail.test": HOST})

    async def buggy(host: str, port: int):
        if host == "bug.test":
            raise RuntimeError(f"resolver exploded near {PASSWORD}")
        return await working(host, port)

    fleet = [
        gateway(server.port, gid=1, mode="none", auth=False),
        gateway(server.port, gid=2, host="bug.test", mode="none"),
        gateway(server.port, gid=3, mode="none", auth=False, params={"mail.smtp.timeout": 1000}),
    ]
    report = await run_check(fleet, dataclasses.replace(options, resolver=buggy))
    ok, broken, also_ok = report.gateways
    assert broken.status is Status.ERROR and broken.probe is None
    finding = codes(broken)["SC901"]
    assert "RuntimeError" in finding.message and PASSWORD not in finding.message
    assert probe_of(ok).ok and probe_of(also_ok).ok


async def test_progress_reports_every_gateway(smtp_server, options):
    server = await smtp_server(RawServer(scripted()))
    calls: list[tuple[int, int]] = []
    fleet = [gateway(server.port, gid=gid, mode="none", auth=False) for gid in (1, 2)]
    other_user = {"mail.smtp.user": "x"}
    fleet.append(gateway(server.port, gid=3, mode="none", auth=False, params=other_user))
    await run_check(fleet, options, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    assert [total for _, total in calls] == [3] * len(calls)


async def test_unprobeable_gateways_are_skipped_with_sc508(options):
    fleet = [
        gateway(25, gid=1, host=""),
        gateway(25, gid=2, host="smtp://mail.test:25"),
        gateway(70000, gid=3),
    ]
    report = await run_check(fleet, options)
    for g in report.gateways:
        assert g.probe is None
        assert "SC508" in codes(g), g.id
    assert "SC101" in codes(report.gateways[0])["SC508"].message
    assert "SC102" in codes(report.gateways[1])["SC508"].message
    assert "SC103" in codes(report.gateways[2])["SC508"].message


async def test_unset_variable_skips_the_probe(options):
    from smtpcheck.config.loading import document_from_data
    from smtpcheck.pipeline.check import CheckOptions, check_async
    from smtpcheck.pipeline.inventory import LintOptions

    config = gateway(587, params={"mail.smtp.password": "${SMTP_PASSWORD}"})
    document = document_from_data([config], source="ci.json", environ={})
    report = await check_async([document], LintOptions(), CheckOptions(probe=options))
    finding = codes(report.gateways[0])["SC508"]
    assert "${SMTP_PASSWORD}" in finding.message and "SC008" in finding.message


async def test_redacted_password_skips_the_probe(options):
    from smtpcheck.config.loading import document_from_data
    from smtpcheck.config.params import REDACTED
    from smtpcheck.pipeline.check import CheckOptions, check_async
    from smtpcheck.pipeline.inventory import LintOptions

    config = gateway(587, params={"mail.smtp.password": REDACTED})
    document = document_from_data([config], source="saved.json", environ={})
    report = await check_async([document], LintOptions(), CheckOptions(probe=options))
    (gateway_report,) = report.gateways
    assert gateway_report.probe is None
    assert {"SC010", "SC508"} <= set(codes(gateway_report))
    assert "SC010" in codes(gateway_report)["SC508"].message


async def test_a_black_holed_endpoint_costs_one_timeout_not_one_per_batch(options, black_hole):
    fast = dataclasses.replace(options, timeout=1.0)
    fleet = [gateway(black_hole, gid=gid, params=_sender(gid)) for gid in range(10)]
    started = time.monotonic()
    report = await run_check(fleet, fast, limits=RunLimits(per_host=2))
    elapsed = time.monotonic() - started
    assert all(live_codes(g) == {"SC503"} for g in report.gateways)
    assert elapsed < 3 * fast.timeout  # five batches of two would take five timeouts
