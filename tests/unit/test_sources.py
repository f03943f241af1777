"""Reading sources: paths and directories, stdin, every document shape, JSON errors, ${NAME}."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.config.documents import FieldError, JsonError, Shape, SourceDocument, UnsetVariable
from smtpcheck.config.loading import (
    STDIN,
    document_from_data,
    expand_paths,
    load_paths,
    parse_document,
)
from smtpcheck.config.models import LeasableGateway, OwnGateway
from smtpcheck.config.params import REDACTED, escape_reference
from smtpcheck.errors import ConfigLoadError, SmtpcheckError
from smtpcheck.results import GatewayKind
from smtpcheck.rules.base import EXAMPLE_GATEWAY

TREE = Path(__file__).parent.parent / "data" / "tree"


def _parse(value: Any, *, environ: dict[str, str] | None = None) -> SourceDocument:
    return parse_document(json.dumps(value).encode(), source="gw.json", environ=environ)


def _with_params(**params: Any) -> dict[str, Any]:
    gateway = json.loads(json.dumps(EXAMPLE_GATEWAY))
    gateway["params"].update(params)
    assert isinstance(gateway, dict)
    return gateway


# --- paths


def test_sources_directory_is_read_recursively_and_sorted() -> None:
    assert expand_paths([str(TREE)]) == [
        str(TREE / "a-gateway.json"),
        str(TREE / "nested" / "b-array.json"),
        str(TREE / "nested" / "deeper" / "c-list.json"),
    ]


def test_sources_hidden_directories_and_files_are_skipped() -> None:
    found = expand_paths([str(TREE)])
    assert not any("skipped" in name for name in found)
    assert not any(name.endswith(".txt") for name in found)


def test_sources_hidden_directory_named_explicitly_is_read() -> None:
    assert expand_paths([str(TREE / ".hidden")]) == [str(TREE / ".hidden" / "skipped.json")]


def test_sources_file_named_explicitly_is_read_whatever_its_extension() -> None:
    assert expand_paths([str(TREE / "notes.txt")]) == [str(TREE / "notes.txt")]


def test_sources_paths_keep_the_order_given() -> None:
    nested = str(TREE / "nested" / "b-array.json")
    single = str(TREE / "a-gateway.json")
    assert expand_paths([nested, STDIN, single]) == [nested, STDIN, single]


def test_sources_missing_path_is_a_load_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    with pytest.raises(ConfigLoadError) as caught:
        expand_paths([missing])
    assert caught.value.path == missing
    assert str(caught.value) == f"{missing}: no such file or directory"
    assert isinstance(caught.value, SmtpcheckError)
    assert isinstance(caught.value, OSError)


def test_sources_directory_without_json_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "gw.json").write_text("{}")
    with pytest.raises(ConfigLoadError, match=r"no \*\.json files"):
        expand_paths([str(tmp_path)])


def test_sources_load_paths_reads_every_shape_of_the_tree() -> None:
    docs = list(load_paths([str(TREE)], environ={}))
    assert [(Path(d.source).name, d.shape) for d in docs] == [
        ("a-gateway.json", Shape.GATEWAY),
        ("b-array.json", Shape.ARRAY),
        ("c-list.json", Shape.LIST_RESPONSE),
    ]
    entries = [e for d in docs for e in d.gateways]
    assert [(e.id, e.kind, e.position) for e in entries] == [
        (11, GatewayKind.OWN, ""),
        (12, GatewayKind.LEASABLE, "[0]"),
        (13, GatewayKind.LEASABLE, "[1]"),
        (14, GatewayKind.LEASABLE, "leasable[0]"),
    ]
    assert docs[2].bound_gateway == 14


def test_sources_missing_path_stops_before_reading_anything(tmp_path: Path) -> None:
    # Paths are checked up front: a typo in the third path does not leave a half-read run.
    reading = load_paths([str(TREE / "a-gateway.json"), str(tmp_path / "nope")], environ={})
    with pytest.raises(ConfigLoadError):
        next(reading)


def test_sources_stdin_is_read_for_a_dash() -> None:
    stdin = io.BytesIO(json.dumps(EXAMPLE_GATEWAY).encode())
    (doc,) = load_paths([STDIN], environ={}, stdin=stdin)
    assert doc.source == "<stdin>"
    assert doc.shape is Shape.GATEWAY
    assert doc.gateways[0].id == 7


def test_sources_dash_without_stdin_is_a_load_error() -> None:
    with pytest.raises(ConfigLoadError, match="standard input"):
        list(load_paths([STDIN], environ={}, stdin=None))


# --- JSON and encoding


def test_sources_json_error_has_line_and_column() -> None:
    text = b'[\n  {"id": 1, "label": "a"}\n  {"id": 2, "label": "b"}\n]'
    doc = parse_document(text, source="gw.json", environ={})
    assert doc.shape is None
    assert doc.gateways == ()
    assert doc.json_error == JsonError(3, 3, "Expecting ',' delimiter")


def test_sources_invalid_utf8_points_at_the_byte() -> None:
    doc = parse_document(b'{"id": 1,\n "label": "Caf\xe9"}', source="gw.json", environ={})
    assert doc.json_error == JsonError(2, 15, "not UTF-8 text")


def test_sources_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(EXAMPLE_GATEWAY).encode()
    doc = parse_document(data, source="gw.json", environ={})
    assert doc.json_error is None
    assert doc.gateways[0].id == 7


def test_sources_deep_nesting_is_a_json_error_not_a_crash() -> None:
    doc = parse_document(b"[" * 100_000, source="gw.json", environ={})
    assert doc.json_error == JsonError(1, 1, "nested too deeply")


def test_sources_empty_file_is_a_json_error() -> None:
    doc = parse_document(b"", source="gw.json", environ={})
    assert doc.json_error is not None
    assert (doc.json_error.line, doc.json_error.column) == (1, 1)


# --- shapes


def test_sources_single_own_gateway() -> None:
    doc = _parse(EXAMPLE_GATEWAY)
    (entry,) = doc.gateways
    assert doc.shape is Shape.GATEWAY
    assert entry.kind is GatewayKind.OWN
    assert isinstance(entry.gateway, OwnGateway)
    assert entry.is_smtp
    assert entry.settings is not None
    assert entry.settings.port == 587


def test_sources_single_leasable_gateway() -> None:
    doc = _parse({"id": 1, "label": "Platform gate", "default_from_address": None})
    (entry,) = doc.gateways
    assert entry.kind is GatewayKind.LEASABLE
    assert isinstance(entry.gateway, LeasableGateway)
    assert entry.settings is None
    assert not entry.is_smtp


def test_sources_own_gateway_without_params_is_a_gateway_not_a_list() -> None:
    # `"leasable": false` is the own gateway's flag, not the list response's array.
    doc = _parse({"id": 3, "leasable": False, "label": "x", "provider": "smtp"})
    assert doc.shape is Shape.GATEWAY
    (entry,) = doc.gateways
    assert entry.kind is GatewayKind.OWN
    assert entry.errors == (FieldError("params", "params", "required, but missing"),)


def test_sources_mail_keys_without_params_wrapper_are_an_own_gateway() -> None:
    (entry,) = _parse({"id": 3, "mail.smtp.host": "smtp.example.com"}).gateways
    assert entry.kind is GatewayKind.OWN
    assert [e.param for e in entry.errors] == ["params"]


def test_sources_array_keeps_positions_and_bad_items() -> None:
    doc = _parse([EXAMPLE_GATEWAY, 7, {"id": 2, "label": "p"}])
    assert doc.shape is Shape.ARRAY
    assert [(e.position, e.kind, e.gateway is not None) for e in doc.gateways] == [
        ("[0]", GatewayKind.OWN, True),
        ("[1]", GatewayKind.OWN, False),
        ("[2]", GatewayKind.LEASABLE, True),
    ]
    assert doc.gateways[1].errors == (
        FieldError("", None, "expected a gateway object, got a number"),
    )
    assert doc.gateways[1].name == "gateway at gw.json[1]"


def test_sources_list_response_takes_kinds_from_the_lists() -> None:
    doc = _parse(
        {
            "success": True,
            "bound_gateway": 2,
            "own": [EXAMPLE_GATEWAY],
            "leasable": [{"id": 2, "label": "Default", "provider": "mandrill_smtp"}],
        }
    )
    assert doc.shape is Shape.LIST_RESPONSE
    assert doc.bound_gateway == 2
    assert [(e.id, e.kind, e.position) for e in doc.gateways] == [
        (7, GatewayKind.OWN, "own[0]"),
        (2, GatewayKind.LEASABLE, "leasable[0]"),
    ]
    assert doc.gateways[1].place == "gw.json leasable[0]"


def test_sources_list_item_without_id_is_named_by_its_place() -> None:
    doc = _parse({"success": True, "own": [], "leasable": [{"label": "x"}]})
    assert doc.gateways[0].name == "gateway at gw.json leasable[0]"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            {"success": False, "status": {"code": 4, "description": "User not found"}},
            "this is a failed API response: status code 4 (User not found), not a gateway list",
        ),
        ({"success": True, "own": {}}, "own must be an array, got an object"),
        ({"success": True, "bound_gateway": "2"}, "bound_gateway must be a gateway id or null"),
        ({"success": True, "bound_gateway": True}, "bound_gateway must be a gateway id or null"),
        (42, "expected a gateway object, an array of them or a list response, got a number"),
        (None, "got null"),
    ],
)
def test_sources_unrecognised_documents_say_why(value: object, error: str) -> None:
    doc = _parse(value)
    assert doc.shape is None
    assert doc.shape_error is not None
    assert error in doc.shape_error


def test_sources_field_errors_never_carry_the_value() -> None:
    secret = "hunter2-do-not-print"
    doc = _parse(_with_params(**{"mail.smtp.password": [secret], "mail.smtp.port": secret[:3]}))
    (entry,) = doc.gateways
    assert entry.gateway is None
    assert entry.errors == (
        FieldError(
            "params → mail.smtp.password", "mail.smtp.password", "Input should be a valid string"
        ),
    )
    assert secret not in repr(entry)


# --- ${NAME} substitution


def _params_of(doc: SourceDocument) -> Any:
    params = doc.gateways[0].params
    assert params is not None, doc.gateways[0].errors
    return params


def test_sources_env_reference_is_replaced() -> None:
    doc = _parse(
        _with_params(**{"mail.smtp.password": "${SMTP_PASSWORD}"}),
        environ={"SMTP_PASSWORD": "from-the-environment"},
    )
    password = _params_of(doc).password
    assert password is not None
    assert password.get_secret_value() == "from-the-environment"
    assert doc.gateways[0].unset_variables == ()


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("mail.smtp.port", "587", 587),
        ("mail.smtp.timeout", "-1", -1),
        ("mail.smtp.port", "587.0", "587.0"),  # not a whole number: stays text for SC004
        ("mail.smtp.port", "true", "true"),  # a boolean is no port
        ("mail.smtp.port", "587x", "587x"),
        ("mail.smtp.auth", "true", True),
        ("mail.smtp.auth", "false", False),
        ("mail.smtp.auth", "1", "1"),  # a number is no flag
        ("mail.smtp.auth", "TRUE", "TRUE"),  # not JSON; JavaMail reads it as true (SC004)
        ("mail.smtp.host", "587", "587"),  # a text param stays text
        ("mail.smtp.user", "null", "null"),
    ],
)
def test_sources_env_value_gets_the_param_type(key: str, text: str, value: object) -> None:
    doc = _parse(_with_params(**{key: "${VALUE}"}), environ={"VALUE": text})
    assert _params_of(doc).given(key) == value


def test_sources_env_id_becomes_a_number() -> None:
    data = dict(EXAMPLE_GATEWAY, id="${GATEWAY_ID}", label="${GATEWAY_LABEL}")
    doc = _parse(data, environ={"GATEWAY_ID": "12", "GATEWAY_LABEL": "CI gateway"})
    assert (doc.gateways[0].id, doc.gateways[0].label) == (12, "CI gateway")


def test_sources_unset_variable_is_recorded_and_left_empty() -> None:
    doc = _parse(_with_params(**{"mail.smtp.password": "${SMTP_PASSWORD}"}), environ={})
    (entry,) = doc.gateways
    assert entry.unset_variables == (UnsetVariable("mail.smtp.password", "SMTP_PASSWORD"),)
    assert _params_of(doc).password is None


def test_sources_unset_variable_of_a_required_field_is_also_a_field_error() -> None:
    doc = _parse(dict(EXAMPLE_GATEWAY, id="${GATEWAY_ID}"), environ={})
    (entry,) = doc.gateways
    assert entry.unset_variables == (UnsetVariable("id", "GATEWAY_ID"),)
    assert [e.param for e in entry.errors] == ["id"]


@pytest.mark.parametrize(
    "text", ["$SMTP_PASSWORD", "pre-${SMTP_PASSWORD}", "${SMTP_PASSWORD}-post", "${1BAD}", "${}"]
)
def test_sources_only_a_whole_reference_is_substituted(text: str) -> None:
    doc = _parse(_with_params(**{"mail.smtp.password": text}), environ={"SMTP_PASSWORD": "x"})
    password = _params_of(doc).password
    assert password is not None
    assert password.get_secret_value() == text


def test_sources_no_environ_leaves_references_alone() -> None:
    # API data is never substituted: a password that looks like "${X}" is a password.
    doc = document_from_data(_with_params(**{"mail.smtp.password": "${X}"}), source="api")
    password = _params_of(doc).password
    assert password is not None
    assert password.get_secret_value() == "${X}"
    assert doc.gateways[0].unset_variables == ()


def test_sources_substitution_works_in_list_responses() -> None:
    data = {"success": True, "own": [_with_params(**{"mail.smtp.host": "${SMTP_HOST}"})]}
    doc = _parse(data, environ={"SMTP_HOST": "smtp.ci.test"})
    assert _params_of(doc).host == "smtp.ci.test"


def test_sources_unreadable_path_is_a_load_error(tmp_path: Path) -> None:
    # A Unix socket exists but cannot be read as a file; chmod would not stop root.
    path = tmp_path / "gateway.json"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        with pytest.raises(ConfigLoadError, match="cannot read") as caught:
            list(load_paths([str(path)], environ={}))
    assert caught.value.path == str(path)


def test_sources_escaped_reference_reads_back_as_text():
    doc = parse_document(
        json.dumps(
            {
                "id": 1,
                "params": {"mail.smtp.host": "$${SMTP_HOST}", "default_from_address": "$$${X}"},
            }
        ).encode(),
        source="gw.json",
        environ={"SMTP_HOST": "smtp.example.com", "X": "x@example.com"},
    )
    (entry,) = doc.gateways
    assert entry.params is not None
    assert entry.params.host == "${SMTP_HOST}"
    assert entry.params.default_from_address == "$${X}"
    assert entry.unset_variables == ()


@pytest.mark.parametrize("text", ["${SMTP_HOST}", "$${X}", "$$${X}", "${", "plain", "$x", "a${X}"])
def test_sources_escape_reference_round_trips(text):
    doc = parse_document(
        json.dumps({"id": 1, "params": {"mail.smtp.host": escape_reference(text)}}).encode(),
        source="gw.json",
        environ={"SMTP_HOST": "from-the-environment", "X": "from-the-environment"},
    )
    (entry,) = doc.gateways
    assert entry.params is not None and entry.params.host == text


def test_sources_redaction_marker_means_no_password():
    doc = parse_document(
        json.dumps({"id": 1, "params": {"mail.smtp.password": REDACTED}}).encode(),
        source="gw.json",
        environ={},
    )
    (entry,) = doc.gateways
    assert entry.redacted == ("mail.smtp.password",)
    assert entry.params is not None and entry.params.password is None


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_sources_non_json_constants_are_invalid_json(constant):
    doc = parse_document(
        f'{{"id": 1, "params": {{"mail.smtp.port": {constant}}}}}'.encode(),
        source="gw.json",
        environ={},
    )
    assert doc.json_error is not None
    assert constant.lstrip("-") in doc.json_error.message
