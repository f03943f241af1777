"""`/metrics` and `/probe` of serve, read back by their consumers' parsers.

The classic text format goes through promtool (Prometheus's own checker) and the strict parser
of tests/reporters/test_prometheus.py; OpenMetrics through prometheus_client's OpenMetrics
parser, since promtool 2.42 reads the classic format only. The real server scrapes both in
tests/serve/test_prometheus_server.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from prometheus_client.core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from smtpcheck.reporters import RenderOptions, render
from smtpcheck.reporters._common import gateway_keys
from smtpcheck.results import Status
from smtpcheck.serve.metrics import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    MetricsExporter,
    render_metrics,
    render_probe_metrics,
    wants_openmetrics,
)
from smtpcheck.serve.view import CycleStats, FleetView, GatewayState
from tests.reporters.sample import QUOTED_LABEL, full_report
from tests.reporters.test_prometheus import Family, parse_exposition
from tests.reporters.test_prometheus_consumers import HOSTILE, HOSTILE_WRITTEN
from tests.support.promtool import promtool_problems

NOW = 1_780_000_000.0
LABELS = (("region", "eu"),)
#: What Prometheus 2.42 sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
STATE_FAMILIES = (
    "smtpcheck_gateway_last_check_timestamp_seconds",
    "smtpcheck_gateway_consecutive_failures",
    "smtpcheck_gateway_failing_since_timestamp_seconds",
    "smtpcheck_gateway_last_change_timestamp_seconds",
)
CYCLE_FAMILIES = (
    "smtpcheck_cycle_duration_seconds",
    "smtpcheck_cycle_lag_seconds",
    "smtpcheck_cycle_last_completed_timestamp_seconds",
)


def sample_states() -> tuple[GatewayState, ...]:
    """Return full_report's gateways as serve holds them: the failed ones failing a while."""
    report = full_report()
    states = []
    for n, (key, gateway) in enumerate(
        zip(gateway_keys(report.gateways), report.gateways, strict=True)
    ):
        failing = gateway.status in (Status.FAILED, Status.ERROR)
        states.append(
            GatewayState(
                key=key,
                report=gateway,
                checked_at=NOW + n,
                duration_s=0.5 + n / 10,
                consecutive_failures=3 if failing else 0,
                failing_since=NOW - 600 if failing else None,
                last_change=NOW - 600 if failing else (None if n % 2 else NOW - 7200.25),
            )
        )
    return tuple(states)


def sample_view(**changes: object) -> FleetView:
    """Return a fleet after seven complete cycles; ``changes`` replace its fields."""
    view = FleetView(
        gateways=sample_states(),
        findings=full_report().findings,
        cycle=CycleStats(number=7, started=NOW - 30, finished=NOW, lag_s=1.5),
        interval_s=60.0,
        list_loaded_at=NOW - 3600,
        started_at=NOW - 7200,
    )
    return dataclasses.replace(view, **changes)  # type: ignore[arg-type]


def text_of(view: FleetView, labels: Iterable[tuple[str, str]] = LABELS) -> str:
    body, content_type = render_metrics(view, labels=tuple(labels), openmetrics=False)
    assert content_type == TEXT_CONTENT_TYPE
    return body.decode("utf-8")


def openmetrics_of(view: FleetView, labels: Iterable[tuple[str, str]] = LABELS) -> str:
    body, content_type = render_metrics(view, labels=tuple(labels), openmetrics=True)
    assert content_type == OPENMETRICS_CONTENT_TYPE
    return body.decode("utf-8")


def parse_openmetrics(text: str) -> dict[str, Metric]:
    """Parse with prometheus_client's OpenMetrics parser; ValueError when it refuses."""
    families = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    return {family.name: family for family in families}


def values(family: Family, **wanted: str) -> list[float]:
    return [v for k, v in family.samples.items() if set(wanted.items()) <= k]


def by_gateway(family: Family) -> dict[str, float]:
    return {dict(k)["gateway"]: v for k, v in family.samples.items()}


