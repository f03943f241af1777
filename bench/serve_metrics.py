"""Render time of `smtpcheck serve`'s ``/metrics`` for a large fleet (no network involved).

Usage: python -m bench.serve_metrics [--gateways 10000] [--runs 11] [--churn 0.05] [--naive]

It builds a `FleetView` of probed gateways (STARTTLS and implicit TLS with certificates, failed
probes, findings, unprobed ones) and times `MetricsExporter.render` in both formats: cold (a
fresh exporter formats every gateway), warm (nothing checked since the last scrape), churn
(that fraction of the fleet checked again since: 0.05 is a 15 s scrape of a 300 s cycle), and
churn when the app called `MetricsExporter.refresh` in between.
``--naive`` also times every gateway series built and written by prometheus_client alone.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics import exposition as openmetrics_exposition

from smtpcheck.reporters.prometheus import GATEWAY_FAMILIES as _FAMILIES
from smtpcheck.reporters.prometheus import gateway_labels, gateway_samples
from smtpcheck.results import (
    CertInfo,
    Endpoint,
    FailureKind,
    Finding,
    GatewayKind,
    GatewayReport,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Severity,
    Status,
    TlsInfo,
    TlsMode,
)
from smtpcheck.serve.metrics import MetricsExporter
from smtpcheck.serve.view import CycleStats, FleetView, GatewayState

_NOW = 1_780_000_000.0
_LABELS = (("region", "eu-central"), ("panel", "nord"))
_EXPIRING = Finding("SC607", "certificate-expires-soon", Severity.WARNING, "expires in 12 days")
_NO_GREETING = Finding("SC504", "no-greeting", Severity.ERROR, "no greeting came")
_PLAIN_465 = Finding("SC105", "plain-on-implicit-tls-port", Severity.ERROR, "port 465, no SSL")


def _tls(i: int) -> TlsInfo:
    cert = CertInfo(f"CN=smtp{i}.example.com", "CN=Example CA", (), "2031-03-01T12:00:00Z", 83)
    return TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", True, cert=cert)


def _probe(i: int, round_: int) -> tuple[Status, ProbeResult | None, tuple[Finding, ...]]:
    """Return a gateway's verdict: most work over STARTTLS, some fail, a few are not probed."""
    ms = (i * 7 + round_ * 13) % 50 / 10 + 0.1  # varies per gateway and per check
    kind = i % 20
    if kind < 14:  # STARTTLS on 587, with AUTH
        names: tuple[str, ...] = ("connect", "greeting", "ehlo", "starttls", "ehlo", "auth", "quit")
        steps = tuple(ProbeStep(name, True, ms + n) for n, name in enumerate(names))
        return Status.OK, ProbeResult(steps, ms * 9, tls=_tls(i)), ()
    if kind < 17:  # implicit TLS, one certificate expiring soon
        names = ("connect", "tls", "greeting", "ehlo", "quit")
        steps = tuple(ProbeStep(name, True, ms + n) for n, name in enumerate(names))
        return Status.WARNING, ProbeResult(steps, ms * 6, tls=_tls(i)), (_EXPIRING,)
    if kind < 19:  # plain SMTP on 465: the greeting never comes
        steps = (ProbeStep("connect", True, ms), ProbeStep("greeting", False, 10000.0))
        failure = ProbeFailure(FailureKind.NO_GREETING, "no greeting in 10 s")
        return Status.FAILED, ProbeResult(steps, 10000 + ms, failure), (_PLAIN_465, _NO_GREETING)
    return Status.SKIPPED, None, ()  # a leasable gateway: not checked


def _state(i: int, round_: int) -> GatewayState:
    status, probe, findings = _probe(i, round_)
    report = GatewayReport(
        id=i,
        label=f"Dealer {i} — Nord",
        kind=GatewayKind.LEASABLE if probe is None else GatewayKind.OWN,
        source="panel.json",
        status=status,
        endpoint=Endpoint(f"smtp{i}.example.com", 465 if i % 20 >= 14 else 587, TlsMode.STARTTLS),
        findings=findings,
        probe=probe,
    )
    failing = status is Status.FAILED
    checked = _NOW + round_ * 300 + i * 0.03
    return GatewayState(
        key=str(i),
        report=report,
        checked_at=checked,
        duration_s=(probe.ms if probe else 0.0) / 1000,
        consecutive_failures=round_ + 1 if failing else 0,
        failing_since=_NOW if failing else None,
        last_change=_NOW - 3600 if i % 10 == 0 else None,
    )


