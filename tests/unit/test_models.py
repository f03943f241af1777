"""The models: strict JSON types, values kept as written, unknown params kept, secrets hidden."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from smtpcheck.config.models import LeasableGateway, OwnGateway, SmtpParams, json_kind
from smtpcheck.rules.base import EXAMPLE_GATEWAY

SECRET = "hunter2-do-not-print"


def _gateway(**params: Any) -> dict[str, Any]:
    gateway = copy.deepcopy(EXAMPLE_GATEWAY)
    gateway["params"].update(params)  # type: ignore[attr-defined]
    return gateway


def _errors(
    data: dict[str, Any], model: type[OwnGateway | LeasableGateway] = OwnGateway
) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_models_own_gateway_reads_the_panel_shape() -> None:
    gateway = OwnGateway.model_validate(EXAMPLE_GATEWAY)
    assert (gateway.id, gateway.label, gateway.provider, gateway.leasable) == (
        7,
        "Dealer mail",
        "smtp",
        False,
    )
    assert gateway.params.host == "smtp.example.com"
    assert gateway.params.port == 587
    assert gateway.params.starttls_required is True
    assert gateway.params.password is not None
    assert gateway.params.password.get_secret_value() == "example-password"


def test_models_provider_defaults_to_smtp_when_left_out() -> None:
    data = {k: v for k, v in EXAMPLE_GATEWAY.items() if k != "provider"}
    assert OwnGateway.model_validate(data).provider == "smtp"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(587, 587), ("587", "587"), ("0x24B", "0x24B"), (None, None), (-1, -1)],
    ids=["number", "string-kept-as-written", "hex-string", "null", "negative"],
)
def test_models_port_keeps_the_value_as_written(value: object, expected: object) -> None:
    params = OwnGateway.model_validate(_gateway(**{"mail.smtp.port": value})).params
    assert params.port == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([587], "expected a whole number, got an array"),
        ({"port": 587}, "expected a whole number, got an object"),
    ],
    ids=["array", "object"],
)
def test_models_port_rejects_other_json_types(value: object, message: str) -> None:
    assert _errors(_gateway(**{"mail.smtp.port": value})) == [
        (("params", "mail.smtp.port"), message)
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (True, True),
        (False, True),
        ("true", True),
        ("yes", True),
        (None, True),
        (1, True),  # kept: JavaMail reads it as false, SC004 says so
        (0, True),
        ([True], False),
    ],
)
def test_models_flags_take_json_scalars_only(value: object, ok: bool) -> None:
    data = _gateway(**{"mail.smtp.auth": value})
    if ok:
        assert OwnGateway.model_validate(data).params.auth == value
    else:
        assert _errors(data) == [
            (("params", "mail.smtp.auth"), "expected true or false, got an array")
        ]


@pytest.mark.parametrize(
    "key", ["mail.smtp.host", "mail.smtp.user", "default_from_address", "mail.transport.protocol"]
)
def test_models_text_params_reject_numbers(key: str) -> None:
    assert _errors(_gateway(**{key: 25})) == [(("params", key), "expected a string, got a number")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "7"),
        ("id", True),
        ("id", 7.0),
        ("label", 5),
        ("leasable", "false"),
        ("provider", None),
    ],
)
def test_models_gateway_fields_are_strict(field: str, value: object) -> None:
    data = copy.deepcopy(EXAMPLE_GATEWAY)
    data[field] = value
    assert [loc for loc, _ in _errors(data)] == [(field,)]


def test_models_params_are_required_on_own_gateways() -> None:
    data = {k: v for k, v in EXAMPLE_GATEWAY.items() if k != "params"}
    assert _errors(data) == [(("params",), "Field required")]


def test_models_params_read_dotted_keys_only() -> None:
    params = SmtpParams.model_validate({"mail.smtp.port": 587, "port": 2525})
    # The field name is not an alias: "port" is an unknown param, for SC003 to report.
    assert params.port == 587
    assert params.model_extra == {"port": 2525}


def test_models_unknown_params_are_kept_in_order() -> None:
    params = SmtpParams.model_validate(
        {"mail.smtp.starttls.enabled": True, "mail.smtp.prot": 587, "mail.smtp.host": "h"}
    )
    assert params.model_extra == {"mail.smtp.starttls.enabled": True, "mail.smtp.prot": 587}
    assert params.starttls_enable is None


def test_models_given_reads_by_dotted_key() -> None:
    params = SmtpParams.model_validate({"mail.smtp.ssl.port": "465", "mail.debug": True})
    assert params.given("mail.smtp.ssl.port") == "465"
    assert params.given("mail.debug") is True
    assert params.given("mail.smtp.host") is None


def test_models_dump_uses_the_dotted_keys() -> None:
    dumped = OwnGateway.model_validate(EXAMPLE_GATEWAY).model_dump(mode="json")
    assert list(dumped["params"]) == list(EXAMPLE_GATEWAY["params"])  # type: ignore[call-overload]


def test_models_are_frozen() -> None:
    gateway = OwnGateway.model_validate(EXAMPLE_GATEWAY)
    with pytest.raises(ValidationError):
        gateway.params.port = 25  # type: ignore[misc]


def test_models_password_never_shows_in_repr_str_or_json() -> None:
    gateway = OwnGateway.model_validate(_gateway(**{"mail.smtp.password": SECRET}))
    for text in (
        repr(gateway),
        str(gateway),
        repr(gateway.params),
        gateway.model_dump_json(),
        str(gateway.model_dump(mode="json")),
    ):
        assert SECRET not in text
    assert gateway.params.password is not None
    assert gateway.params.password.get_secret_value() == SECRET


def test_models_validation_errors_do_not_echo_values() -> None:
    data = _gateway(**{"mail.smtp.password": [SECRET], "mail.smtp.port": [SECRET]})
    with pytest.raises(ValidationError) as caught:
        OwnGateway.model_validate(data)
    # hide_input_in_errors: the exception text, which a bug could print, carries no values.
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_models_leasable_gateway_ignores_extra_fields() -> None:
    gateway = LeasableGateway.model_validate(
        {"id": 2, "label": "Default", "provider": "mandrill_smtp", "rate": 5}
    )
    assert (gateway.id, gateway.provider, gateway.default_from_address) == (
        2,
        "mandrill_smtp",
        None,
    )
    assert not hasattr(gateway, "rate")


def test_models_leasable_gateway_types_are_strict() -> None:
    errors = _errors({"id": "2", "default_from_address": 5}, LeasableGateway)
    assert [loc for loc, _ in errors] == [("id",), ("default_from_address",)]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        (True, "a boolean"),
        (1, "a number"),
        (1.5, "a number"),
        ("x", "a string"),
        ([], "an array"),
        ({}, "an object"),
    ],
)
def test_models_json_kind_names_json_types(value: object, kind: str) -> None:
    assert json_kind(value) == kind
