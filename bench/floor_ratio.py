"""smtpcheck against the bare aiosmtplib floor, whole process, side by side, small and large fleets.

Usage: python -m bench.floor_ratio [--sizes 1 200 1000] [--runs 9 5 3] [--instance DIR]
       [--source CHECKOUT]

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


def _commands(
    work: Path, size: int, *, host: str, port: int, ca: str, source: Path | None
) -> dict[str, list[str]]:
    fleet = work / f"fleet-{size}.json"
    smtpcheck = [shutil.which("smtpcheck") or "smtpcheck"]
    # Another checkout's package, ahead of the installed one; -P: not the one in the working
    # directory, which "python -m" would otherwise put first on the path.
    if source is not None:
        smtpcheck = ["env", f"PYTHONPATH={source}", sys.executable, "-P", "-m", "smtpcheck"]
    return {
        "smtpcheck": [
            *smtpcheck, "check", str(fleet), "--per-host", _CONCURRENCY,
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
    parser.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="measure the smtpcheck package of this checkout (e.g. an earlier commit's "
        "`git worktree`) instead of the installed one",
    )
    add_instance_option(parser)
    args = parser.parse_args()
    if len(args.runs) != len(args.sizes):
        parser.error("give one --runs count per --sizes entry")
    compileall.compile_dir((args.source or ROOT) / "smtpcheck", quiet=1)
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
                source=args.source,
            )
            walls: dict[str, list[float]] = {name: [] for name in commands}
            cpus: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(runs + 1):  # the first round warms the page cache and is dropped
                for name, argv in commands.items():
                    out = work / f"{name}-{size}.out"
                    done = run(argv, stdout=out)
                    _require_success(name, size, done.status, out, work)
                    walls[name].append(done.wall)
                    cpus[name].append(done.cpu)
            rows.append((size, runs, walls, cpus))
            print(f"{size} gateways: done", file=sys.stderr)
        print(f"machine after: {machine()}", file=sys.stderr)
        print(
            "| gateways | runs | smtpcheck median s | floor median s | × floor (medians) "
            "| × floor (best runs) | smtpcheck CPU s | floor CPU s | × floor (CPU) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size, runs, walls, cpus in rows:
            ours, theirs = walls["smtpcheck"][1:], walls["floor"][1:]
            our_cpu, their_cpu = median(cpus["smtpcheck"][1:]), median(cpus["floor"][1:])
            print(
                f"| {size} | {runs} | {median(ours):.3f} | {median(theirs):.3f} "
                f"| {median(ours) / median(theirs):.2f} | {min(ours) / min(theirs):.2f} "
                f"| {our_cpu:.3f} | {their_cpu:.3f} | {our_cpu / their_cpu:.2f} |"
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