# --- the formats, as their consumers read them -----------------------------------------------


def test_metrics_text_passes_promtool_with_hostile_labels(promtool):
    view = sample_view()
    hostile = dataclasses.replace(view.gateways[0].report, label=HOSTILE)
    view = dataclasses.replace(
        view, gateways=(dataclasses.replace(view.gateways[0], report=hostile), *view.gateways[1:])
    )
    text = text_of(view, (("region", "eu"), ("panel", HOSTILE)))
    assert promtool_problems(text, promtool) == ()
    metrics = parse_exposition(text)  # HELP and TYPE on every family, no duplicate series
    info = metrics["smtpcheck_gateway_info"]
    assert values(info, gateway="1", label=HOSTILE_WRITTEN, panel=HOSTILE_WRITTEN) == [1]
    assert values(metrics["python_info"], panel=HOSTILE_WRITTEN) == [1]


def test_metrics_openmetrics_passes_the_openmetrics_parser():
    text = openmetrics_of(sample_view())
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    families = parse_openmetrics(text)
    # OpenMetrics names a counter without its _total, which only its sample has.
    assert families["smtpcheck_cycles"].type == "counter"
    assert [s.name for s in families["smtpcheck_cycles"].samples] == ["smtpcheck_cycles_total"]
    assert families["smtpcheck_probe_step_duration_seconds"].unit == "seconds"
    assert families["smtpcheck_cycle_lag_seconds"].unit == "seconds"
    assert families["smtpcheck_gateway_info"].type == "gauge"  # a gauge, as check writes it
    assert families["process_cpu_seconds"].type == "counter"
    info = families["smtpcheck_gateway_info"].samples
    assert [s.labels["label"] for s in info if s.labels["gateway"] == "3"] == [QUOTED_LABEL]


@pytest.mark.parametrize(
    "broken",
    [
        "# TYPE m gauge\nm 1\n",  # no "# EOF"
        # The classic format's counter: OpenMetrics names the family without _total.
        "# HELP m_total x\n# TYPE m_total counter\nm_total 1\n# EOF\n",
        "# TYPE m_seconds gauge\n# UNIT m_seconds bytes\nm_seconds 1\n# EOF\n",
        '# TYPE m gauge\nm{a="1"} 1\n# TYPE n gauge\nn 1\nm{a="2"} 1\n# EOF\n',  # split
    ],
)
def test_the_openmetrics_parser_refuses_a_broken_document(broken):
    with pytest.raises(ValueError):
        parse_openmetrics(broken)


def test_promtool_reads_the_classic_format_only(promtool):
    # Observed with promtool 2.42: OpenMetrics' counter family (no _total) leaves the sample
    # without a HELP, so the OpenMetrics body is checked by the parser above instead.
    problems = promtool_problems(openmetrics_of(sample_view()), promtool)
    assert any("smtpcheck_cycles_total no help text" in line for line in problems), problems


def test_metrics_gateway_series_are_the_facts_check_writes():
    view = sample_view()
    served = parse_exposition(text_of(view))
    written = parse_exposition(render(view.report(), "prometheus", RenderOptions(labels=LABELS)))
    for name, family in written.items():
        assert served[name].help == family.help and served[name].type == family.type, name
        assert served[name].samples == family.samples, name


def test_metrics_sample_lines_of_a_gateway_are_checks_own():
    # Not only the same facts: the very lines of the textfile, from the one formatter.
    view = sample_view()
    served = set(text_of(view).splitlines())
    written = render(view.report(), "prometheus", RenderOptions(labels=LABELS)).splitlines()
    gateway_lines = [line for line in written if 'gateway="' in line]
    assert gateway_lines and all(line in served for line in gateway_lines)


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text", "openmetrics"])
def test_metrics_constant_labels_are_on_every_series(openmetrics):
    labels = (("region", "eu"), ("panel", "nord"))
    body, _ = render_metrics(sample_view(), labels=labels, openmetrics=openmetrics)
    if openmetrics:
        samples = [s for f in parse_openmetrics(body.decode()).values() for s in f.samples]
    else:
        parsed = parse_exposition(body.decode())
        samples = [Sample(n, dict(k), v) for n, f in parsed.items() for k, v in f.samples.items()]
    assert {s.name for s in samples} >= {"process_resident_memory_bytes", "python_info"}
    for sample in samples:
        assert set(labels) <= set(sample.labels.items()), sample


