"""Where the fleet benchmark's time goes: smtpcheck check and the floor, phase by phase.

Usage: python -m bench.fleet_phases [--gateways 1000] [--concurrency 20] [--runs 3]
       [--instance DIR]

Runs bench/phases_child.py in a child process, once as ``smtpcheck check`` (the command's own
functions, in its order: imports, options and TLS contexts, parsing and static rules,
asyncio.run of the probes, JSON render, write) and once as the floor (bench/floor.py), on the
same accounts as bench.fleet, and gives the median wall and CPU seconds of each phase. What
the child cannot see from inside (interpreter start-up, and exit with everything it frees)
is the process's wall time minus its phases.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.fleetsetup import ROOT, accounts, add_instance_option, machine, postfix, write_fleet

_CHILD = ROOT / "bench" / "phases_child.py"
_OUTSIDE = "interpreter start-up + exit (process wall minus phases)"

Phases = dict[str, list[float]]


def run_child(argv: list[str]) -> Phases:
    """Run bench/phases_child.py with ``argv``; return its phases, and two measured outside."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(_CHILD), *argv], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    phases: Phases = json.loads(done.stdout)
    inside = sum(v[0] for name, v in phases.items() if not name.startswith("of which"))
    nan = float("nan")
    phases[_OUTSIDE] = [wall - inside, nan, nan, nan]
    phases["process wall"] = [wall, nan, nan, nan]
    return phases


def _cell(runs: list[Phases], name: str, index: int) -> str:
    values = [run[name][index] for run in runs if name in run]
    if not values or values[0] != values[0]:  # absent, or NaN: not measurable from inside
        return ""
    return f"{statistics.median(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    add_instance_option(parser)
    args = parser.parse_args()
    c = str(args.concurrency)
    print(f"machine before: {machine()}", file=sys.stderr)
    with postfix(args.instance) as instance, tempfile.TemporaryDirectory() as tmp:
        fleet = accounts(instance, args.gateways)
        work = Path(tmp)
        write_fleet(work / "fleet.json", instance, fleet)
        (work / "accounts.tsv").write_text("".join(f"{a.user}\t{a.password}\n" for a in fleet))
        ca, port = str(instance.ca_pem), str(instance.ports.submission)
        checks: list[Phases] = []
        floors: list[Phases] = []
        for _ in range(args.runs):
            report = str(work / "report.json")
            checks.append(run_child(["smtpcheck", str(work / "fleet.json"), ca, c, report]))
            floors.append(run_child(["floor", str(work / "accounts.tsv"), ca, c, port]))
            print(
                f"  smtpcheck {checks[-1]['process wall'][0]:.2f} s  "
                f"floor {floors[-1]['process wall'][0]:.2f} s",
                file=sys.stderr,
            )
    print(f"machine after: {machine()}", file=sys.stderr)
    print(
        f"| phase ({args.gateways} gateways, median of {args.runs}) | smtpcheck wall s "
        "| smtpcheck CPU s | floor wall s | floor CPU s |"
    )
    print("|---|---:|---:|---:|---:|")
    names: list[str] = []
    for run in checks + floors:
        names += [n for n in run if n not in names and n not in (_OUTSIDE, "process wall")]
    for name in [*names, _OUTSIDE, "process wall"]:
        cells = [_cell(runs, name, i) for runs in (checks, floors) for i in (0, 1)]
        label = f"**{name}**" if name == "process wall" else name
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
