"""The textfile output read by its real consumers: node_exporter's textfile collector, promtool.

node_exporter (Debian ``prometheus-node-exporter``) runs on 127.0.0.1 with only the textfile
collector, and is scraped as Prometheus would; promtool (Debian ``prometheus``) checks reports
from the real pipeline. Without either the tests are skipped, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from smtpcheck.config.documents import SourceDocument
from smtpcheck.config.loading import load_paths, parse_document
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.validate import validate
from smtpcheck.reporters import RenderOptions, render
from smtpcheck.results import Report
from tests.reporters.sample import QUOTED_LABEL, fleet_report, full_report
from tests.reporters.test_prometheus import Family, parse_exposition
from tests.support.gate import refuse
from tests.support.gateways import gateway, run_check
from tests.support.promtool import RenderWatch, promtool_problems
from tests.support.servers import HOST, Smtpd

SAMPLES = Path(__file__).parent.parent.parent / "sample_configs"
_NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"  # Debian's name for node_exporter
_START_TIMEOUT = 10.0
#: What a hand-filled label or a --label value can hold: the three escapes, controls kept raw,
#: a lone surrogate from JSON ("\ud800") and one from an undecodable argv byte, and non-BMP.
HOSTILE = 'say "hi" \\ C:\\new\nline \ud800 lone \udcff byte 📧 \x00 nul \t tab \r cr'
#: The same value as a UTF-8 file can hold it: each lone surrogate is U+FFFD.
HOSTILE_WRITTEN = HOSTILE.replace("\ud800", "\ufffd").replace("\udcff", "\ufffd")
HOSTILE_LABELS = (("region", HOSTILE), ("panel", "👾 nord"))


# --- promtool ------------------------------------------------------------------------------


def _accepted(text: str, promtool: str) -> dict[str, Family]:
    assert promtool_problems(text, promtool) == ()
    return parse_exposition(text)


def _hostile_document() -> SourceDocument:
    good = gateway(587, host="mail.test", gid=1)
    good["label"] = HOSTILE
    bad_host = gateway(25, host='bad"host\\\nname', gid=2)  # SC102, never connected to
    bad_host["label"] = "📧" * 3
    # Through JSON bytes, as a file is read: json writes the lone surrogate as "\ud800".
    data = json.dumps([good, bad_host]).encode("ascii")
    return parse_document(data, source="hostile\udcff.json", environ={})


def test_promtool_accepts_validate_of_every_sample_config_with_hostile_labels(promtool):
    documents = [*load_paths([str(SAMPLES)], environ={}), _hostile_document()]
    report = validate(documents, LintOptions())
    text = render(report, "prometheus", RenderOptions(labels=HOSTILE_LABELS))
    metrics = _accepted(text, promtool)
    info = metrics["smtpcheck_gateway_info"]
    assert len(info.samples) == len(report.gateways)
    assert all(dict(series)["region"] == HOSTILE_WRITTEN for series in info.samples), "region"
    labels = {dict(series)["label"] for series in info.samples}
    assert HOSTILE_WRITTEN in labels and "📧📧📧" in labels
    assert 'bad"host\\\nname' in {dict(series)["host"] for series in info.samples}
    assert any(dict(s)["code"] == "SC102" for s in metrics["smtpcheck_config_findings"].samples)


async def test_promtool_accepts_a_live_check_with_hostile_labels(
    smtp_server, certs, options, promtool
):
    server = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    with socket.socket() as refusing:  # bound, never listening: refuses at once
        refusing.bind((HOST, 0))
        gateways = [gateway(server.port, gid=1), gateway(refusing.getsockname()[1], gid=2)]
        for item in gateways:
            item["label"] = HOSTILE
        report = await run_check(gateways, options)
    text = render(report, "prometheus", RenderOptions(labels=HOSTILE_LABELS))
    metrics = _accepted(text, promtool)
    success = {dict(k)["gateway"]: v for k, v in metrics["smtpcheck_probe_success"].samples.items()}
    assert success == {"1": 1, "2": 0}
    live = {
        (dict(k)["gateway"], dict(k)["code"]) for k in metrics["smtpcheck_live_findings"].samples
    }
    assert ("2", "SC502") in live  # connection refused: a live finding, not a config one
    assert _value(metrics["smtpcheck_tls_version_info"], gateway="1", version="TLSv1.3") == [1]
    assert len(metrics["smtpcheck_tls_cert_expiry_timestamp_seconds"].samples) == 1
    steps = metrics["smtpcheck_probe_step_duration_seconds"].samples
    assert {dict(k)["step"] for k in steps} >= {"starttls", "ehlo_2", "auth"}
    assert all(dict(k)["label"] == HOSTILE_WRITTEN for k in steps)


@pytest.mark.parametrize(
    ("broken", "said"),
    [
        ('# HELP m x\n# TYPE m gauge\nm{a="\\t"} 1\n', "invalid escape sequence"),
        ('# HELP m x\n# TYPE m gauge\nm{a="\ud800"} 1\n', "invalid label value"),
        ('# HELP m x\n# TYPE m gauge\nm{a="1"} 1\n# HELP m y\n', "second HELP line"),
        ("# TYPE m gauge\nm 1\n", "no help text"),
        ("# HELP m_total x\n# TYPE m_total gauge\nm_total 1\n", '"_total" suffix'),
        # What constant_label_problem refuses besides the grammar, promtool refuses too.
        ('# HELP m x\n# TYPE m gauge\nm{dataCenter="a"} 1\n', "camelCase"),
        ('# HELP m x\n# TYPE m gauge\nm{le="a"} 1\n', '"le" label'),
        ('# HELP m x\n# TYPE m gauge\nm{quantile="a"} 1\n', '"quantile" label'),
    ],
)
def test_promtool_reports_a_broken_exposition(promtool, broken, said):
    problems = promtool_problems(broken, promtool)
    assert any(said in line for line in problems), problems


def test_promtool_misses_duplicate_series_which_the_strict_parser_catches(promtool):
    twice = '# HELP m x\n# TYPE m gauge\nm{a="1"} 1\nm{a="1"} 2\n'
    assert promtool_problems(twice, promtool) == ()  # observed: promtool 2.42 lets it through
    with pytest.raises(AssertionError, match="duplicate series"):
        parse_exposition(twice)


def test_the_render_watch_fails_a_test_whose_output_promtool_refuses(promtool):
    watch = RenderWatch(lambda report, options: "# TYPE m gauge\nm 1\n")
    assert watch(full_report(), RenderOptions()) == "# TYPE m gauge\nm 1\n"
    with pytest.raises(pytest.fail.Exception, match="no help text"):
        watch.check(promtool)


# --- node_exporter's textfile collector ----------------------------------------------------


@dataclass
class TextfileCollector:
    """A running node_exporter that reads ``directory``; `scrape` is Prometheus's request."""

    directory: Path
    url: str
    log: Path

    def scrape(self) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=5.0) as client:  # no proxy for loopback
            return client.get(self.url)

    def text_of_log(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def write(self, name: str, report: Report, options: RenderOptions) -> None:
        # As a cron job should: write aside, then rename, so no half-written file is read.
        part = self.directory / f".{name}.tmp"
        part.write_bytes(render(report, "prometheus", options).encode("utf-8"))
        part.rename(self.directory / name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], collector: TextfileCollector) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"node_exporter exited {process.returncode}: {collector.text_of_log()}")
        try:
            if "node_textfile_scrape_error" in collector.scrape().text:  # it, not another server
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"node_exporter did not serve in {_START_TIMEOUT} s: {collector.text_of_log()}")