# --- what only serve has ---------------------------------------------------------------------


def test_metrics_serve_series_of_each_gateway():
    view = sample_view()
    metrics = parse_exposition(text_of(view))
    last_check = by_gateway(metrics["smtpcheck_gateway_last_check_timestamp_seconds"])
    failures = by_gateway(metrics["smtpcheck_gateway_consecutive_failures"])
    since = by_gateway(metrics["smtpcheck_gateway_failing_since_timestamp_seconds"])
    change = by_gateway(metrics["smtpcheck_gateway_last_change_timestamp_seconds"])
    for state in view.gateways:
        assert last_check[state.key] == state.checked_at, state.key
        assert failures[state.key] == state.consecutive_failures, state.key
        assert since.get(state.key) == state.failing_since, state.key  # absent: not failing
        assert change.get(state.key) == state.last_change, state.key  # absent: never changed
    assert since and len(since) < len(view.gateways)
    assert change and len(change) < len(view.gateways)
    assert change["1"] == NOW - 7200.25  # a fraction of a second survives


def test_metrics_fleet_series_after_cycles():
    metrics = parse_exposition(text_of(sample_view(list_error="panel answered 503")))
    assert values(metrics["smtpcheck_up"]) == [1]
    assert values(metrics["smtpcheck_cycles_total"]) == [7]
    assert metrics["smtpcheck_cycles_total"].type == "counter"
    assert values(metrics["smtpcheck_cycle_interval_seconds"]) == [60]
    assert values(metrics["smtpcheck_cycle_duration_seconds"]) == [30]
    assert values(metrics["smtpcheck_cycle_lag_seconds"]) == [1.5]
    assert values(metrics["smtpcheck_cycle_last_completed_timestamp_seconds"]) == [NOW]
    assert values(metrics["smtpcheck_list_loaded_timestamp_seconds"]) == [NOW - 3600]
    assert values(metrics["smtpcheck_list_reload_failing"]) == [1]
    assert values(metrics["smtpcheck_gateways"], status="failed") == [3]
    assert values(metrics["smtpcheck_source_findings"], code="SC001", source="broken.json") == [1]


def test_metrics_fleet_series_before_the_first_cycle():
    view = sample_view(cycle=None, list_loaded_at=None)
    metrics = parse_exposition(text_of(view))
    assert values(metrics["smtpcheck_cycles_total"]) == [0]  # a counter is there from the start
    for name in (*CYCLE_FAMILIES, "smtpcheck_list_loaded_timestamp_seconds"):
        assert name not in metrics, name
    assert values(metrics["smtpcheck_list_reload_failing"]) == [0]
    assert values(metrics["smtpcheck_up"]) == [1]


def test_metrics_of_an_empty_fleet(promtool):
    text = text_of(FleetView())
    assert promtool_problems(text, promtool) == ()
    metrics = parse_exposition(text)
    assert not [name for name in metrics if name.startswith("smtpcheck_gateway_")]
    assert {v for v in metrics["smtpcheck_gateways"].samples.values()} == {0}
    assert "smtpcheck_source_findings" not in metrics  # no findings: the family is left out


