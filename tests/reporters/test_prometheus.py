"""The Prometheus output, read back with a strict parser of the text exposition format.

The parser is written here so that prometheus_client need not become even a dev dependency, and
it is deliberately strict: besides the grammar (names, quoting, the three escapes, float values,
UTF-8) it enforces what a textfile for node_exporter needs: every sample under its HELP and TYPE,
each family once, no duplicate series, no timestamps. promtool, the consumer's own checker, reads
every output the tests render as well (tests/support/promtool.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from smtpcheck.reporters import RenderOptions, prometheus, render
from smtpcheck.reporters.prometheus import constant_label_problem
from smtpcheck.results import Report, Status
from tests.reporters.sample import (
    QUOTED_LABEL,
    STARTTLS_PROBE,
    UNICODE_LABEL,
    fleet_report,
    full_report,
    gateway,
)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Inf|NaN)")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

Labels = frozenset[tuple[str, str]]


@dataclass
class Family:
    help: str
    type: str = ""
    samples: dict[Labels, float] = field(default_factory=dict)


def parse_exposition(text: str) -> dict[str, Family]:
    """Parse the text format strictly; raise AssertionError at the first thing out of place."""
    assert text.endswith("\n"), "the last line must end with a newline"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 file can hold it
        raise AssertionError(f"not writable as UTF-8: {exc}") from exc
    families: dict[str, Family] = {}
    current: str | None = None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, doc = line[len("# HELP ") :].partition(" ")
            assert _METRIC_NAME.fullmatch(name) and name not in families, where
            families[name] = Family(help=_help(doc, where))
            current = name
        elif line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE ") :].partition(" ")
            assert name == current and kind in _TYPES and not families[name].type, where
            families[name].type = kind
        else:
            assert line and not line.startswith("#"), where
            name, labels, value = _sample(line, where)
            assert name == current and families[name].type, f"{where}: outside its family"
            assert labels not in families[name].samples, f"{where}: duplicate series"
            families[name].samples[labels] = value
    return families


def _sample(line: str, where: str) -> tuple[str, Labels, float]:
    match = _METRIC_NAME.match(line)
    assert match, where
    name, rest = match.group(), line[match.end() :]
    labels: dict[str, str] = {}
    if rest.startswith("{"):
        rest = rest[1:]
        while not rest.startswith("}"):
            label = _LABEL_NAME.match(rest)
            assert label and rest[label.end() : label.end() + 2] == '="', where
            value, rest = _label_value(rest[label.end() + 2 :], where)
            assert label.group() not in labels, f"{where}: repeated label"
            labels[label.group()] = value
            if rest.startswith(","):
                rest = rest[1:]
        rest = rest[1:]
    assert rest.startswith(" "), where
    token = rest[1:]
    # A timestamp would be a second token: the textfile collector refuses those.
    assert _FLOAT.fullmatch(token), f"{where}: value {token!r}"
    return name, frozenset(labels.items()), float(token)


def _label_value(text: str, where: str) -> tuple[str, str]:
    chars = []
    i = 0
    while text[i] != '"':
        if text[i] == "\\":
            assert text[i + 1] in _ESCAPES, f"{where}: unknown escape \\{text[i + 1]}"
            chars.append(_ESCAPES[text[i + 1]])
            i += 2
        else:
            chars.append(text[i])
            i += 1
    return "".join(chars), text[i + 1 :]


def _help(text: str, where: str) -> str:
    # HELP knows two escapes only: a backslash and a line feed.
    parts = text.split("\\\\")
    for part in parts:
        assert re.fullmatch(r"([^\\]|\\n)*", part), f"{where}: unknown escape in HELP"
    return "\\".join(part.replace("\\n", "\n") for part in parts)


def _series(family: Family, **wanted: str) -> dict[Labels, float]:
    return {k: v for k, v in family.samples.items() if set(wanted.items()) <= k}


def _one(family: Family, **wanted: str) -> float:
    found = _series(family, **wanted)
    assert len(found) == 1, (wanted, found)
    return next(iter(found.values()))


@pytest.fixture
def metrics() -> dict[str, Family]:
    return parse_exposition(render(full_report(), "prometheus"))


def test_prometheus_families_are_documented_gauges(metrics):
    assert set(metrics) == {
        "smtpcheck_gateway_status",
        "smtpcheck_gateway_info",
        "smtpcheck_gateway_works",
        "smtpcheck_config_findings",
        "smtpcheck_live_findings",
        "smtpcheck_source_findings",
        "smtpcheck_gateways",
        "smtpcheck_probe_success",
        "smtpcheck_probe_duration_seconds",
        "smtpcheck_probe_step_duration_seconds",
        "smtpcheck_delivery_success",
        "smtpcheck_delivery_seconds",
        "smtpcheck_tls_version_info",
        "smtpcheck_tls_cert_expiry_timestamp_seconds",
    }
    for name, family in metrics.items():
        assert family.type == "gauge" and family.help, name


def test_prometheus_step_help_names_the_keys_it_writes(metrics):
    family = metrics["smtpcheck_probe_step_duration_seconds"]
    keys = {dict(k)["step"] for k in family.samples}
    assert "ehlo_2" in keys and "ehlo_2" in family.help and "step_2" not in family.help


def test_prometheus_status_is_one_hot_per_gateway(metrics):
    status = metrics["smtpcheck_gateway_status"]
    report = full_report()
    # the second id 1 stays its own series
    keys = ["1", "2", "3", "4", "5", "none", "6", "7", "1#2"]
    for key, gw in zip(keys, report.gateways, strict=True):
        per_gateway = _series(status, gateway=key)
        assert sorted(dict(k)["status"] for k in per_gateway) == sorted(s.value for s in Status)
        assert sum(per_gateway.values()) == 1, key
        assert _one(status, gateway=key, status=str(gw.status)) == 1, key


def test_prometheus_gateway_info_says_where_each_gateway_connects(metrics):
    info = metrics["smtpcheck_gateway_info"]
    assert len(info.samples) == len(full_report().gateways)  # every one, so joins keep them all
    assert set(info.samples.values()) == {1}
    assert _one(info, gateway="1", host="smtp.example.com", port="587", mode="starttls")
    assert _one(info, gateway="3", label=QUOTED_LABEL, port="465", mode="implicit")
    assert _one(info, gateway="7", host="2001:db8::25", mode="none")
    assert _one(info, gateway="none", host="", port="", mode="")  # no endpoint known


def test_prometheus_label_values_round_trip(metrics):
    status = metrics["smtpcheck_gateway_status"]
    assert _one(status, gateway="3", status="warning", label=QUOTED_LABEL) == 1
    assert _one(status, gateway="2", status="ok", label=UNICODE_LABEL) == 1
    assert _one(status, gateway="none", status="failed", label="") == 1


@pytest.mark.parametrize(
    "label",
    [
        "a\\nb",
        "a\nb",
        "end\\",
        '"',
        'x\\"y',
        "tab\tand\rreturn",
        "nul\0and\x1b[31m",
        "📧 \U0001d518",
    ],
    ids=repr,
)
def test_prometheus_escaping_is_exact(label):
    text = render(Report(gateways=(gateway(1, label, Status.OK),)), "prometheus")
    status = parse_exposition(text)["smtpcheck_gateway_status"]
    assert _one(status, status="ok", label=label) == 1


@pytest.mark.parametrize(
    ("label", "written"),
    [
        ("a\ud800b", "a\ufffdb"),  # lone high surrogate, as JSON's "\ud800" reads
        ("\udcff", "\ufffd"),  # an undecodable byte under surrogateescape
        ("\ud83d\udce7", "📧"),  # a pair left split is one character again
        ("\\ud800", "\\ud800"),  # the characters themselves stay what they are
    ],
    ids=ascii,
)
def test_prometheus_surrogates_become_what_utf8_can_hold(label, written):
    text = render(Report(gateways=(gateway(1, label, Status.OK),)), "prometheus")
    text.encode("utf-8")  # strict: would raise on a surrogate
    status = parse_exposition(text)["smtpcheck_gateway_status"]
    assert _one(status, status="ok", label=written) == 1


@pytest.mark.parametrize(
    ("help_text", "written"),
    [("a \\ b", "a \\\\ b"), ("two\nlines", "two\\nlines"), ('"quoted"', '"quoted"')],
)
def test_prometheus_help_escapes_backslash_and_newline(help_text, written):
    assert prometheus._help_text(help_text) == written
    assert parse_exposition(f"# HELP m {written}\n# TYPE m gauge\nm 1\n")["m"].help == help_text


def test_prometheus_constant_labels_are_on_every_sample():
    labels = (("region", "eu-1"), ("panel", 'Nord "A"\n\\'))
    metrics = parse_exposition(render(full_report(), "prometheus", RenderOptions(labels=labels)))
    bare = parse_exposition(render(full_report(), "prometheus"))
    assert set(metrics) == set(bare)
    for name, family in metrics.items():
        assert len(family.samples) == len(bare[name].samples), name
        for series in family.samples:
            assert set(labels) <= series, (name, series)
            assert frozenset(series - set(labels)) in bare[name].samples, (name, series)


def test_prometheus_own_label_names_are_the_refused_ones(metrics):
    used = {name for family in metrics.values() for series in family.samples for name, _ in series}
    assert used == prometheus._OWN_LABELS  # a label added to a series is refused as --label
    for name in used:
        assert "smtpcheck already puts" in (constant_label_problem(name) or ""), name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("region", None),
        ("_panel", None),
        ("dc2", None),
        ("DC", None),
        ("", "not a Prometheus label name"),
        ("2dc", "not a Prometheus label name"),
        ("data-center", "not a Prometheus label name"),
        ("région", "not a Prometheus label name"),
        ("a b", "not a Prometheus label name"),
        ("__name__", "reserves"),
        ("__region", "reserves"),
        ("le", "histograms and summaries"),
        ("quantile", "histograms and summaries"),
        ("gateway", "smtpcheck already puts"),
        ("severity", "smtpcheck already puts"),
        ("dataCenter", "camelCase, which promtool refuses: use 'data_center'"),
    ],
)
def test_constant_label_problem(name, problem):
    found = constant_label_problem(name)
    if problem is None:
        assert found is None, name
    else:
        assert found is not None and problem in found and repr(name) in found, found


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ((("status", "x"),), "'status' is one smtpcheck already puts"),
        ((("region", "eu"), ("region", "us")), "'region' is given more than once"),
    ],
)
def test_prometheus_render_refuses_a_bad_constant_label(labels, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        render(full_report(), "prometheus", RenderOptions(labels=labels))


def test_prometheus_probe_metrics(metrics):
    assert _one(metrics["smtpcheck_probe_success"], gateway="1") == 1
    assert _one(metrics["smtpcheck_probe_success"], gateway="4") == 0
    assert _series(metrics["smtpcheck_probe_success"], gateway="2") == {}  # never probed
    # works: the verdict, one series per probed gateway, apart from the findings gauge
    assert _one(metrics["smtpcheck_gateway_works"], gateway="3") == 1
    assert _one(metrics["smtpcheck_gateway_works"], gateway="4") == 0
    assert _series(metrics["smtpcheck_gateway_works"], gateway="2") == {}
    assert _one(metrics["smtpcheck_probe_duration_seconds"], gateway="1") == pytest.approx(0.00939)
    steps = _series(metrics["smtpcheck_probe_step_duration_seconds"], gateway="1")
    by_step = {dict(k)["step"]: v for k, v in steps.items()}
    expected = {step.name: step.ms / 1000 for step in STARTTLS_PROBE.steps}
    expected["ehlo"], expected["ehlo_2"] = 0.00031, 0.00036
    assert by_step == pytest.approx(expected)


def test_prometheus_tls_metrics(metrics):
    assert _one(metrics["smtpcheck_tls_version_info"], gateway="1", version="TLSv1.3") == 1
    assert _one(metrics["smtpcheck_tls_version_info"], gateway="3", version="TLSv1.2") == 1
    expiry = metrics["smtpcheck_tls_cert_expiry_timestamp_seconds"]
    assert _one(expiry, gateway="1") == datetime(2031, 3, 1, 12, tzinfo=UTC).timestamp()
    assert _one(expiry, gateway="3") == datetime(2030, 1, 12, tzinfo=UTC).timestamp()


def test_prometheus_findings_are_counted_static_apart_from_live(metrics):
    config, live = metrics["smtpcheck_config_findings"], metrics["smtpcheck_live_findings"]
    assert _one(config, gateway="4", code="SC105", severity="error") == 1
    assert _one(config, gateway="2", code="SC107", severity="info") == 1
    assert _one(config, gateway="none", code="SC002", severity="error") == 1
    assert _one(live, gateway="4", code="SC504", severity="error") == 1
    assert _one(live, gateway="3", code="SC607", severity="warning") == 1
    assert _one(live, gateway="7", code="SC901", severity="error") == 1  # SC9xx: the run's
    assert {dict(k)["code"][2] for k in config.samples} <= set("01234")
    assert {dict(k)["code"][2] for k in live.samples} <= set("56789")
    total = sum(config.samples.values()) + sum(live.samples.values())
    assert total == sum(len(g.findings) for g in full_report().gateways)
    sources = metrics["smtpcheck_source_findings"]
    assert _one(sources, source="broken.json", code="SC001", severity="error") == 1
    assert _one(sources, source="", code="SC005", severity="warning") == 1


def test_prometheus_run_counts(metrics):
    gateways = metrics["smtpcheck_gateways"]
    summary = full_report().summary
    for status in Status:
        assert _one(gateways, status=str(status)) == getattr(summary, status.value), status


def test_prometheus_fleet_without_findings_leaves_empty_families_out():
    metrics = parse_exposition(render(fleet_report(), "prometheus"))
    assert "smtpcheck_config_findings" not in metrics
    assert "smtpcheck_live_findings" not in metrics
    assert "smtpcheck_source_findings" not in metrics
    assert all(not math.isnan(v) for f in metrics.values() for v in f.samples.values())


@pytest.mark.parametrize(
    "bad",
    [
        'm{a="1"} 1\n',  # no HELP / TYPE
        '# HELP m x\n# TYPE m gauge\nm{a="1"} 1\nm{a="1"} 2\n',  # duplicate series
        '# HELP m x\n# TYPE m gauge\nm{a="\\t"} 1\n',  # unknown escape
        "# HELP m x\n# TYPE m gauge\nm 1 1700000000\n",  # timestamp
        "# HELP m x\n# TYPE m gauge\nm 1",  # no final newline
        '# HELP m x\n# TYPE m gauge\nm{a="\ud800"} 1\n',  # no UTF-8 file can hold it
        "# HELP m tab\\t\n# TYPE m gauge\nm 1\n",  # HELP knows \\ and \n only
    ],
)
def test_the_parser_itself_rejects_bad_exposition(bad):
    with pytest.raises(AssertionError):
        parse_exposition(bad)
