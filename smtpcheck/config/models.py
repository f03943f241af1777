"""Pydantic models of the panel API's gateway objects: shape and JSON types only.

Values are kept as written. A port sent as the string "587" stays a string here so that SC004 can
say so; how JavaMail would read it is `javamail`'s job, and whether the params agree with each
other is the rules' job. Unknown params are kept (``model_extra``) for SC003.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "LeasableGateway",
    "OwnGateway",
    "SmtpParams",
    "json_kind",
]


def json_kind(value: object) -> str:
    """Name the JSON type of a parsed value for messages ("a number", "an array", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _int_or_text(value: object) -> int | float | str | None:
    # Kept as written: JavaMail parses a string (SC004 says how), and reads any other type it
    # does not expect (a Double such as 25.0, a Boolean) as "unset", silently: SC004 again.
    if value is None or isinstance(value, int | float | str):
        return value
    raise PydanticCustomError(
        "whole_number", "expected a whole number, got {kind}", {"kind": json_kind(value)}
    )


def _bool_or_text(value: object) -> bool | int | float | str | None:
    # A number is no Boolean to JavaMail: it reads 1 as false (SC004).
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise PydanticCustomError(
        "boolean", "expected true or false, got {kind}", {"kind": json_kind(value)}
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        _unicode(value)
        return value
    raise PydanticCustomError("text", "expected a string, got {kind}", {"kind": json_kind(value)})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode(value: object) -> object:
    # JSON may spell a lone UTF-16 surrogate ("\ud800"), which is no character: no client can
    # encode it (Java's String.getBytes sends "?" in its place), so it is the config's error.
    if isinstance(value, str) and (found := _SURROGATE.search(value)):
        raise PydanticCustomError(
            "unicode",
            "not valid Unicode text: it holds a lone surrogate (U+{code}), which no mail "
            "client can send",
            {"code": f"{ord(found.group()):04X}"},
        )
    return value


IntParam = Annotated[int | float | str | None, PlainValidator(_int_or_text)]
BoolParam = Annotated[bool | int | float | str | None, PlainValidator(_bool_or_text)]
TextParam = Annotated[str | None, PlainValidator(_text)]


class SmtpParams(BaseModel):
    """The ``params`` object of an own SMTP gateway, keyed by the dotted JavaMail-style names."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        hide_input_in_errors=True,
    )

    default_from_address: TextParam = Field(None, alias="default_from_address")
    user: TextParam = Field(None, alias="mail.smtp.user")
    password: Annotated[SecretStr | None, BeforeValidator(_unicode)] = Field(
        None, alias="mail.smtp.password"
    )
    host: TextParam = Field(None, alias="mail.smtp.host")
    port: IntParam = Field(None, alias="mail.smtp.port")
    ssl_port: IntParam = Field(None, alias="mail.smtp.ssl.port")
    trust_all_hosts: BoolParam = Field(None, alias="mail.smtp.ssl.trust_all_hosts")
    auth: BoolParam = Field(None, alias="mail.smtp.auth")
    debug: BoolParam = Field(None, alias="mail.debug")
    starttls_enable: BoolParam = Field(None, alias="mail.smtp.starttls.enable")
    starttls_required: BoolParam = Field(None, alias="mail.smtp.starttls.required")
    use_ssl: BoolParam = Field(None, alias="mail.smtp.use_ssl")
    timeout: IntParam = Field(None, alias="mail.smtp.timeout")
    connection_timeout: IntParam = Field(None, alias="mail.smtp.connectiontimeout")
    protocol: TextParam = Field(None, alias="mail.transport.protocol")

    def given(self, key: str) -> object:
        """Return the value written for a dotted param key (None when absent or null)."""
        return getattr(self, _FIELD_BY_KEY[key])


_FIELD_BY_KEY: dict[str, str] = {
    str(info.alias): name for name, info in SmtpParams.model_fields.items()
}

_GATEWAY_CONFIG = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


class OwnGateway(BaseModel):
    """A dealer's own gateway: the only kind with params, the only kind smtpcheck probes."""

    model_config = _GATEWAY_CONFIG

    id: StrictInt
    leasable: StrictBool = False  # offered for lease to sub-dealers; not the leasable kind
    label: StrictStr | None = None
    # The API always sends it; a hand-written gateway that leaves it out means SMTP.
    provider: StrictStr = "smtp"
    params: SmtpParams


class LeasableGateway(BaseModel):
    """A gateway leased from the platform owner: no params, listed but never probed."""

    model_config = _GATEWAY_CONFIG

    id: StrictInt
    label: StrictStr | None = None
    provider: StrictStr | None = None
    default_from_address: StrictStr | None = None
