"""Read gateway sources (files, directories, stdin, API payloads) into `SourceDocument`s.

Every shape the panel produces is recognised: one gateway object, an array of them, or the whole
``list`` response. A file that is not JSON, or a gateway that does not validate, is recorded in the
document and the rest is still read; only a path that cannot be read at all raises.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from smtpcheck.config.documents import (
    FieldError,
    GatewayEntry,
    JsonError,
    Shape,
    SourceDocument,
    UnsetVariable,
)
from smtpcheck.config.javamail import settings_of
from smtpcheck.config.models import LeasableGateway, OwnGateway, json_kind
from smtpcheck.config.params import (
    BOOL_PARAMS,
    INT_PARAMS,
    REDACTED,
    is_escaped_reference,
    is_secret_param,
)
from smtpcheck.errors import ConfigLoadError
from smtpcheck.results import STDIN_SOURCE, GatewayKind

__all__ = [
    "STDIN",
    "document_from_data",
    "expand_paths",
    "json_int",
    "load_paths",
    "parse_document",
    "source_name",
]

#: The path that means "read standard input".
STDIN = "-"

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Return the files to read: files as given, every ``*.json`` below each directory, sorted.

    Raises:
        ConfigLoadError: a path does not exist, cannot be looked at (a name too long for the
            system…), or is a directory that holds no ``*.json`` file.
    """
    files: list[str] = []
    for raw in paths:
        if raw == STDIN:
            files.append(raw)
            continue
        path = Path(raw)
        try:
            # Path.is_dir() and exists() say False for a missing file, but raise for a name the
            # system refuses outright (ENAMETOOLONG): that is a usage error, not a bug.
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as exc:
            raise ConfigLoadError(f"{_shown(raw)}: {exc.strerror}", path=raw) from exc
        if is_dir:
            found = sorted(
                p for p in path.rglob("*.json") if p.is_file() and not _hidden(p.relative_to(path))
            )
            if not found:
                raise ConfigLoadError(f"{_shown(raw)}: no *.json files in this directory", path=raw)
            files.extend(str(p) for p in found)
        elif exists:
            files.append(raw)
        else:
            raise ConfigLoadError(f"{_shown(raw)}: no such file or directory", path=raw)
    return files


def source_name(path: str) -> str:
    """Return how reports name a file source, however its path was typed.

    The path relative to the working directory when the file is inside it, else the absolute
    path; normalised (no ``.`` or ``..``) and in POSIX form. Symlinks are not resolved, so a
    CI workspace that is a link keeps its own name: ``./fleet.json``, ``fleet.json``,
    ``../ws/fleet.json`` (from ``ws``) and ``/ci/ws/fleet.json`` are all ``fleet.json``.
    """
    try:
        physical = os.getcwd()
    except OSError:  # the working directory was removed: only the path itself is left
        return Path(os.path.normpath(path)).as_posix()
    # The shell's name for the directory ($PWD, when it is that directory and has no '.' or
    # '..' in it) is how the user sees it; getcwd() has every link in it resolved.
    logical = os.environ.get("PWD", "")
    if logical != os.path.normpath(logical) or not _same_directory(logical, physical):
        logical = physical
    full = os.path.normpath(os.path.join(logical, path))  # by the text: no link is followed
    for root in dict.fromkeys((logical, physical)):
        inside = root.rstrip(os.sep) + os.sep
        if full.startswith(inside):
            return Path(full[len(inside) :]).as_posix()
    return Path(full).as_posix()


def _same_directory(logical: str, physical: str) -> bool:
    try:
        return os.path.isabs(logical) and os.path.samefile(logical, physical)
    except (OSError, ValueError):  # gone, unreadable, or a NUL in $PWD
        return False


def _shown(path: str) -> str:
    # As typed, unless it holds what would not print on one line (a line break, a control, a
    # lone surrogate): then quoted and escaped by repr(), as option values are quoted.
    return path if path.isprintable() else repr(path)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def load_paths(
    paths: Sequence[str], *, environ: Mapping[str, str], stdin: BinaryIO | None = None
) -> Iterator[SourceDocument]:
    """Read and parse each source in turn; ``-`` reads ``stdin``.

    Raises:
        ConfigLoadError: a path does not exist or cannot be read.
    """
    for name in expand_paths(paths):
        if name == STDIN:
            if stdin is None:
                raise ConfigLoadError("-: standard input is not available", path=name)
            yield parse_document(stdin.read(), source=STDIN_SOURCE, environ=environ)
            continue
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise ConfigLoadError(
                f"{_shown(name)}: cannot read: {exc.strerror}", path=name
            ) from exc
        yield parse_document(data, source=source_name(name), environ=environ)