@pytest.fixture
def textfile_collector(tmp_path: Path) -> Iterator[TextfileCollector]:
    binary = shutil.which("prometheus-node-exporter") or _NODE_EXPORTER
    if not os.access(binary, os.X_OK):
        refuse("node_exporter is not installed (Debian: apt-get install prometheus-node-exporter)")
    directory = tmp_path / "textfile"
    directory.mkdir()
    port = _free_port()
    collector = TextfileCollector(directory, f"http://{HOST}:{port}/metrics", tmp_path / "log")
    argv = [
        binary,
        f"--web.listen-address={HOST}:{port}",
        "--web.disable-exporter-metrics",  # no go_* or process_* families in the scrape
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={directory}",
    ]
    with collector.log.open("wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        _wait_until_serving(process, collector)
        yield collector
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _value(family: Family, **wanted: str) -> list[float]:
    return [v for k, v in family.samples.items() if set(wanted.items()) <= k]


def test_node_exporter_keeps_two_fleets_apart_by_their_constant_labels(textfile_collector):
    # full_report: 3 gateways ok; fleet_report: 4. Same families, same own labels.
    textfile_collector.write("eu.prom", full_report(), RenderOptions(labels=(("region", "eu"),)))
    textfile_collector.write(
        "us.prom", fleet_report(), RenderOptions(labels=(("region", HOSTILE),))
    )
    response = textfile_collector.scrape()
    assert response.status_code == 200
    metrics = parse_exposition(response.text)
    totals = metrics["smtpcheck_gateways"]
    assert _value(totals, region="eu", status="ok") == [3]
    assert _value(totals, region=HOSTILE_WRITTEN, status="ok") == [4]  # re-escaped by Go, intact
    assert _value(metrics["node_textfile_scrape_error"]) == [0]
    for name, family in metrics.items():
        if name.startswith("smtpcheck_"):
            assert all({dict(k).get("region")} & {"eu", HOSTILE_WRITTEN} for k in family.samples)
    status = metrics["smtpcheck_gateway_status"]
    assert _value(status, region="eu", gateway="3", label=QUOTED_LABEL, status="warning") == [1]
    assert "was collected before" not in textfile_collector.text_of_log()


def test_node_exporter_without_constant_labels_drops_the_second_fleet(textfile_collector):
    # The collision issue 11 describes, as node_exporter 1.5 really behaves: the scrape still
    # succeeds and says no error, the series of the second file (by name) that the first has
    # already are dropped, and only its log tells.
    textfile_collector.write("eu.prom", full_report(), RenderOptions())
    textfile_collector.write("us.prom", fleet_report(), RenderOptions())
    response = textfile_collector.scrape()
    assert response.status_code == 200
    metrics = parse_exposition(response.text)
    assert _value(metrics["smtpcheck_gateways"], status="ok") == [3]  # eu's; us's 4 is lost
    assert _value(metrics["node_textfile_scrape_error"]) == [0]
    # Its gateways' own series do not collide, so the scrape is a silent mix of both fleets.
    assert _value(metrics["smtpcheck_gateway_status"], gateway="10", status="ok") == [1]
    log = _log_when(textfile_collector, "was collected before with the same name and label values")
    assert "smtpcheck_gateways" in log


def _log_when(collector: TextfileCollector, expected: str) -> str:
    # node_exporter logs a gathering error before it answers; allow the write a moment anyway.
    deadline = time.monotonic() + 2.0
    log = collector.text_of_log()
    while expected not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = collector.text_of_log()
    assert expected in log, log
    return log
