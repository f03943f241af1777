"""Generate the JSON report's JSON Schema (draft 2020-12) from the TypedDicts of `json_shape`.

For development only: scripts/generate-schema writes the shipped file and a test checks that it
is current; no run imports this module. Descriptions come from the code: see `generate_schema`.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import tokenize
import types
import typing
from enum import StrEnum
from typing import Any

from smtpcheck.reporters import json_
from smtpcheck.reporters.json_shape import (
    SCHEMA_VERSION,
    CertDict,
    DeliveryDict,
    DifferenceDict,
    EndpointDict,
    FindingDict,
    GatewayDict,
    ProbeDict,
    ReportDict,
    SourceFindingDict,
    StepDict,
    SuggestionDict,
    SummaryDict,
    TlsDict,
)
from smtpcheck.results import (
    CertInfo,
    DeliveryResult,
    Difference,
    Endpoint,
    Finding,
    GatewayReport,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Report,
    Suggestion,
    Summary,
    TlsInfo,
)

__all__ = ["DIALECT", "SCHEMA_ID", "generate_schema", "schema_json"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The project publishes no URL of its own: a URN names the contract, one per schema number.
SCHEMA_ID = f"urn:smtpcheck:report:schema:{SCHEMA_VERSION}"

#: The result type each JSON object renders: its docstring, and its field comments, describe
#: the object and those keys that json_shape leaves without a comment.
_RENDERS: dict[type, type] = {
    ReportDict: Report,
    SummaryDict: Summary,
    FindingDict: Finding,
    SourceFindingDict: Finding,
    GatewayDict: GatewayReport,
    EndpointDict: Endpoint,
    ProbeDict: ProbeResult,
    StepDict: ProbeStep,
    TlsDict: TlsInfo,
    CertDict: CertInfo,
    SuggestionDict: Suggestion,
    DeliveryDict: DeliveryResult,
    DifferenceDict: Difference,
}
#: The TypedDicts each one extends, whose source comments its inherited keys (a TypedDict
#: class keeps its bases' keys but not the bases themselves).
_EXTENDS: dict[type, tuple[type, ...]] = {SourceFindingDict: (FindingDict,)}
#: Keys that render a field of another type than their object's: (type, field).
_FIELD_OF: dict[tuple[type, str], tuple[type, str]] = {
    (ProbeDict, "failure"): (ProbeFailure, "kind"),
    (ProbeDict, "failure_detail"): (ProbeFailure, "detail"),
    (ProbeDict, "reply_code"): (ProbeFailure, "reply_code"),
    (ProbeDict, "tls_error"): (ProbeFailure, "tls_error"),
}
#: Strings that hold a timestamp: their type says only str.
_FORMATS: dict[tuple[type, str], str] = {
    (ReportDict, "started"): "date-time",
    (CertDict, "not_after"): "date-time",
}
_JUST_A_NAME = re.compile(r"`\w+`\.")  # a TypedDict docstring that only names what it renders
_BODY = 4  # the column of a top-level class's body, as ruff format writes it
_SCALARS: dict[object, dict[str, Any]] = {
    type(None): {"type": "null"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    object: {},  # any JSON value (a param's value)
}


def generate_schema() -> dict[str, Any]:
    """Return the schema of `report_to_dict`'s output, as rendered by `render_json`.

    Types give the structure: TypedDicts become objects (every key required unless
    ``NotRequired``), ``X | None`` nullable, `StrEnum`s enums, ``Literal`` constants. What
    types cannot say is added here: the dialect, id and title; ``format`` for timestamps;
    descriptions (a key's comment in `json_shape`, else the comment on the field it renders
    in `smtpcheck.results`; an object's or enum's class docstring, with each member's comment);
    and ``additionalProperties: true`` on every object, since the report may gain keys. The
    root's description states that compatibility rule, taken from json_'s docstring (its
    second paragraph) so that it is written once.
    """
    defs: dict[str, Any] = {}
    root = _object(ReportDict, defs)
    rule = _paragraph(json_.__doc__ or "", 1).replace("``", "`")  # reST to Markdown
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": f"smtpcheck JSON report, schema {SCHEMA_VERSION}",
        **root,
        "description": f"{root['description']} {rule}",
        "$defs": dict(sorted(defs.items())),
    }


def schema_json() -> str:
    """Return the generated schema as the shipped file holds it."""
    return json.dumps(generate_schema(), indent=2, ensure_ascii=False) + "\n"


def _object(shape: type, defs: dict[str, Any]) -> dict[str, Any]:
    # get_type_hints keeps NotRequired; on Python 3.11 __required_keys__ does not, under
    # postponed annotations, so the hints decide what is required.
    hints = typing.get_type_hints(shape, include_extras=True)
    properties: dict[str, Any] = {}
    required = []
    for key, hint in hints.items():
        if typing.get_origin(hint) is typing.NotRequired:
            hint = typing.get_args(hint)[0]
        else:
            required.append(key)
        schema = _schema(hint, defs)
        if (shape, key) in _FORMATS:
            schema = {**schema, "format": _FORMATS[shape, key]}
        description = _key_description(shape, key)
        properties[key] = (
            {"description": _sentence(description), **schema} if description else schema
        )
    return {
        "type": "object",
        "description": _object_description(shape),
        "properties": properties,
        "required": required,
        "additionalProperties": True,  # the report may gain keys: see the compatibility rule
    }


def _schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType or origin is typing.Union:
        return _nullable(hint, args, defs)
    if origin is typing.Literal and len(args) == 1:
        return {"const": args[0]}
    if origin is list:
        return {"type": "array", "items": _schema(args[0], defs)}
    if origin is dict and args[0] is str:
        values = _schema(args[1], defs)
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        defs.setdefault(hint.__name__, _enum(hint))
        return {"$ref": f"#/$defs/{hint.__name__}"}
    if typing.is_typeddict(hint):
        name = hint.__name__.removesuffix("Dict")  # named as the JSON object, not its type
        if name not in defs:
            defs[name] = {}  # claimed first, should a shape ever contain itself
            defs[name] = _object(hint, defs)
        return {"$ref": f"#/$defs/{name}"}
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    raise TypeError(f"no JSON Schema for {hint!r}: teach json_schema the type")


def _nullable(hint: Any, args: tuple[Any, ...], defs: dict[str, Any]) -> dict[str, Any]:
    others = [a for a in args if a is not type(None)]
    if len(others) != 1 or len(args) != 2:
        raise TypeError(f"no JSON Schema for {hint!r}: only X | None is a JSON type")
    inner = _schema(others[0], defs)
    if set(inner) == {"type"}:  # a scalar: one type list reads best
        return {"type": [inner["type"], "null"]}
    return {"anyOf": [inner, {"type": "null"}]}


def _enum(enum: type[StrEnum]) -> dict[str, Any]:
    notes = _comments(enum)
    described = [f"{m.value}: {notes[m.name]}" for m in enum if m.name in notes]
    text = " ".join([_summary(enum), *(f"{d}." for d in described)])
    return {"type": "string", "description": text, "enum": [m.value for m in enum]}


def _object_description(shape: type) -> str:
    own = " ".join((shape.__doc__ or "").split())
    if own and not _JUST_A_NAME.fullmatch(own):
        return own.replace("`", "")
    return _summary(_RENDERS[shape])


def _key_description(shape: type, key: str) -> str | None:
    for cls in (shape, *_EXTENDS.get(shape, ())):  # json_shape's own comment comes first
        if key in _comments(cls):
            return _comments(cls)[key]
    rendered, field = _FIELD_OF.get((shape, key), (_RENDERS[shape], key))
    return _comments(rendered).get(field)


def _sentence(comment: str) -> str:
    # Comments are written for code readers, lower case and without a full stop.
    text = comment[:1].upper() + comment[1:]
    return text if text.endswith((".", "…")) else f"{text}."


def _summary(cls: type) -> str:
    return _paragraph(inspect.getdoc(cls) or "", 0)


def _paragraph(doc: str, index: int) -> str:
    paragraphs = [p for p in inspect.cleandoc(doc).split("\n\n") if p.strip()]
    return " ".join(paragraphs[index].split()) if index < len(paragraphs) else ""


@functools.cache  # each class's source is read once per generation, not once per key
def _comments(cls: type) -> dict[str, str]:
    """Return the comment of each field or member of a class: on its line, or just above it."""
    lines = inspect.getsource(cls).splitlines(keepends=True)
    by_line: dict[int, list[tokenize.TokenInfo]] = {}
    for token in tokenize.generate_tokens(iter(lines).__next__):
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            by_line.setdefault(token.start[0], []).append(token)
    found: dict[str, str] = {}
    above: list[str] = []
    for number in range(1, len(lines) + 1):
        tokens = by_line.get(number, [])
        comments = [t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT]
        code = [t for t in tokens if t.type != tokenize.COMMENT]
        if not code and comments and tokens[0].start[1] == _BODY:
            above.extend(comments)  # a comment block, for the field below it
            continue
        name = _field(code)
        text = " ".join(comments or above)
        if name is not None and text:
            found[name] = text
        above = []  # anything else (a blank line, a docstring, a method) ends the block
    return found


def _field(code: list[tokenize.TokenInfo]) -> str | None:
    """Return the name a line of the class body declares (``name: type``, ``NAME = value``)."""
    if len(code) > 1 and code[0].type == tokenize.NAME and code[0].start[1] == _BODY:
        return code[0].string if code[1].string in (":", "=") else None
    return None
