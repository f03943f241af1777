"""The JSON report's shipped schema: current, valid draft 2020-12, met by real runs, and strict.

Real runs go through the command line in this process (a live check against aiosmtpd on
loopback included), so the plugin of tests/support/report_schema.py checks them too; each test
also validates what it parsed, to hold without the plugin.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from smtpcheck.cli.schema_cmd import schema as schema_command
from smtpcheck.reporters import RenderOptions, render
from smtpcheck.reporters.json_schema import DIALECT, schema_json
from smtpcheck.reporters.json_shape import schema_text
from smtpcheck.results import GatewayKind, Report, Severity, Status, TlsMode
from tests.integration.conftest import threaded_server  # noqa: F401 -- a fixture, shared
from tests.reporters.sample import fleet_report, full_report, gateway
from tests.support.cli import environment, smtpcheck
from tests.support.gateways import gateway as gateway_file
from tests.support.report_schema import assert_valid_report, report_errors
from tests.support.servers import Smtpd

ROOT = Path(__file__).parent.parent.parent
SAMPLES = ROOT / "sample_configs"
SCHEMA = json.loads(schema_text())


# --- the shipped file --------------------------------------------------------------------


def test_schema_shipped_file_is_a_fresh_generation():
    assert schema_text() == schema_json(), "the schema is stale: run scripts/generate-schema"


def test_schema_is_valid_draft_2020_12():
    assert SCHEMA["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)  # against the draft's metaschema
    broken = {**SCHEMA, "properties": {**SCHEMA["properties"], "schema": {"type": "integr"}}}
    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema(broken)


def test_schema_enums_are_the_result_types_values():
    defs = SCHEMA["$defs"]
    assert defs["Status"]["enum"] == [s.value for s in Status]
    assert set(defs["Status"]["enum"]) == {"ok", "warning", "failed", "skipped", "error"}
    assert defs["Severity"]["enum"] == [s.value for s in Severity]
    assert defs["TlsMode"]["enum"] == ["none", "starttls", "implicit"] == [m.value for m in TlsMode]
    assert defs["GatewayKind"]["enum"] == [k.value for k in GatewayKind]
    assert SCHEMA["properties"]["schema"]["const"] == 2


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("(root)", schema), *((n, d) for n, d in schema["$defs"].items() if "properties" in d)]


def _described(prop: dict[str, Any]) -> bool:
    """Say whether a key has a description, or is only a reference to described definitions."""
    if "description" in prop:
        return True
    refs = [prop, *prop.get("anyOf", []), prop.get("items", {})]
    targets = [r["$ref"].rsplit("/", 1)[1] for r in refs if "$ref" in r]
    return bool(targets) and all("description" in SCHEMA["$defs"][t] for t in targets)


def test_schema_describes_every_object_and_key():
    for name, obj in _objects(SCHEMA):
        assert obj.get("description"), name
        assert obj["additionalProperties"] is True, name  # the report may gain keys
        undescribed = [key for key, prop in obj["properties"].items() if not _described(prop)]
        assert undescribed == [], f"{name}: comment these keys in json_shape.py"
    assert "Adding a key is compatible" in SCHEMA["description"]
    assert (
        "no_credentials: JavaMail would not log in" in SCHEMA["$defs"]["FailureKind"]["description"]
    )
    assert SCHEMA["$defs"]["Probe"]["required"][-1] == "ms"  # transcript: only with -v


def test_schema_command_prints_the_shipped_file():
    result = CliRunner().invoke(schema_command, [])
    assert result.exit_code == 0, result.output
    assert result.output == schema_text()


_LOADED_BY_SCHEMA = """
import json, sys
from smtpcheck.cli.schema_cmd import schema
try:
    schema.main([], prog_name="smtpcheck schema")
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def test_schema_command_starts_lean():
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_SCHEMA], capture_output=True, check=True, text=True
    )
    assert json.loads(done.stdout) == SCHEMA
    loaded = {name.partition(".")[0] for name in json.loads(done.stderr)}
    heavy = {"pydantic", "httpx", "aiosmtplib", "asyncio", "ssl", "jsonschema"}
    assert "smtpcheck" in loaded and not loaded & heavy, sorted(loaded & heavy)


