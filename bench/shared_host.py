"""One silent relay shared by a whole fleet: one timeout or one per batch, and the per-host limit.

Usage: python -m bench.shared_host [--count 300] [--timeout 3] [--per-host 8 1] [--runs 3]
       [--one-name] [--source CHECKOUT]

Every gateway (STARTTLS + AUTH, its own user, config timeouts 10 s, capped by --timeout)
points at the same loopback port, spelt in several ways that all reach 127.0.0.1
(``127.0.0.1``, ``::ffff:127.0.0.1``, and the IPv4 forms Java reads as that address when this
tree accepts them: ``127.1``, ``2130706433``; with ``--one-name`` all ``127.0.0.1``). The
server, a thread of this process, accepts every connection, never says a word, and counts the
connections open at once: the peak it saw is the figure for the per-host limit, second looks
at the silent port included.

``smtpcheck check FILE --timeout T --per-host N --ehlo bench.test --format json -o REPORT``
runs as a child process; ``--source`` runs another checkout's package instead (e.g. a
worktree of an older commit, for the figure before a change). The table gives the median wall
time, the number of --timeout it amounts to, the peak of connections open at once, and how
the gateways failed.
"""

from __future__ import annotations

import argparse
import json
import selectors
import shutil
import socket
import statistics
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.fleetsetup import EHLO, Account, gateway, machine, run

SPELLINGS = ("127.0.0.1", "::ffff:127.0.0.1", "127.1", "2130706433")


class SilentServer:
    """Accepts on 127.0.0.1 (and IPv4-mapped IPv6), says nothing, counts open connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(
            ("::", 0), family=socket.AF_INET6, dualstack_ipv6=True, backlog=1024
        )
        self.port: int = self.listener.getsockname()[1]
        self.open = 0
        self.peak = 0
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            self.listener.setblocking(False)
            selector.register(self.listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    if key.fileobj is self.listener:
                        conn, _ = self.listener.accept()
                        conn.setblocking(False)
                        selector.register(conn, selectors.EVENT_READ)
                        self.accepted += 1
                        self.open += 1
                        self.peak = max(self.peak, self.open)
                        continue
                    peer = key.fileobj
                    assert isinstance(peer, socket.socket)
                    try:
                        data = peer.recv(65536)  # a ClientHello or EHLO: never answered
                    except OSError:
                        data = b""
                    if not data:
                        selector.unregister(peer)
                        peer.close()
                        self.open -= 1

    def reset(self) -> None:
        self.peak = self.open
        self.accepted = 0

    @contextmanager
    def running(self) -> Iterator[SilentServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self.listener.close()


def _fleet(path: Path, count: int, port: int, spellings: tuple[str, ...]) -> None:
    own = [
        gateway(
            i,
            host=spellings[i % len(spellings)],
            port=port,
            account=Account(f"gw{i:05d}@shared.test", f"shared-{i:05d}"),
        )
        for i in range(1, count + 1)
    ]
    path.write_text(json.dumps(own))


def _outcome(report: Path) -> str:
    gateways = json.loads(report.read_text())["gateways"]
    kinds = Counter(
        (gw.get("probe") or {}).get("failure") or f"not probed ({gw['status']})" for gw in gateways
    )
    shared = sum(bool((gw.get("probe") or {}).get("shared")) for gw in gateways)
    text = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return f"{text}; {shared} shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--per-host", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one-name", action="store_true", help="every gateway names 127.0.0.1")
    parser.add_argument("--source", type=Path, help="a checkout whose smtpcheck package to run")
    args = parser.parse_args()
    if args.source is not None:
        smtpcheck = [
            "env", f"PYTHONPATH={args.source.resolve()}", sys.executable, "-P", "-m", "smtpcheck",
        ]  # fmt: skip
    else:
        smtpcheck = [shutil.which("smtpcheck") or "smtpcheck"]
    rows, commands = [], []
    print(f"machine before: {machine()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp, SilentServer().running() as server:
        fleet, report = Path(tmp) / "fleet.json", Path(tmp) / "report.json"
        _fleet(fleet, args.count, server.port, SPELLINGS[:1] if args.one_name else SPELLINGS)
        for per_host in args.per_host:
            argv = [
                *smtpcheck, "check", str(fleet), "--timeout", f"{args.timeout:g}",
                "--per-host", str(per_host), "--ehlo", EHLO, "--format", "json", "-o", str(report),
            ]  # fmt: skip
            commands.append(argv)
            walls, peaks, outcomes = [], [], []
            for _ in range(args.runs):
                server.reset()
                result = run(argv)
                outcome = _outcome(report)
                print(
                    f"  per-host {per_host}: {result.wall:6.2f} s exit {result.status} "
                    f"peak {server.peak} accepted {server.accepted}  {outcome}",
                    file=sys.stderr,
                )
                walls.append(result.wall)
                peaks.append(server.peak)
                outcomes.append(outcome)
            rows.append((per_host, walls, peaks, outcomes))
    print(f"machine after: {machine()}", file=sys.stderr)
    names = "one name" if args.one_name else f"{len(SPELLINGS)} spellings"
    print(
        f"| {args.count} gateways, one silent host ({names}), --timeout {args.timeout:g} "
        "| median wall s "
        "| timeouts | runs s | peak open connections (limit) | outcome |"
    )
    print("|---|---:|---:|---|---:|---|")
    for per_host, walls, peaks, outcomes in rows:
        wall = statistics.median(walls)
        runs = " / ".join(f"{w:.2f}" for w in walls)
        same = outcomes[0] if len(set(outcomes)) == 1 else "; ".join(outcomes)
        print(
            f"| --per-host {per_host} | {wall:.2f} | {wall / args.timeout:.2f} | {runs} "
            f"| {max(peaks)} ({per_host}) | {same} |"
        )
    print()
    for argv in commands:
        print(f"- `{' '.join(argv)}`")


if __name__ == "__main__":
    main()
