"""Decide what a machine without a real part the suite needs does: skip, or fail under CI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

__all__ = ["refuse"]


def refuse(message: str, env: Mapping[str, str] = os.environ) -> NoReturn:
    """Skip with ``message``, or fail under ``CI=true``: CI installs the part, a skip hides a bug.

    Raises:
        pytest.skip.Exception: outside CI.
        pytest.fail.Exception: under CI=true.
    """
    if env.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: these tests must run, not skip)", pytrace=False)
    pytest.skip(message)
