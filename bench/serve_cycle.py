"""`smtpcheck serve` against a private Postfix: a cycle beside `check`, and RSS over cycles.

Usage: python -m bench.serve_cycle [--gateways 1000] [--cycles 200] [--instance DIR]

It writes one STARTTLS + AUTH gateway per SASL user of the instance, times `smtpcheck check` of
that fleet, then starts `smtpcheck serve` on it with ``--interval 1s`` (so a cycle is as long as
its probes take: they are spread over 0.9 s only) and reads, after each complete cycle,
``smtpcheck_cycle_duration_seconds`` and ``process_resident_memory_bytes`` from its own
/metrics. It prints the first cycles' durations beside check's wall time, and the least-squares
slope of RSS per cycle over the cycles after the first ten (start-up and the first allocations
of every pool). Loopback only, every EHLO name given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.fleetsetup import EHLO, accounts, add_instance_option, machine, postfix, write_fleet

_WARM_UP = 10  # cycles left out of the slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    add_instance_option(parser)
    args = parser.parse_args()
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    print(f"machine before: {machine()}", file=sys.stderr)
    with postfix(args.instance) as instance, tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet.json"
        write_fleet(fleet, instance, accounts(instance, args.gateways))
        common = [
            "--per-host", str(args.concurrency), "--concurrency", str(args.concurrency),
            "--ca-file", str(instance.ca_pem), "--ehlo", EHLO, "--timeout", "10",
        ]  # fmt: skip
        began = time.monotonic()
        subprocess.run(
            [smtpcheck, "check", str(fleet), *common, "--format", "json", "-o", "/dev/null"],
            check=False,
        )
        check_s = time.monotonic() - began
        cycles = _serve(smtpcheck, fleet, common, args.cycles)
    print(f"machine after: {machine()}", file=sys.stderr)
    _table(args.gateways, check_s, cycles)


def _serve(
    smtpcheck: str, fleet: Path, common: list[str], count: int
) -> list[tuple[int, float, float]]:
    """Return (cycle number, its duration in s, RSS in bytes after it) for ``count`` cycles."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        smtpcheck, "serve", str(fleet), *common, "--interval", "1s",
        "--listen", f"127.0.0.1:{port}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=os.environ.copy())
    seen: list[tuple[int, float, float]] = []
    try:
        with httpx.Client(timeout=10) as client:
            while len(seen) < count:
                sample = _sample(client, f"http://127.0.0.1:{port}/metrics")
                if sample is not None and (not seen or sample[0] > seen[-1][0]):
                    seen.append(sample)
                    print(f"  cycle {sample[0]:4} {sample[1]:6.2f} s", file=sys.stderr)
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return seen


def _sample(client: httpx.Client, url: str) -> tuple[int, float, float] | None:
    try:
        text = client.get(url).text
    except httpx.TransportError:
        return None  # not listening yet
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "smtpcheck_cycles_total",
            "smtpcheck_cycle_duration_seconds",
            "process_resident_memory_bytes",
        ):
            values[name] = float(value)
    if len(values) < 3 or not values["smtpcheck_cycles_total"]:
        return None
    return (
        int(values["smtpcheck_cycles_total"]),
        values["smtpcheck_cycle_duration_seconds"],
        values["process_resident_memory_bytes"],
    )


def _slope(points: list[tuple[float, float]]) -> float:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def _table(gateways: int, check_s: float, cycles: list[tuple[int, float, float]]) -> None:
    durations = [d for _, d, _ in cycles]
    later = [(n, rss) for n, _, rss in cycles if n > _WARM_UP]
    print("| gateways | check wall s | serve cycle s: first / median / max | cycles |")
    print("|---:|---:|---|---:|")
    print(
        f"| {gateways} | {check_s:.2f} | {durations[0]:.2f} / "
        f"{statistics.median(durations):.2f} / {max(durations):.2f} | {len(cycles)} |"
    )
    if len(later) >= 2:
        first, last = later[0][1], later[-1][1]
        print()
        print(
            f"RSS after cycle {later[0][0]}: {first / 2**20:.1f} MiB; after cycle "
            f"{later[-1][0]}: {last / 2**20:.1f} MiB; least-squares slope "
            f"{_slope([(float(n), r) for n, r in later]) / 1024:.1f} KiB per cycle"
        )
    print(json.dumps({"check_s": check_s, "cycles": cycles}), file=sys.stderr)


if __name__ == "__main__":
    main()
