"""A fleet of STARTTLS + AUTH gateways against a private Postfix: smtpcheck and the alternatives.

Usage: python -m bench.fleet [--gateways 1000] [--concurrency 20] [--runs 3] [--loop-sample 50]
       [--instance DIR] [--only NAME ...]

Every gateway has its own SASL user (smtpcheck probes identical endpoint + credentials only
once), and all point at the instance's submission port (STARTTLS required, AUTH only after
it). Each contender checks the same accounts end to end, as a child process:

- smtpcheck: ``smtpcheck check FLEET --per-host C --concurrency C --format json -o REPORT
  --ca-file CA --ehlo bench.test --timeout 10`` (the report goes to a file, to be counted);
- floor: bench/floor.py, bare aiosmtplib with C at once (the target: within 1.5× of it);
- xargs-swaks: ``xargs -P C`` over swaks (STARTTLS, chain verified against CA, AUTH PLAIN,
  --quit-after AUTH); the target is 10× its throughput;
- xargs-check_smtp: ``xargs -P C`` over the monitoring-plugins check_smtp (STARTTLS, AUTH
  LOGIN; it verifies no certificate);
- swaks-loop: a sequential shell loop over swaks, timed on --loop-sample gateways and
  extrapolated to the fleet (it takes minutes otherwise).

A run counts only if every gateway succeeded, seen twice: by the client (smtpcheck's report,
the floor's count, swaks' 235 replies, check_smtp's "SMTP OK") and by Postfix's log
(``disconnect ... starttls=1 auth=1`` lines). The runs are interleaved (run 1 of every
contender, then run 2 ...) so that other load on the machine spreads evenly. The table gives
the median wall time, and CPU seconds spent meanwhile (medians, from /proc and wait4): by the
contender's whole process tree, by the instance's Postfix and Dovecot, and by every other
process on the machine (other people's work on a shared machine: the noise).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.fleetsetup import (
    EHLO,
    ROOT,
    Account,
    PostfixLog,
    Run,
    accounts,
    add_instance_option,
    machine,
    postfix,
    probe_successes,
    run,
    server_pids,
    write_fleet,
)
from tests.support.postfix.harness import PostfixInstance

CHECK_SMTP = "/usr/lib/nagios/plugins/check_smtp"
NAMES = ("smtpcheck", "floor", "xargs-swaks", "xargs-check_smtp", "swaks-loop")


@dataclass(slots=True)
class Contender:
    """One way of checking the fleet: its command, and how to count what it got right."""

    name: str
    does: str
    argv: list[str]
    stdin: Path | None
    output: Path
    count: Callable[[Path], int]  # successes the client itself reports
    gateways: int  # how many it checks per run (the loop: a sample)
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _lines_starting(prefix: str) -> Callable[[Path], int]:
    def count(path: Path) -> int:
        lines = path.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if line.startswith(prefix))

    return count


def _floor_count(path: Path) -> int:
    text = path.read_text().split()
    return int(text[1].split("/")[0]) if len(text) == 2 and text[0] == "ok" else 0


def _smtpcheck_count(path: Path) -> int:
    return probe_successes(path)[0] if path.stat().st_size else 0


def _contenders(
    instance: PostfixInstance,
    fleet: Sequence[Account],
    work: Path,
    *,
    concurrency: int,
    loop_sample: int,
) -> list[Contender]:
    host, port, ca = instance.host, str(instance.ports.submission), str(instance.ca_pem)
    smtpcheck = shutil.which("smtpcheck") or "smtpcheck"
    swaks = shutil.which("swaks") or "swaks"
    fleet_json = work / "fleet.json"
    write_fleet(fleet_json, instance, fleet)
    tsv = work / "accounts.tsv"
    tsv.write_text("".join(f"{a.user}\t{a.password}\n" for a in fleet))
    # One argument line per gateway; xargs -L 1 appends it to the command (hex passwords: no
    # quoting needed).
    swaks_args = work / "swaks-args.txt"
    swaks_args.write_text(
        "".join(f"--auth-user {a.user} --auth-password {a.password}\n" for a in fleet)
    )
    loop_args = work / "swaks-args-sample.txt"
    loop_args.write_text(
        "".join(f"--auth-user {a.user} --auth-password {a.password}\n" for a in fleet[:loop_sample])
    )
    check_args = work / "check_smtp-args.txt"
    check_args.write_text("".join(f"-U {a.user} -P {a.password}\n" for a in fleet))
    c = str(concurrency)
    swaks_command = [
        swaks, "--server", host, "--port", port, "--helo", EHLO,
        "--tls", "--tls-verify", "--tls-ca-path", ca,
        "--auth", "PLAIN", "--quit-after", "AUTH", "--timeout", "10",
    ]  # fmt: skip
    smtpcheck_command = [
        smtpcheck, "check", str(fleet_json), "--per-host", c, "--concurrency", c,
        "--format", "json", "-o", str(work / "report.json"), "--ca-file", ca,
        "--ehlo", EHLO, "--timeout", "10",
    ]  # fmt: skip
    floor_command = [
        sys.executable, str(ROOT / "bench" / "floor.py"), "--host", host, "--port", port,
        "--ca-file", ca, "--accounts", str(tsv), "--concurrency", c, "--ehlo", EHLO,
    ]  # fmt: skip
    check_smtp_command = [
        "xargs", "-P", c, "-L", "1", CHECK_SMTP, "-H", host, "-p", port, "-F", EHLO,
        "-S", "-A", "LOGIN", "-t", "10",
    ]  # fmt: skip
    loop = f"while read -r args; do {shlex.join(swaks_command)} $args </dev/null || exit 1; done"
    n = len(fleet)
    return [
        Contender(
            "smtpcheck",
            "lint + probe: STARTTLS, chain and name verified, AUTH PLAIN, JSON report",
            smtpcheck_command,
            None,
            work / "report.json",
            _smtpcheck_count,
            n,
        ),
        Contender(
            "floor",
            "bare aiosmtplib: STARTTLS, chain and name verified, AUTH PLAIN",
            floor_command,
            None,
            work / "floor.out",
            _floor_count,
            n,
        ),
        Contender(
            "xargs-swaks",
            f"xargs -P {c} swaks: STARTTLS, chain verified (name not), AUTH PLAIN",
            ["xargs", "-P", c, "-L", "1", *swaks_command],
            swaks_args,
            work / "xargs-swaks.out",
            _lines_starting("<~  235 "),
            n,
        ),
        Contender(
            "xargs-check_smtp",
            f"xargs -P {c} check_smtp -S -A LOGIN: STARTTLS, no certificate check, AUTH LOGIN",
            check_smtp_command,
            check_args,
            work / "xargs-check_smtp.out",
            _lines_starting("SMTP OK"),
            n,
        ),
        Contender(
            "swaks-loop",
            f"sequential shell loop over swaks ({loop_sample} timed, extrapolated to {n})",
            ["bash", "-c", loop],
            loop_args,
            work / "swaks-loop.out",
            _lines_starting("<~  235 "),
            min(loop_sample, n),
        ),
    ]


def _measure(contender: Contender, log: PostfixLog, servers: Sequence[int]) -> None:
    log.mark()
    result = run(contender.argv, stdout=contender.output, stdin=contender.stdin, servers=servers)
    client = contender.count(contender.output)
    server = log.sessions("starttls=1 auth=1", contender.gateways)
    contender.runs.append(result)
    expected = contender.gateways
    if result.status != 0 or client != expected or server != expected:
        contender.problems.append(
            f"run {len(contender.runs)}: exit {result.status}, client {client}/{expected}, "
            f"Postfix log {server}/{expected}"
        )
    print(
        f"  {contender.name:18} {result.wall:7.2f} s  cpu {result.cpu:6.2f} s  "
        f"server cpu {result.server_cpu:6.2f} s  other cpu {result.other_cpu:6.2f} s  "
        f"ok {client}/{expected} (log {server})  load {result.load:.2f}",
        file=sys.stderr,
    )


def _table(contenders: Sequence[Contender], gateways: int) -> None:
    walls = {
        c.name: statistics.median(r.wall for r in c.runs) * gateways / c.gateways
        for c in contenders
    }
    floor = walls.get("floor")
    swaks = walls.get("xargs-swaks")
    print(
        f"| contender ({gateways} gateways) | what it does | median wall s | runs s | gateways/s "
        "| × floor wall | × xargs-swaks throughput | CPU s: client tree "
        "| CPU s: Postfix + Dovecot | CPU s: other processes | all succeeded |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for c in contenders:
        wall = walls[c.name]
        scale = gateways / c.gateways
        runs = " / ".join(f"{r.wall * scale:.2f}" for r in c.runs)
        cpu, server, other = (
            statistics.median(getattr(r, name) for r in c.runs) * scale
            for name in ("cpu", "server_cpu", "other_cpu")
        )
        vs_floor = f"{wall / floor:.2f}" if floor else "–"
        vs_swaks = f"{swaks / wall:.1f}" if swaks else "–"
        succeeded = "yes" if not c.problems else "NO: " + "; ".join(c.problems)
        note = " (extrapolated)" if scale != 1 else ""
        print(
            f"| {c.name}{note} | {c.does} | {wall:.2f} | {runs} | {gateways / wall:.0f} "
            f"| {vs_floor} | {vs_swaks} | {cpu:.2f} | {server:.2f} | {other:.2f} | {succeeded} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loop-sample", type=int, default=50)
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    add_instance_option(parser)
    args = parser.parse_args()
    with postfix(args.instance) as instance, tempfile.TemporaryDirectory() as tmp:
        fleet = accounts(instance, args.gateways)
        work = Path(tmp)
        contenders = [
            c
            for c in _contenders(
                instance, fleet, work, concurrency=args.concurrency, loop_sample=args.loop_sample
            )
            if c.name in args.only
        ]
        log = PostfixLog(instance)
        servers = server_pids(instance)
        print(f"machine before: {machine()}", file=sys.stderr)
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs}", file=sys.stderr)
            for contender in contenders:
                _measure(contender, log, servers)
        print(f"machine after: {machine()}", file=sys.stderr)
        _table(contenders, args.gateways)
        print()
        for c in contenders:
            stdin = f" < {c.stdin.name}" if c.stdin else ""
            print(f"- {c.name}: `{shlex.join(c.argv)}{stdin}`")


if __name__ == "__main__":
    main()
