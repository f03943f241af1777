"""Gateways that never answer: does a fleet of them end in about one --timeout, not the sum?

Usage: python -m bench.blackholes [--count 200] [--timeout 3] [--runs 3]
       [--kind drop silent] [--concurrency N]

Each gateway (STARTTLS + AUTH, config timeouts 10 s, capped by --timeout) gets its own
loopback address, 127.0.1.1 upwards, all on one port, so neither the per-host limit nor the
runner's sharing of an unreachable endpoint helps: every probe waits on its own. Two kinds:

- drop: a listening socket with a backlog of 0 whose one queue slot is taken by a connection
  nobody accepts. Linux then drops every further SYN without an answer: what a firewall that
  DROPs looks like from outside (connect timeout, SC503). No firewall rules needed.
- silent: a listening socket that never accepts. The kernel completes the handshake, so the
  client is connected and waits for a greeting that never comes (SC504); after a second
  smtpcheck tries a TLS handshake on a second connection, which hangs too.

Both run in this process (no thread: the kernel does all the work) while
``smtpcheck check FILE --timeout T --ehlo bench.test --format json -o REPORT`` runs as a child
process. The table gives its median wall time over --runs, the slowest probe, and whether
every gateway failed the expected way.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.fleetsetup import EHLO, Account, gateway, machine, run

EXPECTED = {"drop": "connect_timeout", "silent": "no_greeting"}


def _address(index: int) -> str:
    # 127.0.1.1 … 127.0.1.254, then 127.0.2.1 …: never 127.0.0.x, where real services listen.
    return f"127.0.{1 + index // 254}.{index % 254 + 1}"


@contextmanager
def holes(kind: str, addresses: list[str]) -> Iterator[int]:
    """Listen on every address, all on one port, and yield the port; ``kind`` says how."""
    with ExitStack() as stack:
        first = stack.enter_context(socket.socket())
        first.bind((addresses[0], 0))
        port: int = first.getsockname()[1]
        listeners = [first]
        for address in addresses[1:]:
            sock = stack.enter_context(socket.socket())
            sock.bind((address, port))  # 127.0.x.y other than 127.0.0.1: nothing else there
            listeners.append(sock)
        for sock, address in zip(listeners, addresses, strict=True):
            if kind == "silent":
                sock.listen(64)  # never accepted: connected, and then nothing
                continue
            sock.listen(0)  # room for one connection in the accept queue
            # Held open until the end, never accepted: the queue is full from now on.
            stack.enter_context(socket.create_connection((address, port), timeout=2))
        _check_kind(kind, addresses[-1], port)
        yield port


def _check_kind(kind: str, address: str, port: int) -> None:
    """Make sure the listeners behave as described before timing anything."""
    try:
        with socket.create_connection((address, port), timeout=0.5) as sock:
            sock.settimeout(0.5)
            connected = True
            try:
                data = sock.recv(1)
            except TimeoutError:
                data = None
    except TimeoutError:
        connected, data = False, None
    if kind == "drop" and connected:
        raise SystemExit(f"{address}:{port} accepted a connection: the SYN was not dropped")
    if kind == "silent" and (not connected or data is not None):
        raise SystemExit(f"{address}:{port} did not stay connected and silent")


def _fleet(path: Path, addresses: list[str], port: int) -> None:
    own = [
        gateway(
            i,
            host=address,
            port=port,
            account=Account(f"gw{i:05d}@blackhole.test", f"blackhole-{i:05d}"),
        )
        for i, address in enumerate(addresses, start=1)
    ]
    path.write_text(json.dumps(own))


def _verdict(report: Path, expected: str) -> tuple[str, float]:
    gateways = json.loads(report.read_text())["gateways"]
    kinds = Counter((gw.get("probe") or {}).get("failure") for gw in gateways)
    slowest = max((gw.get("probe") or {}).get("ms", 0.0) for gw in gateways) / 1000
    text = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return ("yes: " if kinds == Counter({expected: len(gateways)}) else "NO: ") + text, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kind", nargs="+", choices=sorted(EXPECTED), default=["drop", "silent"])
    parser.add_argument("--concurrency", type=int, help="pass --concurrency N (default: none)")
    args = parser.parse_args()
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    if not 0 < args.count <= 254 * 254:
        raise SystemExit("--count: 1 to 64516")
    addresses = [_address(i) for i in range(args.count)]
    rows = []
    commands = []
    print(f"machine before: {machine()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kind:
            with holes(kind, addresses) as port:
                fleet, report = Path(tmp) / f"{kind}.json", Path(tmp) / f"{kind}-report.json"
                _fleet(fleet, addresses, port)
                argv = [
                    smtpcheck, "check", str(fleet), "--timeout", f"{args.timeout:g}",
                    "--ehlo", EHLO, "--format", "json", "-o", str(report),
                ]  # fmt: skip
                if args.concurrency is not None:
                    argv += ["--concurrency", str(args.concurrency)]
                commands.append((kind, argv))
                walls, verdicts, slowest = [], [], []
                for _ in range(args.runs):
                    result = run(argv)
                    verdict, slow = _verdict(report, EXPECTED[kind])
                    print(
                        f"  {kind:7} {result.wall:6.2f} s  exit {result.status}  "
                        f"load {result.load:.2f}  {verdict}",
                        file=sys.stderr,
                    )
                    walls.append(result.wall)
                    verdicts.append(verdict)
                    slowest.append(slow)
                rows.append((kind, walls, max(slowest), verdicts))
    print(f"machine after: {machine()}", file=sys.stderr)
    print(
        f"| black holes ({args.count}, --timeout {args.timeout:g}) | median wall s | runs s "
        "| slowest probe s | every gateway failed as expected |"
    )
    print("|---|---:|---|---:|---|")
    for kind, walls, slow, verdicts in rows:
        runs = " / ".join(f"{w:.2f}" for w in walls)
        same = verdicts[0] if len(set(verdicts)) == 1 else "; ".join(verdicts)
        print(f"| {kind} | {statistics.median(walls):.2f} | {runs} | {slow:.2f} | {same} |")
    print()
    for kind, argv in commands:
        print(f"- {kind}: `{' '.join(argv)}`")


if __name__ == "__main__":
    main()
