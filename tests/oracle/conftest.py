"""The JavaMail oracle harness, compiled once a session; skipped (failed under CI) without Java."""

from __future__ import annotations

import pytest

from tests.support.javamail import Harness, available, build_harness, refuse

__all__ = ["javamail"]


@pytest.fixture(scope="session")
def javamail(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    """The harness compiled into a session directory, with its hosts file and truststores."""
    reason = available()
    if reason is not None:
        refuse(reason)
    return build_harness(tmp_path_factory.mktemp("javamail"))
