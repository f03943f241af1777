"""One private Postfix + Dovecot in IMAP mode for every delivery test that reads a real mailbox."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postfix.gate import refuse
from tests.support.postfix.harness import (
    HarnessError,
    ImapAccess,
    PostfixInstance,
    missing_requirements,
    start,
    stop,
)


@pytest.fixture(scope="package")
def instance() -> Iterator[PostfixInstance]:
    """The instance, beside the session's SASL-only one; started once for the package."""
    reason = missing_requirements(imap=True)
    if reason is not None:
        refuse(reason)
    # Not pytest's tmp_path: its base directory is 0700, and the daemons run as other users.
    root = Path(tempfile.mkdtemp(prefix="smtpcheck-imap-"))
    try:
        started = start(root, imap=True)
    except HarnessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"private Postfix + Dovecot IMAP did not start: {exc}", pytrace=False)
    yield started
    stop(root)
    shutil.rmtree(root)


@pytest.fixture
def imap(instance: PostfixInstance) -> ImapAccess:
    """How to reach the instance's IMAP user."""
    assert instance.imap is not None
    return instance.imap
