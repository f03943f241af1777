"""``check --write-fixed``: each gateway that got a suggestion, corrected, and its file name.

Each corrected gateway is the object as its source wrote it with the suggested params patched
in: ``"${NAME}"`` references and every other key stay as they were, so the file can replace the
original. A gateway that came from the panel API gets what `smtpcheck fetch` writes: its
password redacted and any ``${`` text escaped. Writing the files is the command line's job.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtpcheck.config.documents import GatewayEntry
from smtpcheck.config.saving import prepare_for_file
from smtpcheck.results import GatewayReport, Suggestion

__all__ = ["FixedGateway", "fixed_gateway", "fixed_gateways"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class FixedGateway:
    """One corrected gateway: the file name to give it and the JSON text to write."""

    name: str
    text: str


def fixed_gateways(
    entries: Sequence[GatewayEntry],
    gateways: Sequence[GatewayReport],
    *,
    api_source: str | None,
) -> list[FixedGateway]:
    """Return a corrected gateway for each gateway with a suggestion, named uniquely.

    ``entries`` and ``gateways`` are the run's inventory and its report, in the same order.
    """
    fixed: list[FixedGateway] = []
    names: set[str] = set()
    for entry, gateway in zip(entries, gateways, strict=True):
        if gateway.suggestion is None or entry.written is None:
            continue
        data = fixed_gateway(entry.written, gateway.suggestion, from_api=entry.source == api_source)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        fixed.append(FixedGateway(_file_name(entry, names), text))
    return fixed


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