# --- reports of real runs validate -------------------------------------------------------


def _run_json(*argv: str) -> dict[str, Any]:
    result = smtpcheck(*argv, "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert_valid_report(data)
    return data


def test_schema_validate_of_the_sample_configs():
    data = _run_json("validate", str(SAMPLES))
    assert {g["status"] for g in data["gateways"]} >= {"ok", "warning", "failed", "skipped"}
    assert any(g["kind"] == "leasable" for g in data["gateways"])
    assert data["started"].endswith("Z") and data["host"]


def test_schema_check_of_the_sample_configs():
    # Their hosts are localhost or reserved names, which the suite's network guard refuses.
    samples = sorted(str(p) for p in SAMPLES.glob("*.json"))
    data = _run_json("check", *samples, "--timeout", "2", "--ehlo", "c.test")
    assert any(g["probe"] is not None for g in data["gateways"])
    assert any(g["status"] == "skipped" for g in data["gateways"])


def test_schema_validate_of_a_file_that_does_not_parse(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": 1,, }')
    data = _run_json("validate", str(broken))
    (finding,) = data["findings"]
    assert finding["code"] == "SC001" and finding["source"] == str(broken)


@pytest.fixture
def live(certs, threaded_server):  # noqa: F811 -- the imported fixture, asked for by name
    """A STARTTLS server with AUTH on a thread of its own (the command runs its own loop)."""
    return threaded_server(Smtpd(tls_context=certs.good, auth=True))


def test_schema_live_check_verbose_with_a_transcript(tmp_path, certs, live):
    config = tmp_path / "gw.json"
    config.write_text(json.dumps([gateway_file(live.port, host="localhost")]))
    argv = ["check", str(config), "-v", "--ca-file", certs.ca_file, "--ehlo", "c.test"]
    (entry,) = _run_json(*argv)["gateways"]
    assert entry["works"] is True and entry["probe"]["tls"]["cert"]["not_after"]
    assert any(line.startswith("C: EHLO") for line in entry["probe"]["transcript"])


def test_schema_live_check_with_a_suggestion(tmp_path, certs, threaded_server):  # noqa: F811
    server = threaded_server(Smtpd(implicit=certs.good, auth=True))
    config = tmp_path / "gw.json"
    config.write_text(json.dumps([gateway_file(server.port, host="localhost")]))
    argv = ["check", str(config), "--suggest", "--ca-file", certs.ca_file, "--ehlo", "c.test"]
    (entry,) = _run_json(*argv, "--try-port", str(server.port), "--timeout", "3")["gateways"]
    assert entry["works"] is False and entry["suggestion"]["params"]["mail.smtp.use_ssl"] is True


@pytest.mark.parametrize("verbose", [False, True])
def test_schema_sample_reports_validate(verbose):
    for build in (full_report, fleet_report, lambda: Report(gateways=())):
        assert_valid_report(json.loads(render(build(), "json", RenderOptions(verbose=verbose))))


def test_schema_hostile_labels_validate():
    labels = ["\x1b[31mred\x1b[0m", "a\u202eb", "bad \ud800 half", "x" * 10_000, "", "\x00"]
    report = Report(
        gateways=tuple(gateway(i, label, Status.OK) for i, label in enumerate(labels)),
    )
    data = json.loads(render(report, "json"))
    assert [g["label"] for g in data["gateways"]] == labels
    assert_valid_report(data)


def _closed(schema: Any) -> Any:
    """Return the schema with every object closed: our own reports declare each key they have."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if closed.get("additionalProperties") is True:
            closed["additionalProperties"] = False
        return closed
    return [_closed(value) for value in schema] if isinstance(schema, list) else schema


def test_schema_declares_every_key_a_report_has():
    strict = Draft202012Validator(_closed(SCHEMA))
    for options in (RenderOptions(), RenderOptions(verbose=True)):
        data = json.loads(render(full_report(), "json", options))
        assert list(strict.iter_errors(data)) == []
    data["gateways"][0]["probe"]["undeclared"] = 1
    assert [e.json_path for e in strict.iter_errors(data)] == ["$.gateways[0].probe"]
    assert report_errors(data) == []  # the shipped schema lets a report gain keys


# --- mutated reports are refused ---------------------------------------------------------


def _set(path: str, value: Any) -> dict[str, Any]:
    """Return the full report with the value at the dotted path replaced (KeyError: removed)."""
    data: dict[str, Any] = json.loads(render(full_report(), "json"))
    *parents, last = path.split(".")
    here: Any = data
    for part in parents:
        here = here[int(part)] if isinstance(here, list) else here[part]
    if value is KeyError:
        del here[last]
    else:
        here[last] = value
    return data


MUTATIONS = [
    ("gateways.0.status", "up", "$.gateways[0].status", "is not one of"),
    ("gateways.1.findings.0.severity", "fatal", "$.gateways[1].findings[0].severity", "one of"),
    ("gateways.0.endpoint.mode", "ssl", "$.gateways[0].endpoint.mode", "is not one of"),
    ("gateways.3.probe.failure", "exploded", "$.gateways[3].probe.failure", "is not one of"),
    ("gateways.0.kind", KeyError, "$.gateways[0]", "'kind' is a required property"),
    ("summary", KeyError, "$", "'summary' is a required property"),
    ("gateways.0.probe.steps.0.ms", "0.42", "$.gateways[0].probe.steps[0].ms", "not of type"),
    ("gateways.0.endpoint.port", 587.5, "$.gateways[0].endpoint.port", "not of type"),
    ("gateways.0.works", "yes", "$.gateways[0].works", "not of type"),
    ("gateways.0.source", None, "$.gateways[0].source", "not of type"),
    ("schema", 3, "$.schema", "2 was expected"),
    ("started", "yesterday", "$.started", "is not a 'date-time'"),
    ("started", "2026-02-31T10:00:00Z", "$.started", "is not a 'date-time'"),
]


@pytest.mark.parametrize(
    ("path", "value", "where", "why"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_schema_refuses_a_mutated_report(path, value, where, why):
    errors = report_errors(_set(path, value))
    assert errors and errors[0].startswith(f"{where}: "), errors
    assert why in errors[0], errors
    with pytest.raises(pytest.fail.Exception, match=r"does not match its schema"):
        assert_valid_report(_set(path, value))


def test_schema_accepts_a_real_timestamp():
    assert report_errors(_set("started", "2026-03-01T09:30:05Z")) == []
    assert report_errors(_set("started", "2026-03-01T09:30:05.25+02:00")) == []


# --- the plugin fails a test whose render the schema refuses -------------------------------

_BROKEN_RENDER = """
from smtpcheck.reporters import json_, render
from smtpcheck.results import Report
from tests.reporters.sample import full_report


def _broken(report, **options):
    data = ORIGINAL(report, **options)
    data["gateways"][0]["status"] = "up"
    return data


ORIGINAL = json_.report_to_dict


def test_a_bad_render(monkeypatch):
    monkeypatch.setattr(json_, "report_to_dict", _broken)
    render(full_report(), "json")


def test_a_bad_render_swallowed(monkeypatch):
    monkeypatch.setattr(json_, "report_to_dict", _broken)
    try:
        render(full_report(), "json")
    except BaseException:
        pass


def test_a_good_render():
    render(Report(gateways=()), "json")
"""


def test_schema_plugin_fails_a_test_that_renders_a_bad_report(tmp_path):
    (tmp_path / "test_renders.py").write_text(textwrap.dedent(_BROKEN_RENDER))
    plugins = ["-p", "tests.support.report_schema", "-p", "no:cacheprovider"]
    argv = ["-m", "pytest", "-q", "-rfE", *plugins]
    done = subprocess.run(
        [sys.executable, *argv, "test_renders.py"],
        capture_output=True,
        cwd=tmp_path,
        env=environment({"PYTHONPATH": str(ROOT)}),
        check=False,
        text=True,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "1 failed, 2 passed, 1 error" in out, out
    assert "$.gateways[0].status: 'up' is not one of" in out, out
    assert "FAILED test_renders.py::test_a_bad_render - " in out, out
    assert "ERROR test_renders.py::test_a_bad_render_swallowed - " in out, out