def test_metrics_follow_the_view_they_are_given():
    exporter = MetricsExporter(labels=LABELS)
    first = sample_view()
    again = dataclasses.replace(first.gateways[1], consecutive_failures=5)  # a new object
    same = dataclasses.replace(first.gateways[2])  # equal, rebuilt around the same report
    second = dataclasses.replace(first, gateways=(first.gateways[0], again, same))

    def smtpcheck(view: FleetView) -> dict[str, Family]:
        parsed = parse_exposition(exporter.render(view)[0].decode())
        return {name: f for name, f in parsed.items() if name.startswith("smtpcheck_")}

    before = smtpcheck(first)
    after = smtpcheck(second)
    assert by_gateway(after["smtpcheck_gateway_consecutive_failures"]) == {"1": 0, "2": 5, "3": 0}
    assert set(by_gateway(after["smtpcheck_gateway_works"])) == {"1", "3"}  # the rest are gone
    assert smtpcheck(first) == before  # and back: nothing kept from the second view
    exporter.view = second
    exporter.refresh()
    assert smtpcheck(second) == after == _fresh(second)


def _fresh(view: FleetView) -> dict[str, Family]:
    parsed = parse_exposition(MetricsExporter(labels=LABELS).render(view)[0].decode())
    return {name: f for name, f in parsed.items() if name.startswith("smtpcheck_")}


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ((("status", "x"),), "'status' is one smtpcheck already puts"),
        ((("region", "eu"), ("region", "us")), "'region' is given more than once"),
        ((("major", "3"),), "'major' is one python_info already puts"),
    ],
)
def test_metrics_exporter_refuses_a_bad_constant_label(labels, message):
    with pytest.raises(ValueError, match=message):
        MetricsExporter(labels=labels)
    with pytest.raises(ValueError, match=message):
        render_metrics(sample_view(), labels=labels)


# --- /probe ------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(sample_states())))
def test_probe_has_that_gateway_series_only(index, promtool):
    view = sample_view()
    state = view.gateways[index]
    body, content_type = render_probe_metrics(state, labels=LABELS)
    assert content_type == TEXT_CONTENT_TYPE
    assert promtool_problems(body.decode(), promtool) == ()
    probe = parse_exposition(body.decode())
    assert {dict(k)["gateway"] for f in probe.values() for k in f.samples} == {state.key}
    everything = parse_exposition(text_of(view))
    for name, family in probe.items():  # the same series as in /metrics...
        shared = {k: v for k, v in everything[name].samples.items() if k in family.samples}
        if state.report.probe is None and name in _BLACKBOX:
            assert family.samples == {k: 0 for k in family.samples} and not shared, name
        else:
            assert family.samples == shared, name
    assert set(_BLACKBOX) <= set(probe)  # ...and these two always, as blackbox_exporter's
    assert set(STATE_FAMILIES[:2]) <= set(probe)
    assert all(name.startswith("smtpcheck_") for name in probe)  # no process_*, python_info
    assert "smtpcheck_up" not in probe and "smtpcheck_gateways" not in probe


_BLACKBOX = ("smtpcheck_probe_success", "smtpcheck_probe_duration_seconds")


def test_probe_in_openmetrics():
    state = sample_view().gateways[5]  # not probed
    body, content_type = render_probe_metrics(state, labels=LABELS, openmetrics=True)
    assert content_type == OPENMETRICS_CONTENT_TYPE
    families = parse_openmetrics(body.decode())
    assert [s.value for s in families["smtpcheck_probe_success"].samples] == [0]
    assert "process_cpu_seconds" not in families and "smtpcheck_up" not in families


# --- content negotiation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PROMETHEUS_ACCEPT, True),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
        ("Application/OpenMetrics-Text", True),
        ("text/plain, application/openmetrics-text", True),  # a tie: OpenMetrics
        ("text/plain;version=0.0.4", False),
        ("text/plain, application/openmetrics-text;q=0.5", False),
        ("application/openmetrics-text;q=0", False),  # refused
        ("application/openmetrics-text;q=0.9, */*", False),
        ("application/openmetrics-text;q=oops", False),  # an unreadable q chooses nothing
        ("*/*", False),
        ("", False),
        (None, False),
    ],
)
def test_wants_openmetrics(accept, expected):
    assert wants_openmetrics(accept) is expected
