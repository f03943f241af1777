"""The real Prometheus server (Debian ``prometheus``) on 127.0.0.1, scraping what a test serves.

`start_prometheus` writes a config with one job per `Scrape` (every second), starts the server
with a temporary TSDB, and returns once every target has been scraped (``/api/v1/targets``);
`PrometheusServer.query` runs PromQL through ``/api/v1/query``, `PrometheusServer.stop` ends it.
Without the binary: a skip, a failure under CI=true. Observed with Debian's 2.42: the API
answers within 0.2 s, but the first scrape comes some 5 s after start, because the scrape
manager takes new targets on a fixed 5 s tick that no flag shortens.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.gate import refuse

__all__ = [
    "PrometheusServer",
    "Scrape",
    "Target",
    "find_prometheus",
    "prometheus_server",
    "start_prometheus",
]

_DEBIAN = "/usr/bin/prometheus"
_HOST = "127.0.0.1"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Scrape:
    """One scrape job: Prometheus asks ``http://{target}{path}`` every second."""

    job: str
    target: str  # host:port
    path: str = "/metrics"


@dataclass(frozen=True, slots=True)
class Target:
    """A target as ``/api/v1/targets`` reports it."""

    job: str
    url: str
    health: str  # "up", "down", or "unknown" until the first scrape
    last_error: str


class PrometheusServer:
    """A running Prometheus: its API, its log, and how long it took to scrape every target."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.startup_s = 0.0  # from the start of the process to every target scraped once

    def text_of_log(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def targets(self) -> list[Target]:
        data = self._get("/api/v1/targets", {"state": "active"})
        return [
            Target(t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"])
            for t in data["activeTargets"]
        ]

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """Return each series of an instant query as (labels, value).

        Raises:
            AssertionError: Prometheus refused the query.
        """
        data = self._get("/api/v1/query", {"query": promql})
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(series["metric"], float(series["value"][1])) for series in data["result"]]

    def wait_until_scraped(self, count: int, timeout: float = _START_TIMEOUT) -> list[Target]:
        """Return the targets once ``count`` of them have each been scraped at least once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited {self.process.returncode}: {self.text_of_log()}")
            try:
                targets = self.targets()
            except (httpx.TransportError, _Starting):
                targets = []
            if len(targets) >= count and all(t.health != "unknown" for t in targets):
                return targets
            time.sleep(0.1)
        pytest.fail(f"prometheus scraped no target in {timeout} s: {self.text_of_log()}")

    def stop(self) -> None:
        """End the server: SIGTERM, then SIGKILL when it lingers."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=_STOP_TIMEOUT)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        with httpx.Client(trust_env=False, timeout=5.0) as client:  # no proxy for loopback
            response = client.get(f"{self.url}{path}", params=params)
        if response.status_code == httpx.codes.SERVICE_UNAVAILABLE:
            raise _Starting(response.text)  # "Service Unavailable", as text, while it starts
        answer = response.json()
        assert answer["status"] == "success", f"{path} {params}: {answer}"
        return answer["data"]


class _Starting(Exception):
    """The API is up but the server is not ready yet."""


def find_prometheus() -> str:
    """Return the path of the Prometheus server, refusing the test when it is not installed."""
    found = shutil.which("prometheus") or _DEBIAN
    if not os.access(found, os.X_OK):
        refuse("the Prometheus server is not installed (Debian: apt-get install prometheus)")
    return found


def start_prometheus(
    directory: Path, scrapes: Sequence[Scrape], *, timeout: float = _START_TIMEOUT
) -> PrometheusServer:
    """Start Prometheus scraping ``scrapes``; return once each target was scraped once.

    Blocks for some seconds: from a test's event loop, call it through ``asyncio.to_thread``
    so that the loop goes on serving the scrapes.
    """
    binary = find_prometheus()
    config = directory / "prometheus.yml"
    config.write_text(json.dumps(_config(scrapes)), "utf-8")  # JSON is YAML
    for _ in range(_ATTEMPTS):  # another process may take the free port before Prometheus
        started = time.monotonic()
        server = _launch(binary, directory, config, _free_port())
        try:
            server.wait_until_scraped(len(scrapes), timeout)
        except BaseException:
            server.stop()
            if "address already in use" in server.text_of_log():
                continue
            raise
        server.startup_s = time.monotonic() - started
        return server
    pytest.fail(f"prometheus found no free port in {_ATTEMPTS} attempts")


def _launch(binary: str, directory: Path, config: Path, port: int) -> PrometheusServer:
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'tsdb'}",
        f"--web.listen-address={_HOST}:{port}",
        "--log.level=warn",  # quiet: the log is read only when something went wrong
    ]
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    return PrometheusServer(process, f"http://{_HOST}:{port}", log)


@contextmanager
def prometheus_server(
    directory: Path, scrapes: Sequence[Scrape], *, timeout: float = _START_TIMEOUT
) -> Iterator[PrometheusServer]:
    """Run Prometheus for the ``with`` block (see `start_prometheus`)."""
    server = start_prometheus(directory, scrapes, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


def _config(scrapes: Sequence[Scrape]) -> dict[str, object]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1m"},
        "scrape_configs": [
            {
                "job_name": scrape.job,
                "metrics_path": scrape.path,
                "static_configs": [{"targets": [scrape.target]}],
            }
            for scrape in scrapes
        ],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port
