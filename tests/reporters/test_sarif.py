"""SARIF: real `validate` runs checked against the OASIS 2.1.0 schema, and regions counted by hand.

Each run goes the way the command line goes: sources read from files, `validate`, then the
locations and rule help that only SARIF asks for, then the reporter.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest

from smtpcheck._version import __version__
from smtpcheck.config.loading import STDIN, document_from_data, load_paths
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.locating import gateway_path, locations, rule_help
from smtpcheck.pipeline.validate import validate
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.reporters.sarif import PROJECT_URL, RULES_URL, render_sarif
from smtpcheck.results import Finding, Report, Severity, Status
from smtpcheck.rules.base import EXAMPLE_GATEWAY
from tests.reporters.sample import UNICODE_LABEL, full_report
from tests.reporters.sample import gateway as sample_gateway
from tests.support.gate import refuse

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "data" / "schemas" / "sarif-schema-2.1.0.json"

# The correct example gateway's params, as JSON object members on one line, without the port
# (and, in _NO_HOST, without the host): the hand-written files below put those keys where they
# want them and count columns on their own lines only.
_PARAMS = {
    k: v
    for k, v in cast(dict[str, object], EXAMPLE_GATEWAY["params"]).items()
    if k != "mail.smtp.port"
}
_REST = json.dumps(_PARAMS)[1:-1]
_NO_HOST = json.dumps({k: v for k, v in _PARAMS.items() if k != "mail.smtp.host"})[1:-1]

Log = dict[str, Any]


@functools.cache
def _validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # The schema names its own draft ($schema: draft-04 in the OASIS errata version).
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def schema() -> Any:
    # jsonschema checks "uri" and "uri-reference" only with a URI parser installed; without one
    # those formats pass unchecked and artifact URIs would go untested.
    if "uri-reference" not in jsonschema.FormatChecker().checkers:
        refuse("rfc3986-validator is not installed: SARIF URIs would not be format-checked")
    return _validator()


def _errors(validator: Any, log: Log) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)
    ]


def _sarif(report: Report, *, located: bool = True) -> Log:
    options = RenderOptions(
        locations=locations(report) if located else None,
        rule_help=rule_help(f.code for f in report.all_findings()),
    )
    text = render_sarif(report, options)
    text.encode("utf-8")  # what the command line writes: must not hold a lone surrogate
    log: Log = json.loads(text)
    return log


def _run(paths: Sequence[str], *, stdin: bytes | None = None) -> Log:
    documents = load_paths(paths, environ={}, stdin=io.BytesIO(stdin or b""))
    return _sarif(validate(documents, LintOptions()))


def _results(log: Log, code: str) -> list[Log]:
    return [r for r in log["runs"][0]["results"] if r["ruleId"] == code]


def _only(log: Log, code: str) -> Log:
    (result,) = _results(log, code)
    return result


def _region(result: Log) -> tuple[int, int, int, int]:
    region = result["locations"][0]["physicalLocation"]["region"]
    return (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"])


def _uri(result: Log) -> Log:
    artifact: Log = result["locations"][0]["physicalLocation"]["artifactLocation"]
    return artifact


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # sources named relatively, as in a checkout
    return tmp_path


# -- valid against the schema -----------------------------------------------------------------


@pytest.mark.parametrize(
    "paths",
    [
        ["sample_configs"],
        ["sample_configs/panel-list-response.json"],
        ["sample_configs/mistakes/typo-key.json", "sample_configs/ci-mailpit.json"],
        ["tests/data/tree"],
    ],
    ids=["sample-dir", "list-response", "two-files", "data-tree"],
)
def test_sarif_of_real_runs_is_valid(schema, monkeypatch, paths):
    monkeypatch.chdir(ROOT)
    log = _run(paths)
    assert _errors(schema, log) == []
    results = log["runs"][0]["results"]
    if paths[0] == "sample_configs":
        assert len(results) >= 14  # every mistake of the directory is reported
        for result in results:
            assert _uri(result)["uri"].startswith("sample_configs/"), result
            assert "region" in result["locations"][0]["physicalLocation"], result


def test_sarif_of_bad_json_non_ascii_and_odd_files_is_valid(schema, in_tmp):
    (in_tmp / "bad.json").write_text('{"id": 7, "label": "Dealer mail",}', encoding="utf-8")
    (in_tmp / "latin1.json").write_bytes(b'{"label": "Caf\xe9"}')
    (in_tmp / "nan.json").write_text('{"id": NaN}', encoding="utf-8")
    (in_tmp / "scalar.json").write_text('"hello"', encoding="utf-8")
    gateway = {**EXAMPLE_GATEWAY, "label": f"{UNICODE_LABEL} \U0001f4e7 \ud800"}
    gateway["params"] = {**_PARAMS, "mail.smtp.port": "587"}
    (in_tmp / "Zürich labels.json").write_text(json.dumps(gateway), encoding="utf-8")
    log = _run(["."])
    assert _errors(schema, log) == []
    assert sorted({r["ruleId"] for r in log["runs"][0]["results"]}) == [
        "SC001",
        "SC004",
        "SC009",
    ]
    assert _region(_only(log, "SC009")) == (1, 1, 1, 2)  # JSON, but no gateway: its start
    assert _uri(_only(log, "SC004")) == {
        "uri": "Z%C3%BCrich%20labels.json",
        "uriBaseId": "%SRCROOT%",
    }


def test_sarif_without_files_has_no_physical_location(schema):
    stdin = json.dumps([{**EXAMPLE_GATEWAY, "params": {**_PARAMS, "mail.smtp.port": "587"}}])
    panel = document_from_data(
        {"success": True, "bound_gateway": 99, "own": [], "leasable": []},
        source="https://api.example.com/v2/panel/gateways/email/list",
    )
    from_stdin = load_paths([STDIN], environ={}, stdin=io.BytesIO(stdin.encode()))
    report = validate([panel, *from_stdin], LintOptions())
    log = _sarif(report)
    assert _errors(schema, log) == []
    port = _only(log, "SC004")["locations"][0]
    assert "physicalLocation" not in port
    assert port["logicalLocations"] == [
        {"name": "gateway 7 'Dealer mail'", "fullyQualifiedName": "<stdin>[0] → mail.smtp.port"}
    ]
    bound = _only(log, "SC007")["locations"][0]
    assert bound == {"logicalLocations": [{"name": panel.source}]}


def test_sarif_of_a_hand_built_report_without_locations_is_valid(schema):
    log = json.loads(render_sarif(full_report(), RenderOptions()))
    assert _errors(schema, log) == []
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    # No rule help was given: each rule is still described, by its slug.
    assert all(r["shortDescription"]["text"] == r["name"] for r in rules)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda log: _first_region(log).update(startColumn=0), "less than the minimum of 1"),
        (lambda log: log["runs"][0]["results"][0].update(level="fatal"), "is not one of"),
        (lambda log: log.pop("version"), "'version' is a required property"),
        (lambda log: _first_artifact(log).update(uri="has space.json"), "is not a 'uri-reference'"),
        (lambda log: log["runs"][0]["results"][0].update(kind="bug"), "is not one of"),
        (lambda log: log.update(extra=1), "Additional properties are not allowed"),
    ],
    ids=["column-0", "level", "no-version", "bad-uri", "kind", "extra-property"],
)
def test_sarif_schema_check_refuses_a_broken_log(schema, monkeypatch, change, complaint):
    monkeypatch.chdir(ROOT)
    log = _run(["sample_configs/mistakes/string-port.json"])
    assert _errors(schema, log) == []
    change(log)
    errors = _errors(schema, log)
    assert any(complaint in e for e in errors), errors


def _first_region(log: Log) -> Log:
    region: Log = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    return region


def _first_artifact(log: Log) -> Log:
    return _uri(log["runs"][0]["results"][0])


# -- regions at the offending key (columns counted by hand, in UTF-16 code units) -------------

_FLEET = (
    "[\n"
    '  {"id": 1, "label": "\U0001f4e7 Zürich", "provider": "mandrill_smtp", "leasable": false,'
    ' "params": {}},\n'
    '  {"id": 2, "label": "b \\"}]", "provider": "smtp", "leasable": false},\n'
    "  {\n"
    '    "id": 3, "label": "c", "provider": "smtp", "leasable": false,\n'
    '    "params": {\n'
    '      "mail.smtp.port": 25,\n'
    '      "mail.smtp.port": "587",\n'
    f"      {_NO_HOST}\n"
    "    }\n"
    "  }\n"
    "]\n"
)


def test_sarif_regions_in_an_array_file(in_tmp):
    (in_tmp / "fleet.json").write_text(_FLEET, encoding="utf-8")
    log = _run(["fleet.json"])
    # [0]: "provider" is a gateway field, after a label holding 📧 (two UTF-16 units).
    assert _region(_only(log, "SC006")) == (2, 35, 2, 45)
    # [1]: params is required but absent, so the gateway's own brace; the label's escaped
    # quote and brackets do not end the object early.
    assert _region(_only(log, "SC002")) == (3, 3, 3, 4)
    # [2]: the port is written twice; JSON and JavaMail read the second, so point there.
    assert _region(_only(log, "SC004")) == (8, 7, 8, 23)
    # [2]: the host is absent from params: point at "params".
    assert _region(_only(log, "SC101")) == (6, 5, 6, 13)
    assert _uri(_only(log, "SC004")) == {"uri": "fleet.json", "uriBaseId": "%SRCROOT%"}


def test_sarif_regions_in_a_list_response(in_tmp):
    text = (
        "{\n"
        '  "success": true,\n'
        '  "bound_gateway": 99,\n'
        '  "own": [\n'
        '    {"id": 1, "label": "a", "provider": "smtp", "leasable": false,\n'
        f'     "params": {{"mail.smtp.port": "587", {_REST}}}}}\n'
        "  ],\n"
        '  "leasable": []\n'
        "}\n"
    )
    (in_tmp / "list.json").write_text(text, encoding="utf-8")
    log = _run(["list.json"])
    assert _region(_only(log, "SC007")) == (3, 3, 3, 18)  # a source-level finding's key
    assert _region(_only(log, "SC004")) == (6, 17, 6, 33)  # own[0] → params → port


def test_sarif_regions_ignore_a_bom_and_crlf(in_tmp):
    text = (
        "\ufeff{\r\n"
        '  "id": 5, "label": "x", "provider": "smtp", "leasable": false,\r\n'
        f'  "params": {{"mail.smtp.port": "587", {_REST}}}\r\n'
        "}\r\n"
    )
    (in_tmp / "gw.json").write_bytes(text.encode("utf-8"))
    assert _region(_only(_run(["gw.json"]), "SC004")) == (3, 14, 3, 30)


@pytest.mark.parametrize(
    ("data", "region"),
    [
        # The decoder stops at the '}' where a key belongs.
        (b'{"id": 7, "label": "Dealer mail",}', (1, 34, 1, 35)),
        # A byte that is not UTF-8, after a 4-byte 📧: the loader counts byte 21, which is
        # code point 18 and UTF-16 unit 19.
        (b'{"a": "\xf0\x9f\x93\xa7", "b": "\xff"}', (1, 19, 1, 20)),
        (b'{\n  "id": NaN\n}', (2, 9, 2, 10)),
        (b"\xef\xbb\xbf{\n", (2, 1, 2, 1)),  # the end of the text: an empty region
    ],
    ids=["trailing-comma", "not-utf8", "nan", "truncated"],
)
def test_sarif_bad_json_points_where_parsing_stopped(schema, in_tmp, data, region):
    (in_tmp / "bad.json").write_bytes(data)
    log = _run(["bad.json"])
    assert _errors(schema, log) == []
    assert _region(_only(log, "SC001")) == region


def test_sarif_a_file_changed_or_gone_since_the_run_has_no_region(schema, in_tmp):
    gateway = {**EXAMPLE_GATEWAY, "params": {**_PARAMS, "mail.smtp.port": "587"}}
    (in_tmp / "moved.json").write_text(json.dumps({**gateway, "id": 1}), encoding="utf-8")
    (in_tmp / "gone.json").write_text(json.dumps({**gateway, "id": 2}), encoding="utf-8")
    (in_tmp / "fixed.json").write_text("{,}", encoding="utf-8")
    report = validate(load_paths(["."], environ={}), LintOptions())
    (in_tmp / "moved.json").write_text(json.dumps({**gateway, "id": 8}), encoding="utf-8")
    (in_tmp / "gone.json").unlink()
    (in_tmp / "fixed.json").write_text(json.dumps(gateway), encoding="utf-8")
    log = _sarif(report)
    assert _errors(schema, log) == []
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert "region" not in physical, result  # the file, but no line in it
    assert {_uri(r)["uri"] for r in log["runs"][0]["results"]} == {
        "fixed.json",
        "gone.json",
        "moved.json",
    }


def test_sarif_paths_become_uris(tmp_path, monkeypatch):
    gateway = {**EXAMPLE_GATEWAY, "params": {**_PARAMS, "mail.smtp.port": "587"}}
    inside = tmp_path / "repo" / "my configs" / "gw #1.json"
    outside = tmp_path / "elsewhere" / "gw.json"
    for number, path in enumerate((inside, outside)):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({**gateway, "id": number}), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "repo")
    log = _run(["./my configs/gw #1.json", str(outside)])
    relative, absolute = _results(log, "SC004")
    # Inside the working directory (the checkout): relative, resolved against its root.
    assert _uri(relative) == {"uri": "my%20configs/gw%20%231.json", "uriBaseId": "%SRCROOT%"}
    assert _uri(absolute) == {"uri": outside.as_uri()}
    assert _region(absolute) == _region(relative)


def test_sarif_file_name_that_is_not_utf8_keeps_its_bytes():
    # os.fsdecode turns the byte 0xE9 of a Latin-1 file name into the surrogate U+DCE9.
    finding = Finding("SC004", "string-typed-value", Severity.WARNING, "port is a string")
    latin1 = sample_gateway(1, "x", Status.WARNING, findings=(finding,), source="caf\udce9.json")
    report = Report(gateways=(latin1,))
    log = json.loads(render_sarif(report, RenderOptions()))
    assert _uri(log["runs"][0]["results"][0]) == {"uri": "caf%E9.json", "uriBaseId": "%SRCROOT%"}


# -- the log itself ---------------------------------------------------------------------------


def test_sarif_driver_rules_and_levels(in_tmp):
    (in_tmp / "fleet.json").write_text(_FLEET, encoding="utf-8")
    gateway = {**EXAMPLE_GATEWAY, "params": {**_PARAMS, "mail.smtp.port": "587 "}}
    (in_tmp / "space.json").write_text(json.dumps(gateway), encoding="utf-8")
    log = _run(["fleet.json", "space.json"])
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "smtpcheck",
        __version__,
        PROJECT_URL,
    )
    assert run["columnKind"] == "utf16CodeUnits"
    ids = [r["id"] for r in driver["rules"]]
    # "587 " is no port to JavaMail: it falls back to 25, with AUTH on (SC108).
    expected = ["SC002", "SC004", "SC006", "SC101", "SC108"]
    assert ids == sorted({r["ruleId"] for r in run["results"]}) == expected
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {(r["ruleId"], r["level"]) for r in run["results"]}
    # SC004 is a warning by default, an error for a port JavaMail cannot read ("587 ").
    assert levels == {
        ("SC002", "error"),
        ("SC004", "warning"),
        ("SC004", "error"),
        ("SC006", "note"),
        ("SC101", "error"),
        ("SC108", "warning"),
    }
    sc004 = driver["rules"][ids.index("SC004")]
    assert sc004["name"] == "string-typed-value"
    assert sc004["defaultConfiguration"] == {"level": "warning"}
    assert sc004["helpUri"] == f"{RULES_URL}sc004"
    assert sc004["shortDescription"]["text"] == "A number or true/false param written as a string."
    assert sc004["fullDescription"]["text"].startswith('Ports and timeouts written as `"587"`')
    markdown = sc004["help"]["markdown"]
    for part in ("### What it checks", "### Why it matters", "### Bad", "### Good", "```json"):
        assert part in markdown
    assert '```json\n{"mail.smtp.port": "587"}\n```' in markdown
    assert 'Bad:\n    {"mail.smtp.port": "587"}' in sc004["help"]["text"]


def test_sarif_message_carries_the_fix(in_tmp):
    (in_tmp / "fleet.json").write_text(_FLEET, encoding="utf-8")
    text = _only(_run(["fleet.json"]), "SC004")["message"]["text"]
    assert text == (
        "mail.smtp.port is the string '587'; JavaMail reads it as 587, "
        "but the panel writes a number (fix: write mail.smtp.port: 587)"
    )


def test_sarif_fleet_finding_points_at_each_gateway_it_names(schema, in_tmp):
    # SC005 belongs to no one source; GitHub refuses a result without a location, so it points
    # at the "id" key of every gateway that shares the id.
    (in_tmp / "a.json").write_text(json.dumps(EXAMPLE_GATEWAY), encoding="utf-8")
    (in_tmp / "b.json").write_text(json.dumps(EXAMPLE_GATEWAY), encoding="utf-8")
    log = _run(["a.json", "b.json"])
    assert _errors(schema, log) == []
    places = [
        (
            place["physicalLocation"]["artifactLocation"]["uri"],
            place["physicalLocation"]["region"],
        )
        for place in _only(log, "SC005")["locations"]
    ]
    region = {"startLine": 1, "startColumn": 2, "endLine": 1, "endColumn": 6}  # "id"
    assert places == [("a.json", region), ("b.json", region)]


def test_sarif_locating_reads_only_file_sources(in_tmp):
    report = validate(load_paths([STDIN], environ={}, stdin=io.BytesIO(b"{,}")), LintOptions())
    assert locations(report) == {}


@pytest.mark.parametrize(
    ("position", "path"),
    [("", ()), ("[2]", (2,)), ("own[0]", ("own", 0)), ("leasable[11]", ("leasable", 11))],
)
def test_sarif_gateway_positions_become_key_paths(position, path):
    assert gateway_path(position) == path


def test_sarif_gateway_position_that_is_no_path():
    assert gateway_path("elsewhere") is None


def test_sarif_rule_help_leaves_unknown_codes_out():
    found = rule_help(["SC004", "SC004", "SC999"])
    assert list(found) == ["SC004"]
    help_ = found["SC004"]
    assert [title for title, _ in help_.sections] == [
        "What it checks",
        "Why it matters",
        "Bad",
        "Good",
        "Fix",
    ]
    assert help_.section("Bad") == '{"mail.smtp.port": "587"}'
    assert help_.section("References") is None


def test_sarif_rule_help_reads_every_rule_as_the_catalogue_tests_do(schema):
    from smtpcheck.rules import ALL_RULES
    from tests.rules.support import docstring_sections

    found = rule_help(r.code for r in ALL_RULES)
    assert list(found) == [r.code for r in ALL_RULES]
    for rule in ALL_RULES:
        summary, sections = docstring_sections(rule.doc)
        assert (found[rule.code].summary, dict(found[rule.code].sections)) == (summary, sections)
    # Every rule's help in one log: still valid SARIF.
    findings = tuple(Finding(r.code, r.slug, r.severity, "x") for r in ALL_RULES)
    report = Report(gateways=(sample_gateway(1, "x", Status.FAILED, findings=findings),))
    log = json.loads(render_sarif(report, RenderOptions(rule_help=found)))
    assert _errors(schema, log) == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == len(ALL_RULES)


def test_sarif_scanner_is_not_imported_by_validate():
    # `validate` alone must not pay for the scanner: nothing it imports loads it.
    import subprocess
    import sys

    code = (
        "import sys, smtpcheck.pipeline.validate, smtpcheck.reporters;"
        "print('smtpcheck.config.positions' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"
