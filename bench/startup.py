"""Start-up cost of the commands that need no network, against a bare interpreter.

Usage: python -m bench.startup [--runs N]

Each command runs N times in a fresh interpreter; the table gives the median and the best wall
time. Run it on an idle machine: it measures the whole process, imports included.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_configs" / "panel-list-response.json"


def _commands() -> list[tuple[str, list[str]]]:
    py = sys.executable
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    return [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import pydantic'", [py, "-c", "import pydantic"]),
        ("python -c 'import click, pydantic'", [py, "-c", "import click, pydantic"]),
        ("smtpcheck --version", [smtpcheck, "--version"]),
        ("smtpcheck rules", [smtpcheck, "rules"]),
        ("smtpcheck rules SC105", [smtpcheck, "rules", "SC105"]),
        ("smtpcheck validate (1 file)", [smtpcheck, "validate", str(SAMPLE)]),
        ("python -c 'import httpx, aiosmtplib'", [py, "-c", "import httpx, aiosmtplib"]),
    ]


def _time(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    commands = _commands()
    for _, argv in commands:  # warm the page cache and .pyc files
        _time(argv, 2)
    print(f"| command | median ms | best ms |  ({args.runs} runs each)")
    print("|---|---:|---:|")
    for name, argv in commands:
        times = _time(argv, args.runs)
        print(f"| `{name}` | {statistics.median(times):.1f} | {min(times):.1f} |")


if __name__ == "__main__":
    main()
