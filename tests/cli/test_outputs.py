"""One run, several outputs: ``--report FORMAT=PATH``, ``--label``, and ``smtpcheck samples``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.cli import smtpcheck

__all__: list[str] = []

SAMPLES = Path(__file__).parent.parent.parent / "sample_configs"
CONFIG = str(SAMPLES / "starttls-587.json")
MISTAKES = str(SAMPLES / "mistakes")


def test_every_report_file_renders_the_same_run(tmp_path):
    main, again, junit, text = (tmp_path / n for n in ("a.json", "b.json", "c.xml", "d.txt"))
    run = smtpcheck(
        "validate", "--format", "json", "-o", str(main), "--report", f"json={again}",
        "--report", f"junit={junit}", "--report", f"text={text}", MISTAKES,
    )  # fmt: skip
    assert run.code == 1 and run.stdout == "", run
    # Byte for byte: one report, so even its start time is the same in both files.
    assert main.read_bytes() == again.read_bytes()
    report = json.loads(main.read_text())
    failures = sum(int(s.get("failures", 0)) for s in ET.parse(junit).getroot().iter("testsuite"))
    assert failures == report["summary"]["failed"] > 0
    assert f"{report['summary']['gateways']} gateways" in text.read_text()
    assert "\x1b[" not in text.read_text()  # a file never gets colour


def test_a_report_file_beside_standard_output(tmp_path):
    run = smtpcheck("validate", "--report", f"json={tmp_path / 'r.json'}", CONFIG)
    assert run.code == 0 and "1 gateway" in run.stdout, run
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["ok"] == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-o", "{d}/same.json", "--report", "json={d}/same.json"], "is written twice"),
        (["--report", "json={d}/x", "--report", "junit={d}/./x"], "is written twice"),
        (["--report", "json={d}/no/such/dir/r.json"], "does not exist"),
        (["--report", "json"], "give FORMAT=PATH"),
        (["--report", "=r.json"], "is not a format"),
        (["--report", "json="], "give FORMAT=PATH"),
        (["--report", f"json={CONFIG}"], "input"),
    ],
)
def test_a_report_that_cannot_be_written_stops_the_run_before_anything(tmp_path, args, said):
    argv = [a.replace("{d}", str(tmp_path)) for a in args]
    run = smtpcheck("validate", *argv, CONFIG)
    assert run.code == 2 and run.stdout == "", run
    assert run.stderr.startswith("smtpcheck: error: ") and said in run.stderr, run
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert json.loads(Path(CONFIG).read_text())["id"] == 101  # the input is untouched


def test_labels_go_on_every_prometheus_sample(tmp_path):
    prom = tmp_path / "fleet.prom"
    run = smtpcheck(
        "validate", "--format", "json", "--report", f"prometheus={prom}",
        "--label", "region=eu", "--label", 'panel=a "b"\\c', MISTAKES,
    )  # fmt: skip
    assert run.code == 1, run
    samples = [line for line in prom.read_text().splitlines() if not line.startswith("#")]
    assert samples
    for line in samples:
        assert 'region="eu"' in line and 'panel="a \\"b\\"\\\\c"' in line, line
    assert "region" not in run.stdout  # JSON has no labels


@pytest.mark.parametrize("name", ["__x", "1a", "a-b", "", "gateway"])
def test_a_label_name_prometheus_cannot_take_is_refused(name):
    run = smtpcheck("validate", "--format", "prometheus", "--label", f"{name}=v", CONFIG)
    assert run.code == 2 and run.stdout == "", run
    assert run.stderr.startswith("smtpcheck: error: Invalid value for '--label'"), run


@pytest.mark.parametrize(
    ("labels", "said"),
    [(["region="], "an empty one is no label"), (["a=1", "a=2"], "--label a given twice")],
)
def test_a_label_that_would_not_keep_files_apart_is_refused(labels, said):
    argv = [part for label in labels for part in ("--label", label)]
    run = smtpcheck("validate", "--format", "prometheus", *argv, CONFIG)
    assert run.code == 2 and said in run.stderr, run


def test_a_label_without_prometheus_output_is_refused():
    run = smtpcheck("validate", "--label", "region=eu", CONFIG)
    assert run.code == 2 and "--label labels Prometheus samples" in run.stderr, run


def test_samples_are_written_out_and_never_replaced_without_force(tmp_path):
    target = tmp_path / "configs"
    first = smtpcheck("samples", str(target))
    assert first.code == 0 and "wrote 13 sample files" in first.stderr, first
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*.*"))
    shipped = sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*.*")
        if "demo" not in p.relative_to(SAMPLES).parts
    )
    assert written == shipped
    assert smtpcheck("samples", str(target)).code == 0  # same content: nothing to refuse
    (target / "ci-mailpit.json").write_text("mine")
    refused = smtpcheck("samples", str(target))
    assert refused.code == 2 and "ci-mailpit.json already exists" in refused.stderr, refused
    assert (target / "ci-mailpit.json").read_text() == "mine"
    assert smtpcheck("samples", "--force", str(target)).code == 0
    assert (target / "ci-mailpit.json").read_bytes() == (SAMPLES / "ci-mailpit.json").read_bytes()
    assert smtpcheck("validate", str(target / "ci-mailpit.json")).code == 0
