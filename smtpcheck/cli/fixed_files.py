"""``check --write-fixed DIR``: one corrected gateway file per suggestion.

Each file holds the gateway object as its source wrote it with the suggested params patched in:
``"${NAME}"`` references and every other key stay as they were, so the file can replace the
original. A gateway that came from the panel API gets what `smtpcheck fetch` writes: its
password redacted and any ``${`` text escaped. Files are created with mode 0600.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.fetch_cmd import prepare_for_file, write_private
from smtpcheck.config.documents import GatewayEntry
from smtpcheck.results import GatewayReport, Suggestion

__all__ = ["fixed_gateway", "write_fixed_files"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def write_fixed_files(
    directory: Path,
    entries: Sequence[GatewayEntry],
    gateways: Sequence[GatewayReport],
    *,
    api_source: str | None,
) -> list[Path]:
    """Write a corrected file for each gateway with a suggestion; return the paths written.

    ``entries`` and ``gateways`` are the run's inventory and its report, in the same order.

    Raises:
        click.ClickException: the directory or a file cannot be written.
    """
    fixes = [
        (entry, entry.written, gateway.suggestion)
        for entry, gateway in zip(entries, gateways, strict=True)
        if gateway.suggestion is not None and entry.written is not None
    ]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {directory}: {exc.strerror}") from exc
    written: list[Path] = []
    names: set[str] = set()
    for entry, as_written, suggestion in fixes:
        data = fixed_gateway(as_written, suggestion, from_api=entry.source == api_source)
        path = directory / _file_name(entry, names)
        write_private(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def fixed_gateway(
    written: Mapping[str, object], suggestion: Suggestion, *, from_api: bool
) -> dict[str, Any]:
    """Return the gateway object as written, with the suggestion's params set in it."""
    data: dict[str, Any] = (
        prepare_for_file(dict(written), redact=True) if from_api else copy.deepcopy(dict(written))
    )
    params = data.get("params")
    # Keys already there keep their place; a key the config left out goes at the end.
    data["params"] = {**(params if isinstance(params, dict) else {}), **suggestion.params}
    return data


def _file_name(entry: GatewayEntry, taken: set[str]) -> str:
    if entry.id is not None:
        stem = f"gateway-{entry.id}"
    else:
        place = f"{Path(entry.source).stem}{entry.position}"
        stem = "gateway-" + (_UNSAFE.sub("-", place).strip("-.") or "unnamed")
    name, number = f"{stem}.json", 1
    while name in taken:  # the same id twice (SC005): both are written
        number += 1
        name = f"{stem}-{number}.json"
    taken.add(name)
    return name
