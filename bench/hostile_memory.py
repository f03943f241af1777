"""What a hostile panel or server costs a run: peak memory (RSS) and wall time, bounded or not.

Usage: python -m bench.hostile_memory [--runs 3] [--source CHECKOUT]

Each case is one child process (``smtpcheck validate --api-url …`` against a panel, or
``smtpcheck check`` against an SMTP server, both threads of this process on 127.0.0.1); the
figure is its peak RSS (``ru_maxrss``) and wall time, with the exit code. Cases:

- gzip-bomb: the panel's answer is 1 MiB of gzip that inflates to 1 GiB of JSON whitespace.
- big-body: 200 MB of plain JSON whitespace, sent as fast as loopback takes it.
- extensions: an SMTP server whose EHLO reply lists 100 000 extensions.
- endless-line: an SMTP server that greets ``220 `` and then never ends the line.

Unit tests check that each case ends as a clear error or finding; this bench says what it
costs, which a unit test must not time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import socketserver
import statistics
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.fleetsetup import EHLO, machine, run

_MIB = 1024 * 1024
_BOMB_INFLATED = 1024 * _MIB
_BIG_BODY = 200 * 1000 * 1000
_EXTENSIONS = 100_000
HASH = "feedfacefeedfacefeedfacefeedface"


def _gzip_bomb() -> bytes:
    # Whitespace is valid around a JSON value: only the size can refuse it.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    block = b" " * _MIB
    parts = [packer.compress(block) for _ in range(_BOMB_INFLATED // _MIB)]
    return b"".join(parts) + packer.flush()


class _Panel(BaseHTTPRequestHandler):
    bomb = b""
    case = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.case == "gzip-bomb":
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(self.bomb)))
            self.end_headers()
            self._send(self.bomb)
            return
        self.send_header("Content-Length", str(_BIG_BODY))
        self.end_headers()
        chunk = b" " * _MIB
        for _ in range(_BIG_BODY // _MIB):
            if not self._send(chunk):
                return
        self._send(b" " * (_BIG_BODY % _MIB))

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
        except OSError:  # the client gave up, as it should
            return False
        return True

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Smtp(socketserver.BaseRequestHandler):
    case = ""

    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            if self.case == "endless-line":
                sock.sendall(b"220 ")
                while True:
                    sock.sendall(b"x" * 65536)
            sock.sendall(b"220 mx.test ESMTP\r\n")
            reader = sock.makefile("rb")
            while line := reader.readline():
                if line.upper().startswith((b"EHLO", b"HELO")):
                    lines = b"".join(b"250-X-EXT-%d\r\n" % i for i in range(_EXTENSIONS))
                    sock.sendall(lines + b"250 OK\r\n")
                elif line.upper().startswith(b"QUIT"):
                    sock.sendall(b"221 bye\r\n")
                    return
                else:
                    sock.sendall(b"250 OK\r\n")
        except OSError:
            return


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection still served does not hold the bench up at the end
    allow_reuse_address = True


@contextmanager
def _serving(server: socketserver.BaseServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = server.server_address
        assert isinstance(address, tuple)
        yield int(address[1])
    finally:
        server.shutdown()
        server.server_close()


def _gateway_file(path: Path, port: int) -> None:
    params = {
        "mail.smtp.host": "127.0.0.1",
        "mail.smtp.port": port,
        "mail.smtp.auth": False,
        "mail.smtp.timeout": 5000,
        "mail.smtp.connectiontimeout": 5000,
    }
    gateway = {"id": 1, "leasable": False, "label": "hostile", "provider": "smtp", "params": params}
    path.write_text(json.dumps(gateway))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", type=Path, help="a checkout whose smtpcheck package to run")
    args = parser.parse_args()
    if args.source is not None:  # -P: not the package in the working directory
        smtpcheck = ["env", f"PYTHONPATH={args.source.resolve()}", sys.executable, "-P", "-m"]
        smtpcheck.append("smtpcheck")
    else:
        smtpcheck = [shutil.which("smtpcheck") or "smtpcheck"]
    _Panel.bomb = _gzip_bomb()
    print(f"machine before: {machine()}", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in ("gzip-bomb", "big-body", "extensions", "endless-line"):
            with _server(case) as port:
                command = [*smtpcheck, *_arguments(case, port, Path(tmp))]
                results = [run(command) for _ in range(args.runs)]
            for result in results:
                print(
                    f"  {case:12} {result.wall:6.2f} s {result.max_rss_kib / 1024:7.1f} MiB "
                    f"exit {result.status}",
                    file=sys.stderr,
                )
            rows.append((case, command, results))
    print(f"machine after: {machine()}", file=sys.stderr)
    print("| hostile case | peak RSS MiB (median) | wall s (median) | exit |")
    print("|---|---:|---:|---|")
    for case, _, results in rows:
        rss = statistics.median(r.max_rss_kib / 1024 for r in results)
        wall = statistics.median(r.wall for r in results)
        codes = "/".join(sorted({str(r.status) for r in results}))
        print(f"| {case} | {rss:.1f} | {wall:.2f} | {codes} |")
    print()
    for case, command, _ in rows:
        print(f"- {case}: `{' '.join(command)}`")


@contextmanager
def _server(case: str) -> Iterator[int]:
    server: socketserver.BaseServer
    if case in ("gzip-bomb", "big-body"):
        handler = type("Panel", (_Panel,), {"case": case})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    else:
        handler = type("Smtp", (_Smtp,), {"case": case})
        server = _SmtpServer(("127.0.0.1", 0), handler)
    with _serving(server) as port:
        yield port


def _arguments(case: str, port: int, tmp: Path) -> list[str]:
    if case in ("gzip-bomb", "big-body"):
        url = f"http://127.0.0.1:{port}/v2"
        return ["validate", "--api-url", url, "--hash", HASH, "--api-timeout", "6"]
    config = tmp / f"{case}.json"
    _gateway_file(config, port)
    return ["check", str(config), "--timeout", "5", "--ehlo", EHLO, "--format", "json"]


if __name__ == "__main__":
    main()