def fleet(size: int) -> FleetView:
    """Return a view of `size` gateways after some complete cycles."""
    return FleetView(
        gateways=tuple(_state(i, 0) for i in range(1, size + 1)),
        cycle=CycleStats(number=12, started=_NOW - 290, finished=_NOW, lag_s=0.0),
        list_loaded_at=_NOW - 3600,
        started_at=_NOW - 4000,
    )


def rechecked(view: FleetView, fraction: float, round_: int) -> FleetView:
    """Return the view with every 1/fraction-th gateway checked again (new state objects)."""
    step = max(1, round(1 / fraction)) if fraction > 0 else 0
    gateways = tuple(
        _state(int(g.key), round_) if step and n % step == round_ % step else g
        for n, g in enumerate(view.gateways)
    )
    return FleetView(gateways=gateways, cycle=view.cycle, list_loaded_at=view.list_loaded_at)


class _Naive:
    """Every gateway series built and written by prometheus_client, for comparison."""

    def __init__(self, view: FleetView) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        families = {f.name: GaugeMetricFamily(f.name, f.help, unit=f.unit) for f in _FAMILIES}
        for state in self.view.gateways:
            base = dict((*_LABELS, *gateway_labels(state.key, state.report)))
            for name, labels, value in gateway_samples(state.report):
                families[name].add_sample(name, {**base, **dict(labels)}, float(value))
        return [family for family in families.values() if family.samples]


class _Cases:
    """The timed renders of one view in one format."""

    def __init__(self, view: FleetView, openmetrics: bool, churn: float) -> None:
        self.view = view
        self.openmetrics = openmetrics
        self.churn = churn
        self.exporter = MetricsExporter(labels=_LABELS, view=view)
        self.rounds = itertools.count(1)
        self.naive = CollectorRegistry()
        self.naive.register(_Naive(view))

    def render(self) -> bytes:
        return self.exporter.render(openmetrics=self.openmetrics)[0]

    def fresh(self) -> None:
        self.exporter = MetricsExporter(labels=_LABELS, view=self.view)

    def recheck(self) -> None:
        self.exporter.view = rechecked(self.exporter.view, self.churn, next(self.rounds))

    def recheck_and_refresh(self) -> None:
        self.recheck()
        self.exporter.refresh()  # what the app may do between scrapes, off the scrape

    def render_naive(self) -> bytes:
        if self.openmetrics:
            body: bytes = openmetrics_exposition.generate_latest(self.naive)  # type: ignore[no-untyped-call]
            return body
        return generate_latest(self.naive)


def _median_ms(render: Callable[[], bytes], runs: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _row(case: str, fmt: str, ms: float, body: bytes) -> None:
    lines = body.count(b"\n")
    print(f"| {case} | {fmt} | {ms:.1f} | {len(body) / 2**20:.1f} | {lines:,} |")


def _nothing() -> None:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--churn", type=float, default=0.05)
    parser.add_argument("--naive", action="store_true")
    args = parser.parse_args()
    print(f"$ {shlex.join(['python', '-m', 'bench.serve_metrics', *sys.argv[1:]])}")
    view = fleet(args.gateways)
    print(f"{args.gateways} gateways, median of {args.runs} runs\n")
    print("| case | format | median ms | body MiB | lines |\n|---|---|---:|---:|---:|")
    for openmetrics in (False, True):
        fmt = "OpenMetrics" if openmetrics else "text 0.0.4"
        cases = _Cases(view, openmetrics, args.churn)
        _row(
            "cold: every gateway formatted",
            fmt,
            _median_ms(cases.render, args.runs, cases.fresh),
            cases.render(),
        )
        _row(
            "warm: nothing checked since",
            fmt,
            _median_ms(cases.render, args.runs, _nothing),
            cases.render(),
        )
        churn = f"churn: {args.churn:.0%} checked since"
        _row(churn, fmt, _median_ms(cases.render, args.runs, cases.recheck), cases.render())
        refreshed = _median_ms(cases.render, args.runs, cases.recheck_and_refresh)
        _row(f"{churn}, refreshed before", fmt, refreshed, cases.render())
        if args.naive:  # seconds a run: fewer runs
            naive = _median_ms(cases.render_naive, max(1, args.runs // 4), _nothing)
            _row("naive: all in prometheus_client", fmt, naive, cases.render_naive())


if __name__ == "__main__":
    main()
