"""The child process of bench.fleet_phases: one fleet check, each phase timed from inside.

Usage (run by bench.fleet_phases, not by hand):
    python bench/phases_child.py smtpcheck FLEET CA CONCURRENCY REPORT
    python bench/phases_child.py floor ACCOUNTS CA CONCURRENCY PORT

``smtpcheck`` does what ``smtpcheck check FLEET --per-host C --concurrency C --format json -o
REPORT --ca-file CA --ehlo bench.test --timeout 10`` does, with the same functions, in the
same order; ``floor`` does what bench/floor.py does. Every import is made inside, after the
clock starts. Prints one JSON object: phase name → [wall seconds, CPU seconds, resident set
MiB at its end, peak resident set MiB so far].
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

_EHLO = "bench.test"


class _Clock:
    """Times phases; after each one also notes the resident set and its peak so far (MiB)."""

    def __init__(self) -> None:
        self.phases: dict[str, list[float]] = {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def mark(self, phase: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.phases[phase] = [wall - self.wall, cpu - self.cpu, _rss_mib(), peak]
        self.wall, self.cpu = wall, cpu


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _smtpcheck(fleet: str, ca: str, concurrency: int, report_path: str) -> dict[str, list[float]]:
    clock = _Clock()
    import asyncio

    import smtpcheck.cli  # what the console script loads before the command runs
    from smtpcheck.cli.options import ReportOptions
    from smtpcheck.pipeline.check import CheckOptions, check_inventory
    from smtpcheck.pipeline.inventory import collect
    from smtpcheck.pipeline.sources import Sources
    from smtpcheck.probe.session import ProbeOptions
    from smtpcheck.probe.tls import build_tls_contexts
    from smtpcheck.reporters import RenderOptions, render
    from smtpcheck.runner import RunLimits

    del smtpcheck.cli
    clock.mark("imports")
    lint = ReportOptions().lint()
    documents = Sources((fleet,))
    probe = ProbeOptions(
        ehlo_name=_EHLO, tls=build_tls_contexts(ca_file=ca), timeout=10.0, transcript=False
    )
    live = CheckOptions(
        probe=probe, limits=RunLimits(concurrency=concurrency, per_host=concurrency)
    )
    clock.mark("set-up: options, the two TLS contexts")
    inventory = collect(documents, lint)
    clock.mark("read + parse + static rules")
    report = asyncio.run(check_inventory(inventory, lint.selection, live))
    clock.mark("asyncio.run: probes + live rules")
    # What Runner.run spends after the last probe: signal.getsignal() and signal.signal()
    # each format repr() of the main task, whose result is the whole report.
    repr(report)
    repr(report)
    clock.mark("of which: 2 × repr(report) (measured again)")
    text = render(report, "json", RenderOptions())
    clock.mark("JSON render")
    Path(report_path).write_text(text, encoding="utf-8")
    clock.mark("write the report")
    return clock.phases


def _floor(accounts: str, ca: str, concurrency: int, port: int) -> dict[str, list[float]]:
    clock = _Clock()
    import asyncio

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file
    from bench import floor

    clock.mark("imports")
    argv = f"--port {port} --concurrency {concurrency} --ehlo {_EHLO}".split()
    args = floor.options([*argv, "--ca-file", ca, "--accounts", accounts])
    pairs = floor.read_accounts(accounts)
    clock.mark("set-up: options, accounts")
    ok, total = asyncio.run(floor.check_all(args, pairs))
    if ok != total:
        raise SystemExit(f"floor: only {ok} of {total} logins succeeded")
    clock.mark("asyncio.run: probes (SSL context included)")
    return clock.phases


def main() -> None:
    kind, path, ca, concurrency, last = sys.argv[1:6]
    if kind == "smtpcheck":
        phases = _smtpcheck(path, ca, int(concurrency), last)
    else:
        phases = _floor(path, ca, int(concurrency), int(last))
    print(json.dumps(phases))


if __name__ == "__main__":
    main()
