"""Decide what a machine that cannot run the private Postfix does: skip, or fail under CI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

from tests.support import gate

__all__ = ["refuse"]


def refuse(reason: str, env: Mapping[str, str] = os.environ) -> NoReturn:
    """Skip with ``reason``, or fail under ``CI=true`` (see `tests.support.gate.refuse`)."""
    gate.refuse(f"private Postfix + Dovecot instance unavailable: {reason}", env)
