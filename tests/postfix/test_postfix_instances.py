"""Two instances side by side: scripts/postfix-instance next to the session's own instance."""

from __future__ import annotations

import secrets
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.support.postfix.harness import PostfixInstance

pytestmark = pytest.mark.postfix

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postfix-instance"


def _script(action: str, root: Path) -> subprocess.CompletedProcess[str]:
    # Pipes on purpose: a daemon that inherited them would make this call hang, not return.
    return subprocess.run(
        [sys.executable, str(SCRIPT), action, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _send_plain(host: str, port: int, token: str) -> None:
    with smtplib.SMTP(host, port, local_hostname="client.test", timeout=10) as smtp:
        smtp.sendmail("alerts@client.test", ["ops@example.test"], f"Subject: {token}\r\n\r\nhi\r\n")


def _holds(maildir: Path, token: str) -> bool:
    return any(token in path.read_text() for path in maildir.glob("*/*"))


def _wait_for(maildir: Path, token: str) -> bool:
    """Return whether ``token`` arrives in ``maildir``; delivery by qmgr is asynchronous."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _holds(maildir, token):
            return True
        time.sleep(0.05)
    return False


def test_postfix_script_instance_runs_beside_the_session_instance(postfix: PostfixInstance):
    root = Path(tempfile.mkdtemp(prefix="smtpcheck-postfix-script-"))
    started = _script("start", root)
    assert started.returncode == 0, started.stderr
    try:
        second = PostfixInstance.from_json(started.stdout)
        assert set(asdict(second.ports).values()).isdisjoint(asdict(postfix.ports).values())
        token = secrets.token_hex(8)
        _send_plain(second.host, second.ports.relay, token)
        assert _wait_for(second.maildir, token), "mail never reached the second instance"
        assert not _holds(postfix.maildir, token), "mail of the second instance reached the first"
    finally:
        stopped = _script("stop", root)
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(ConnectionRefusedError):
        _send_plain(second.host, second.ports.relay, "after stop")
    # Stopping the second instance left the session's own instance running.
    _send_plain(postfix.host, postfix.ports.relay, "still here")
    shutil.rmtree(root)
