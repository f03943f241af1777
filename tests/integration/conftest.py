"""A black hole, and servers on a thread of their own for commands that run their own loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.servers import HOST, Smtpd


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops every further SYN, silently."""
    server = socket.socket()
    server.bind((HOST, 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((HOST, port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for sock in (*fillers, server):
        sock.close()


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
