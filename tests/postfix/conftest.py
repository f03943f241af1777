"""The session-wide private Postfix + Dovecot instance, and its logs on every failed test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.postfix.gate import refuse
from tests.support.postfix.harness import (
    HarnessError,
    PostfixInstance,
    log_tail,
    missing_requirements,
    start,
    stop,
)


@pytest.fixture(scope="session")
def postfix() -> Iterator[PostfixInstance]:
    """Run one instance for the whole session; skip (fail under CI=true) where it cannot run."""
    reason = missing_requirements()
    if reason is not None:
        refuse(reason)
    # Not pytest's tmp_path: its base directory is 0700, and the daemons run as other users.
    root = Path(tempfile.mkdtemp(prefix="smtpcheck-postfix-"))
    try:
        instance = start(root)
    except HarnessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"private Postfix did not start: {exc}", pytrace=False)
    yield instance
    stop(root)  # on HarnessError the directory stays, with the logs, for a post-mortem
    shutil.rmtree(root)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the tails of both daemon logs to a failed test that used the instance."""
    report = yield
    instance = getattr(item, "funcargs", {}).get("postfix")
    if report.failed and isinstance(instance, PostfixInstance):
        report.sections.append(("Postfix and Dovecot logs", log_tail(instance.root)))
    return report
