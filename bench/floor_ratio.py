"""smtpcheck against the bare aiosmtplib floor, whole process, side by side, small and large fleets.

Usage: python -m bench.floor_ratio [--sizes 1 200 1000] [--runs 9 5 3] [--instance DIR]

For each fleet size N: N distinct STARTTLS + AUTH gateways on a private Postfix + Dovecot
(one SASL user each, see `bench.fleetsetup`), checked by `smtpcheck check FLEET --format json`
and by `bench/floor.py` (the same handshakes with bare aiosmtplib, nothing else), each as a
child process timed from start to exit, the two taking turns run after run. Every run must
log in on every gateway (counted from smtpcheck's JSON report and the floor's output), or the
benchmark stops. Prints the median wall time of each and their ratio; the ratio is the figure
the targets in docs/performance.md are about (whole process: start-up, imports, parsing,
rules and report included for smtpcheck; interpreter start-up and aiosmtplib's import for the
floor). smtpcheck's bytecode is compiled first, as `pip install` does for an installed package
(an editable install under PYTHONDONTWRITEBYTECODE would compile every module on every run).
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import sys
import tempfile
from pathlib import Path

from bench.fleetsetup import (
    EHLO,
    ROOT,
    accounts,
    add_instance_option,
    machine,
    median,
    postfix,
    probe_successes,
    run,
    write_fleet,
)

_CONCURRENCY = "20"


def _commands(work: Path, size: int, *, host: str, port: int, ca: str) -> dict[str, list[str]]:
    fleet = work / f"fleet-{size}.json"
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    return {
        "smtpcheck": [
            smtpcheck, "check", str(fleet), "--per-host", _CONCURRENCY,
            "--concurrency", _CONCURRENCY, "--format", "json", "-o",
            str(work / f"report-{size}.json"), "--ca-file", ca, "--ehlo", EHLO,
            "--timeout", "10",
        ],
        "floor": [
            sys.executable, str(ROOT / "bench" / "floor.py"), "--host", host,
            "--port", str(port), "--ca-file", ca, "--accounts", str(work / f"acc-{size}.tsv"),
            "--concurrency", _CONCURRENCY, "--ehlo", EHLO,
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 200, 1000])
    parser.add_argument("--runs", type=int, nargs="+", default=[9, 5, 3])
    add_instance_option(parser)
    args = parser.parse_args()
    if len(args.runs) != len(args.sizes):
        parser.error("give one --runs count per --sizes entry")
    compileall.compile_dir(ROOT / "smtpcheck", quiet=1)
    with postfix(args.instance) as instance, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        everyone = accounts(instance, max(args.sizes))
        print(f"machine before: {machine()}", file=sys.stderr)
        rows = []
        for size, runs in zip(args.sizes, args.runs, strict=True):
            fleet = everyone[:size]
            write_fleet(work / f"fleet-{size}.json", instance, fleet)
            (work / f"acc-{size}.tsv").write_text(
                "".join(f"{a.user}\t{a.password}\n" for a in fleet)
            )
            commands = _commands(
                work,
                size,
                host=instance.host,
                port=instance.ports.submission,
                ca=str(instance.ca_pem),
            )
            walls: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(runs + 1):  # the first round warms the page cache and is dropped
                for name, argv in commands.items():
                    out = work / f"{name}-{size}.out"
                    done = run(argv, stdout=out)
                    _require_success(name, size, done.status, out, work)
                    walls[name].append(done.wall)
            smtpcheck, floor = (walls[n][1:] for n in ("smtpcheck", "floor"))
            rows.append((size, runs, smtpcheck, floor))
            print(f"{size} gateways: done", file=sys.stderr)
        print(f"machine after: {machine()}", file=sys.stderr)
        print(
            "| gateways | runs | smtpcheck median s | floor median s | × floor (medians) "
            "| smtpcheck best s | floor best s | × floor (best) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size, runs, smtpcheck, floor in rows:
            ours, theirs = median(smtpcheck), median(floor)
            print(
                f"| {size} | {runs} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} "
                f"| {min(smtpcheck):.3f} | {min(floor):.3f} | {min(smtpcheck) / min(floor):.2f} |"
            )


def _require_success(name: str, size: int, status: int, out: Path, work: Path) -> None:
    if name == "smtpcheck":
        ok, total = probe_successes(work / f"report-{size}.json")
    else:
        said = out.read_text().split()  # "ok N/M"
        ok, total = (int(n) for n in said[1].split("/")) if said[:1] == ["ok"] else (0, size)
    if status != 0 or ok != total or total != size:
        raise SystemExit(f"{name}, {size} gateways: exit {status}, {ok} of {total} logged in")


if __name__ == "__main__":
    main()
