"""CPU time and memory of `validate` over large fleets (no network involved).

Usage: python -m bench.validate_scale [--sizes 1000 10000 50000]

For each size it writes a list response with that many own gateways (a realistic mix: correct
ones and the common mistakes), then runs `smtpcheck validate --format json -o /dev/null` in a
child process and reports its user+system CPU time and peak RSS, and the same work in-process
split into parsing and rules.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from smtpcheck.config.loading import parse_document
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.validate import validate
from smtpcheck.reporters import render
from smtpcheck.rules.base import EXAMPLE_GATEWAY

EXAMPLE_PARAMS = EXAMPLE_GATEWAY["params"]
assert isinstance(EXAMPLE_PARAMS, dict)
_GOOD: dict[str, object] = {**EXAMPLE_PARAMS, "mail.smtp.password": "bench-password"}
_MISTAKES: list[dict[str, object]] = [
    {},
    {"mail.smtp.port": 465, "mail.smtp.ssl.port": 465},
    {"mail.smtp.use_ssl": True},
    {"mail.smtp.password": None},
    {"mail.smtp.ssl.trust_all_hosts": True, "mail.smtp.timeout": 0},
    {"mail.smtp.starttls.enabled": True, "mail.smtp.port": "587"},
]


def fleet(size: int) -> dict[str, object]:
    """Return a list response with `size` own gateways cycling through the mistakes."""
    own = [
        {
            "id": i,
            "leasable": False,
            "label": f"Dealer {i}",
            "provider": "smtp",
            "params": {**_GOOD, **_MISTAKES[i % len(_MISTAKES)]},
        }
        for i in range(1, size + 1)
    ]
    return {"success": True, "bound_gateway": 1, "own": own, "leasable": []}


def _child(path: Path) -> tuple[float, float, int]:
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [smtpcheck, "validate", "--format", "json", "-o", os.devnull, str(path)],
        stdout=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    del before
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss


def _in_process(data: bytes) -> tuple[float, float, float]:
    start = time.process_time()
    doc = parse_document(data, source="bench.json", environ=None)
    parsed = time.process_time()
    report = validate([doc], LintOptions())
    checked = time.process_time()
    render(report, "json")
    rendered = time.process_time()
    return parsed - start, checked - parsed, rendered - checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    args = parser.parse_args()
    print(
        "| gateways | CLI CPU s | CLI wall s | CLI peak RSS MiB | "
        "in-process: parse s | rules s | JSON render s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"fleet-{size}.json"
            data = json.dumps(fleet(size)).encode()
            path.write_bytes(data)
            cpu, wall, rss_kib = _child(path)
            parse_s, rules_s, render_s = _in_process(data)
            print(
                f"| {size} | {cpu:.2f} | {wall:.2f} | {rss_kib / 1024:.0f} | "
                f"{parse_s:.3f} | {rules_s:.3f} | {render_s:.3f} |"
            )


if __name__ == "__main__":
    main()
