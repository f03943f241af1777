"""Decide what a machine that cannot run the private Postfix does: skip, or fail under CI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

__all__ = ["refuse"]


def refuse(reason: str, env: Mapping[str, str] = os.environ) -> NoReturn:
    """Skip with ``reason``, or fail under ``CI=true``: CI installs Postfix, a skip hides a bug.

    Raises:
        pytest.skip.Exception: outside CI.
        pytest.fail.Exception: under CI=true.
    """
    message = f"private Postfix + Dovecot instance unavailable: {reason}"
    if env.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: these tests must run, not skip)", pytrace=False)
    pytest.skip(message)
