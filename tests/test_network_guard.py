import asyncio
import socket

import pytest


def test_guard_refuses_dns_for_remote_names():
    with pytest.raises(socket.gaierror, match="test guard"):
        socket.getaddrinfo("smtp.example.com", 25)


def test_guard_refuses_connections_off_loopback():
    with socket.socket() as sock, pytest.raises(OSError, match="test guard"):
        sock.connect(("192.0.2.1", 25))


async def test_guard_covers_asyncio_connections():
    with pytest.raises(OSError, match="test guard"):
        await asyncio.open_connection("smtp.example.com", 25)


def test_guard_allows_loopback():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
