"""The JSON report keeps its documented shape (the shipped schema): other tools parse it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from smtpcheck.reporters import RenderOptions, render, report_to_dict
from smtpcheck.results import Report, Status
from tests.reporters.sample import (
    QUOTED_LABEL,
    UNICODE_LABEL,
    fleet_report,
    full_report,
    gateway,
)
from tests.support.report_schema import assert_valid_report

STATUSES = {"ok", "warning", "failed", "skipped", "error"}
HEAD = ["schema", "tool", "version", "started", "host", "summary", "findings", "gateways"]


@pytest.mark.parametrize("build", [full_report, fleet_report, lambda: Report(gateways=())])
def test_json_has_the_documented_shape(build):
    data = json.loads(render(build(), "json"))
    assert list(data) == HEAD
    assert data["schema"] == 2 and data["tool"] == "smtpcheck"
    assert_valid_report(data)  # every key and type: the shipped schema (test_json_schema.py)
    for entry in data["gateways"]:
        # What the schema cannot say. Schema 2: works is the probe's verdict, null when not
        # probed; a gateway that does not work has failed.
        assert entry["works"] is (None if entry["probe"] is None else entry["probe"]["ok"])
        if entry["works"] is False:
            assert entry["status"] == "failed", entry["id"]


def test_json_head_says_when_and_where_the_run_happened():
    started = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)
    report = replace(full_report(), started=started, host="ci-runner-7")
    head = json.loads(render(report, "json"))
    assert head["started"] == "2026-03-01T09:30:05Z" and head["host"] == "ci-runner-7"
    later = replace(
        report, started=datetime(2026, 3, 1, 11, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    )
    assert json.loads(render(later, "json"))["started"] == "2026-03-01T09:30:05Z"  # in UTC
    naive = replace(report, started=started.replace(tzinfo=None))  # taken as UTC, as promised
    assert json.loads(render(naive, "json"))["started"] == "2026-03-01T09:30:05Z"
    unknown = json.loads(render(full_report(), "json"))
    assert unknown["started"] is None and unknown["host"] is None


def test_json_data_holds_enum_members_that_are_written_as_their_values():
    data = report_to_dict(full_report())
    status = data["gateways"][0]["status"]
    assert status is Status.OK
    assert isinstance(status, str) and str.__eq__(status, "ok")
    assert json.dumps(status) == '"ok"'


def test_json_summary_matches_the_gateways():
    data = json.loads(render(full_report(), "json"))
    statuses = [g["status"] for g in data["gateways"]]
    assert data["summary"]["gateways"] == len(statuses)
    for status in STATUSES:
        assert data["summary"][status] == statuses.count(status), status


def test_json_keeps_labels_exactly():
    data = json.loads(render(full_report(), "json"))
    labels = [g["label"] for g in data["gateways"]]
    assert QUOTED_LABEL in labels and UNICODE_LABEL in labels
    assert UNICODE_LABEL in render(full_report(), "json")  # written as text, not \\u escapes


def test_json_is_report_to_dict():
    report = full_report()
    assert json.loads(render(report, "json")) == report_to_dict(report)
    verbose = render(report, "json", RenderOptions(verbose=True))
    assert json.loads(verbose) == report_to_dict(report, transcripts=True)


def test_json_transcript_only_with_verbose():
    plain = json.loads(render(full_report(), "json"))
    verbose = json.loads(render(full_report(), "json", RenderOptions(verbose=True)))
    assert "transcript" not in plain["gateways"][0]["probe"]
    assert verbose["gateways"][0]["probe"]["transcript"][2] == "C: AUTH PLAIN ********"


def test_json_survives_a_lone_surrogate_in_a_label():
    # json.loads accepts "\ud800", and such a string cannot be encoded as UTF-8 as it is.
    source = json.loads('{"label": "bad \\ud800 label"}')
    report = Report(gateways=(gateway(1, source["label"], Status.OK),))
    text = render(report, "json")
    text.encode("utf-8")
    assert json.loads(text)["gateways"][0]["label"] == source["label"]
