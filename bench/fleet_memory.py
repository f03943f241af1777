"""Peak memory of `smtpcheck check` over fleets of STARTTLS + AUTH gateways against Postfix.

Usage: python -m bench.fleet_memory [--sizes 100 1000 5000] [--concurrency 20] [--instance DIR]

Every gateway has its own SASL user (so every one is really probed), all on the private
instance's submission port, checked with the fleet benchmark's flags (``--per-host C
--concurrency C --format json -o REPORT --ca-file CA --ehlo bench.test --timeout 10``). The
table gives the child's peak RSS (ru_maxrss), the same for ``smtpcheck validate`` of the same
file (parsing, rules and a report without probes), the size of the JSON report, and how much
peak RSS each gateway added since the previous size: what "flat beyond the reports" means.
A second table runs the same check phase by phase in bench/phases_child.py and gives the
resident set after each phase: what the parsed configs, the report and its rendering hold.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.fleet_phases import Phases, run_child
from bench.fleetsetup import (
    EHLO,
    accounts,
    add_instance_option,
    machine,
    postfix,
    probe_successes,
    run,
    write_fleet,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--concurrency", type=int, default=20)
    add_instance_option(parser)
    args = parser.parse_args()
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    c = str(args.concurrency)
    rows = []
    splits: list[tuple[int, Phases]] = []
    print(f"machine before: {machine()}", file=sys.stderr)
    with postfix(args.instance) as instance, tempfile.TemporaryDirectory() as tmp:
        everyone = accounts(instance, max(args.sizes))
        for size in sorted(args.sizes):
            fleet, report = Path(tmp) / f"fleet-{size}.json", Path(tmp) / f"report-{size}.json"
            write_fleet(fleet, instance, everyone[:size])
            check = [
                smtpcheck, "check", str(fleet), "--per-host", c, "--concurrency", c,
                "--format", "json", "-o", str(report), "--ca-file", str(instance.ca_pem),
                "--ehlo", EHLO, "--timeout", "10",
            ]  # fmt: skip
            checked = run(check)
            ok, total = probe_successes(report)
            validate = [smtpcheck, "validate", str(fleet), "--format", "json", "-o", "/dev/null"]
            validated = run(validate)
            print(
                f"  {size:6} check {checked.wall:6.2f} s {checked.max_rss_kib / 1024:6.1f} MiB "
                f"ok {ok}/{total}  validate {validated.max_rss_kib / 1024:6.1f} MiB  "
                f"load {checked.load:.2f}",
                file=sys.stderr,
            )
            rows.append((size, checked, validated, report.stat().st_size, ok, total))
            inside = run_child(["smtpcheck", str(fleet), str(instance.ca_pem), c, str(report)])
            splits.append((size, inside))
    print(f"machine after: {machine()}", file=sys.stderr)
    print(
        "| gateways | check peak RSS MiB | check wall s | validate peak RSS MiB "
        "| JSON report MiB | KiB of peak RSS per extra gateway | all probes passed |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    previous = None
    for size, checked, validated, report_bytes, ok, total in rows:
        slope = "–"
        if previous is not None:
            slope = f"{(checked.max_rss_kib - previous[1]) / (size - previous[0]):.1f}"
        previous = (size, checked.max_rss_kib)
        print(
            f"| {size} | {checked.max_rss_kib / 1024:.1f} | {checked.wall:.2f} "
            f"| {validated.max_rss_kib / 1024:.1f} | {report_bytes / 2**20:.1f} | {slope} "
            f"| {'yes' if ok == total == size else f'NO: {ok}/{total}'} |"
        )
    print()
    _split_table(splits)


def _split_table(splits: list[tuple[int, Phases]]) -> None:
    """Print the resident set after each phase of the check, seen from inside (MiB)."""
    steps = [
        ("imports", "after imports"),
        ("read + parse + static rules", "after parse + static rules"),
        ("asyncio.run: probes + live rules", "after the probes (report held)"),
        ("write the report", "after JSON render + write"),
    ]
    header = " | ".join(label for _, label in steps)
    print(
        f"| gateways (RSS MiB, one run each) | {header} | peak (during the render) "
        "| KiB per extra gateway: after the probes | KiB per extra gateway: peak |"
    )
    print("|---:|" + "---:|" * (len(steps) + 3))
    previous: tuple[int, float, float] | None = None
    for size, phases in splits:
        rss = [phases[name][2] for name, _ in steps]
        held, peak = rss[2], phases["write the report"][3]
        slopes = ["–", "–"]
        if previous is not None:
            extra = (size - previous[0]) / 1024  # KiB per gateway from MiB
            slopes = [f"{(held - previous[1]) / extra:.1f}", f"{(peak - previous[2]) / extra:.1f}"]
        previous = (size, held, peak)
        cells = " | ".join(f"{value:.1f}" for value in rss)
        print(f"| {size} | {cells} | {peak:.1f} | {slopes[0]} | {slopes[1]} |")


if __name__ == "__main__":
    main()
