"""How gateway data is written to a file so that reading it back gives exactly what was sent.

Used by `smtpcheck fetch` and by ``check --write-fixed``.
"""

from __future__ import annotations

import math
from typing import Any

from smtpcheck.config.params import REDACTED, escape_reference, is_secret_param

__all__ = ["prepare_for_file"]


def prepare_for_file(value: Any, *, redact: bool) -> Any:
    """Return a copy of API data that reads back, from a file, as exactly what the API sent.

    Filled-in passwords (and keys that look like one) become `REDACTED` when ``redact``; an empty
    or null password stays as it is, so a saved list still shows which gateways have none
    (SC301). Text starting with ``${`` gets one more dollar, so that reading the file back never
    takes a panel-supplied ``"${NAME}"`` from this machine's environment. A number too long to
    read (kept as infinity) is written as text saying so: JSON has no infinity (RFC 8259 §6),
    and the file must stay JSON.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED
            if redact and is_secret_param(str(key)) and item not in (None, "")
            else prepare_for_file(item, redact=redact)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [prepare_for_file(item, redact=redact) for item in value]
    if isinstance(value, str):
        return escape_reference(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{'-' if value < 0 else ''}(a number too long to read)"
    return value
