"""Servers on a thread of their own, for the commands that run their own event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.servers import Smtpd


@pytest.fixture
def threaded_server() -> Iterator[Callable[[Any], Any]]:
    """Start servers (tests/support/servers.py) in an event loop on another thread; all stop after.

    For commands run in this process: they run their own event loop, and block this one.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: list[Any] = []

    def start(server: Any) -> Any:
        started.append(server)
        return asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)

    yield start
    for server in started:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def threaded_smtpd(certs: Any, threaded_server: Callable[[Any], Any]) -> Smtpd:
    """A STARTTLS server with AUTH on a thread of its own."""
    server: Smtpd = threaded_server(Smtpd(tls_context=certs.good, auth=True))
    return server
