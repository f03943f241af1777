"""`smtpcheck serve` against the private Postfix + Dovecot: STARTTLS, AUTH, certificate expiry.

The same gateways as the check tests, checked by the exporter: what Prometheus would scrape says
the gateway works, when its certificate expires, and that a wrong password fails it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.postfix.test_postfix_cli import _gateway
from tests.support.cli import environment
from tests.support.postfix.harness import PostfixInstance

pytestmark = pytest.mark.postfix


def _series(metrics: str, name: str) -> dict[str, float]:
    """Return the value of each series of one family, by its gateway label."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.rpartition(" ")
            gateway = labels.split('gateway="', 1)[1].split('"', 1)[0]
            found[gateway] = float(value)
    return found


def test_postfix_serve_reports_starttls_auth_and_the_certificate(
    postfix: PostfixInstance, tmp_path: Path
) -> None:
    good = _gateway(postfix, postfix.ports.submission, starttls=True, auth=True)
    bad = {**_gateway(postfix, postfix.ports.submission, starttls=True, auth=True,
                      password="not-the-password"), "id": 8}  # fmt: skip
    (tmp_path / "fleet.json").write_text(json.dumps([good, bad]))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "smtpcheck", "serve", str(tmp_path / "fleet.json"),
         "--listen", f"127.0.0.1:{port}", "--interval", "2s", "--ca-file", str(postfix.ca_pem),
         "--ehlo", "client.test", "--timeout", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment(),
    )  # fmt: skip
    try:
        metrics = _ready_metrics(f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr.decode()
    assert _series(metrics, "smtpcheck_gateway_works") == {"7": 1.0, "8": 0.0}
    expiry = _series(metrics, "smtpcheck_tls_cert_expiry_timestamp_seconds")
    assert expiry["7"] > time.time(), expiry
    assert _series(metrics, "smtpcheck_live_findings").get("8") == 1.0  # SC702, once
    assert postfix.password not in metrics and "not-the-password" not in metrics


def _ready_metrics(base: str, *, within: float = 60.0) -> str:
    deadline = time.monotonic() + within
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{base}/-/ready").status_code == 200:
                    return client.get(f"{base}/metrics").text
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
    raise AssertionError("serve never became ready")