def parse_document(
    data: bytes, *, source: str, environ: Mapping[str, str] | None
) -> SourceDocument:
    """Parse one document; ``environ`` resolves ``"${NAME}"`` values (None: leave them as is)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return SourceDocument(source, None, json_error=JsonError(line, column, "not UTF-8 text"))
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=json_int)
    except json.JSONDecodeError as exc:
        return SourceDocument(source, None, json_error=JsonError(exc.lineno, exc.colno, exc.msg))
    except RecursionError:
        return SourceDocument(source, None, json_error=JsonError(1, 1, "nested too deeply"))
    except _NotJsonConstantError as exc:
        return SourceDocument(source, None, json_error=_constant_error(text, exc.name))
    if "$" not in text and REDACTED not in text:
        environ = None  # nothing to resolve: skip walking every value of every gateway
    return document_from_data(value, source=source, environ=environ)


# Python refuses to turn a string of more than 4 300 digits into an int (a guard against
# quadratic parsing); no port, timeout or id is that long, so such a number becomes infinity,
# which the models and rules report on its gateway instead of the parse failing for the file.
_MAX_DIGITS = 4000


def json_int(digits: str) -> int | float:
    """Read a JSON integer; one too long for Python to read is infinity (with its sign)."""
    if len(digits) > _MAX_DIGITS:
        return float("-inf") if digits.startswith("-") else float("inf")
    return int(digits)


class _NotJsonConstantError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> object:
    # Python's json reads NaN and Infinity, which are not JSON (RFC 8259 §6) and which no panel
    # writes; report them where they stand instead of passing a float on.
    raise _NotJsonConstantError(name)


def _constant_error(text: str, name: str) -> JsonError:
    # The decoder does not say where the constant was: find it as a value (after ':', '[' or ',').
    match = re.search(rf"(?<=[:\[,])\s*({re.escape(name)})", text)
    offset = match.start(1) if match else 0
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return JsonError(line, column, f"{name} is not a JSON value")


def document_from_data(
    value: object, *, source: str, environ: Mapping[str, str] | None = None
) -> SourceDocument:
    """Recognise the shape of parsed JSON and validate each gateway in it."""
    if isinstance(value, list):
        entries = tuple(
            _entry(item, source, f"[{i}]", _kind_of(item), environ) for i, item in enumerate(value)
        )
        return SourceDocument(source, Shape.ARRAY, entries)
    if not isinstance(value, dict):
        return SourceDocument(
            source,
            None,
            shape_error=f"expected a gateway object, an array of them or a list response, "
            f"got {json_kind(value)}",
        )
    if _is_list_response(value):
        return _list_response(value, source, environ)
    return SourceDocument(
        source, Shape.GATEWAY, (_entry(value, source, "", _kind_of(value), environ),)
    )


def _is_list_response(value: dict[str, object]) -> bool:
    # An own gateway carries `"leasable": false` (a flag), a list response `"leasable": [...]`:
    # an own gateway whose `params` were left out must still read as a gateway (SC002).
    if "params" in value:
        return False
    return "own" in value or "success" in value or isinstance(value.get("leasable"), list)


def _list_response(
    value: dict[str, object], source: str, environ: Mapping[str, str] | None
) -> SourceDocument:
    if value.get("success") is False:
        status = value.get("status")
        detail = ""
        if isinstance(status, dict):
            detail = f": status code {status.get('code')} ({status.get('description')})"
        return SourceDocument(
            source, None, shape_error=f"this is a failed API response{detail}, not a gateway list"
        )
    bound = value.get("bound_gateway")
    if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
        return SourceDocument(
            source, None, shape_error=f"bound_gateway must be a gateway id or null, got {bound!r}"
        )
    entries: list[GatewayEntry] = []
    for key, kind in (("own", GatewayKind.OWN), ("leasable", GatewayKind.LEASABLE)):
        items = value.get(key, [])
        if not isinstance(items, list):
            return SourceDocument(
                source, None, shape_error=f"{key} must be an array, got {json_kind(items)}"
            )
        entries.extend(
            _entry(item, source, f"{key}[{i}]", kind, environ) for i, item in enumerate(items)
        )
    return SourceDocument(source, Shape.LIST_RESPONSE, tuple(entries), bound_gateway=bound)


def _kind_of(item: object) -> GatewayKind:
    # Outside a list response the kind is not written down. Own gateways carry `params` (and the
    # API always sends their `leasable` flag); a hand-written one with `mail.*` keys at the top
    # level is an own gateway missing its `params` wrapper, not a leasable one.
    if isinstance(item, dict) and (
        "params" in item or "leasable" in item or any(str(k).startswith("mail.") for k in item)
    ):
        return GatewayKind.OWN
    return GatewayKind.LEASABLE if isinstance(item, dict) else GatewayKind.OWN


def _entry(
    item: object,
    source: str,
    position: str,
    kind: GatewayKind,
    environ: Mapping[str, str] | None,
) -> GatewayEntry:
    if not isinstance(item, dict):
        error = FieldError("", None, f"expected a gateway object, got {json_kind(item)}")
        return GatewayEntry(source, position, kind, None, None, None, errors=(error,))
    unset: list[UnsetVariable] = []
    redacted: list[str] = []
    written = item
    if environ is not None:
        item = _resolve(item, environ, unset, redacted)
    raw_id, raw_label = item.get("id"), item.get("label")
    gw_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    label = raw_label if isinstance(raw_label, str) else None
    model = OwnGateway if kind is GatewayKind.OWN else LeasableGateway
    try:
        gateway = model.model_validate(item)
    except ValidationError as exc:
        return GatewayEntry(
            source,
            position,
            kind,
            gw_id,
            label,
            None,
            errors=tuple(_field_errors(exc)),
            unset_variables=tuple(unset),
            redacted=tuple(redacted),
            written=written,
        )
    settings = settings_of(gateway.params) if isinstance(gateway, OwnGateway) else None
    return GatewayEntry(
        source,
        position,
        kind,
        gw_id,
        label,
        gateway,
        settings,
        unset_variables=tuple(unset),
        redacted=tuple(redacted),
        written=written,
    )


def _field_errors(exc: ValidationError) -> Iterator[FieldError]:
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [str(part) for part in error["loc"]]
        message = "required, but missing" if error["type"] == "missing" else error["msg"]
        yield FieldError(" → ".join(loc), loc[-1] if loc else None, message)


def _resolve(
    item: dict[str, object],
    environ: Mapping[str, str],
    unset: list[UnsetVariable],
    redacted: list[str],
) -> dict[str, object]:
    """Resolve what a file may say instead of a value, in the gateway and its params.

    ``"${NAME}"`` is taken from the environment; ``"$${NAME}"`` is the literal text ``${NAME}``
    (how `smtpcheck fetch` saves such values, so a panel-supplied value can never make a later
    run read this machine's environment); a password that `fetch` redacted becomes "none".
    """
    result: dict[str, object] = {}
    for key, value in item.items():
        if key == "params" and isinstance(value, dict):
            result[key] = _resolve(value, environ, unset, redacted)
        elif not isinstance(value, str) or (value[:1] != "$" and value != REDACTED):
            result[key] = value  # the common case: nothing to resolve
        elif is_escaped_reference(value):
            result[key] = value[1:]
        elif value == REDACTED and is_secret_param(key):
            redacted.append(key)
            result[key] = None
        elif match := _ENV_REFERENCE.fullmatch(value):
            name = match.group(1)
            if name in environ:
                result[key] = _typed(key, environ[name])
            else:
                unset.append(UnsetVariable(key, name))
                result[key] = None
        else:
            result[key] = value
    return result


def _typed(key: str, text: str) -> object:
    # An environment variable can only hold text. For a number or flag param, take the JSON
    # value it spells ("587", "true"), so a CI config reads the same as a typed one; anything
    # else stays text and SC004 reports it.
    if key in INT_PARAMS or key in BOOL_PARAMS or key == "id":
        try:
            value = json.loads(text)
        except ValueError:
            return text
        wanted = bool if key in BOOL_PARAMS else int
        if isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool)):
            return value
    return text
