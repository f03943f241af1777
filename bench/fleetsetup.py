"""Shared set-up of the live-check benchmarks: a private Postfix, one SASL user per gateway.

Not run on its own: bench.fleet, bench.fleet_memory, bench.blackholes and bench.one_check
import it. An instance is started in a fresh temporary directory (and stopped afterwards), or
reused with ``--instance DIR`` when ``scripts/postfix-instance start DIR`` already started one.
Everything listens on loopback only, and every client is given its EHLO name.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import smtplib
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.postfix import harness
from tests.support.postfix.harness import PostfixInstance
from tests.support.postfix.layout import Layout

ROOT = Path(__file__).resolve().parent.parent
EHLO = "bench.test"
SENDER = "alerts@fleet.smtpcheck.test"
_USERS_READY_TIMEOUT = 10.0  # Dovecot looks at its passwd-file at most once a second


@dataclass(frozen=True, slots=True)
class Account:
    """One SASL user of the instance: one gateway's credentials."""

    user: str
    password: str


def add_instance_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instance",
        type=Path,
        metavar="DIR",
        help="reuse the instance that `scripts/postfix-instance start DIR` started "
        "(default: start a fresh one and stop it at the end)",
    )


@contextmanager
def postfix(directory: Path | None) -> Iterator[PostfixInstance]:
    """Yield a running instance: the one in ``directory``, or a fresh one stopped at the end."""
    if directory is not None:
        state = Layout(directory.resolve()).state
        if not state.exists():
            raise SystemExit(f"{directory}: no instance.json; run scripts/postfix-instance first")
        yield PostfixInstance.from_json(state.read_text())
        return
    reason = harness.missing_requirements()
    if reason is not None:
        raise SystemExit(f"cannot start Postfix here: {reason}")
    root = Path(tempfile.mkdtemp(prefix="smtpcheck-bench-postfix-"))
    try:
        instance = harness.start(root)
    except harness.HarnessError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield instance
    finally:
        harness.stop(root)
        shutil.rmtree(root, ignore_errors=True)


def accounts(instance: PostfixInstance, count: int) -> list[Account]:
    """Make sure ``count`` distinct SASL users can log in; return them.

    The passwords are derived from the instance's own random password, so asking again for
    the same instance gives the same accounts (and rewrites nothing that matters).
    """
    key = instance.password.encode()
    made = [
        Account(
            user=(name := f"gw{i:05d}@fleet.smtpcheck.test"),
            password=hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:20],
        )
        for i in range(1, count + 1)
    ]
    harness.add_users(instance.root, {a.user: a.password for a in made})
    _wait_for_login(instance, made[-1])
    return made


def _wait_for_login(instance: PostfixInstance, account: Account) -> None:
    context = ssl.create_default_context(cafile=str(instance.ca_pem))
    deadline = time.monotonic() + _USERS_READY_TIMEOUT
    while True:
        try:
            with smtplib.SMTP(
                instance.host, instance.ports.submission, local_hostname=EHLO, timeout=10
            ) as smtp:
                smtp.starttls(context=context)
                smtp.login(account.user, account.password)
                return
        except smtplib.SMTPAuthenticationError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def gateway(
    index: int, *, host: str, port: int, account: Account, mode: str = "starttls"
) -> dict[str, Any]:
    """Return one own gateway as the panel API lists it: AUTH over STARTTLS or implicit TLS."""
    params = {
        "default_from_address": SENDER,
        "mail.smtp.user": account.user,
        "mail.smtp.password": account.password,
        "mail.smtp.host": host,
        "mail.smtp.port": port,
        "mail.smtp.ssl.port": port,
        "mail.smtp.ssl.trust_all_hosts": False,
        "mail.smtp.auth": True,
        "mail.debug": False,
        "mail.smtp.starttls.enable": mode == "starttls",
        "mail.smtp.starttls.required": mode == "starttls",
        "mail.smtp.use_ssl": mode == "implicit",
        "mail.smtp.timeout": 10000,
        "mail.smtp.connectiontimeout": 10000,
        "mail.transport.protocol": "smtp",
    }
    return {
        "id": index,
        "leasable": False,
        "label": f"Fleet gateway {index}",
        "provider": "smtp",
        "params": params,
    }


def write_fleet(path: Path, instance: PostfixInstance, fleet: Sequence[Account]) -> None:
    """Write one STARTTLS + AUTH gateway per account, all on the instance's submission port."""
    own = [
        gateway(i, host=instance.host, port=instance.ports.submission, account=account)
        for i, account in enumerate(fleet, start=1)
    ]
    path.write_text(json.dumps(own))


def probe_successes(report_path: Path) -> tuple[int, int]:
    """Return (gateways whose probe passed every stage and logged in, gateways) of a JSON report."""
    report = json.loads(report_path.read_text())
    gateways = report["gateways"]
    ok = 0
    for gw in gateways:
        probe = gw.get("probe") or {}
        steps = probe.get("steps", [])
        if probe.get("ok") and any(s["name"] == "auth" and s["ok"] for s in steps):
            ok += 1
    return ok, len(gateways)


@dataclass(frozen=True, slots=True)
class Run:
    """One timed child process, and what the rest of the machine did meanwhile."""

    wall: float
    cpu: float  # seconds, the child and every descendant it waited for
    max_rss_kib: int
    status: int
    load: float  # 1-minute load average when it started (it lags: earlier runs show in it)
    server_cpu: float  # seconds used by the Postfix and Dovecot trees of the instance
    other_cpu: float  # seconds used by every other process: the noise from outside


def server_pids(instance: PostfixInstance) -> tuple[int, ...]:
    """Return the master PIDs of the instance's Postfix and Dovecot (their trees serve it)."""
    layout = Layout(instance.root)
    files = (layout.queue / "pid" / "master.pid", layout.dovecot_pid)
    return tuple(int(path.read_text().split()[0]) for path in files)


def run(
    argv: Sequence[str],
    *,
    stdout: Path | None = None,
    stdin: Path | None = None,
    servers: Sequence[int] = (),
) -> Run:
    """Run ``argv`` to the end; its CPU time includes every descendant it waited for.

    The CPU time of the process trees under ``servers`` and of all other processes is taken
    from /proc before and after (a process that ended meanwhile counts through the parent
    that reaped it).
    """
    load = os.getloadavg()[0]
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    into = stdin.open("rb") if stdin is not None else subprocess.DEVNULL
    before = _cpu_by_pid()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=into, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    finally:
        for handle in (out, into):
            if not isinstance(handle, int):
                handle.close()
    after = _cpu_by_pid()
    proc.returncode = os.waitstatus_to_exitcode(status)
    server, ours = _trees(after, servers), _trees(after, (os.getpid(),))
    spent = {pid: cpu - before.get(pid, (0, 0.0))[1] for pid, (_, cpu) in after.items()}
    # A process that ended meanwhile shows up whole in its reaper's cutime: take off what it
    # had used before the run.
    ended = {pid: cpu for pid, (_, cpu) in before.items() if pid not in after}
    server_before = _trees(before, servers)
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        status=proc.returncode,
        load=load,
        server_cpu=sum(spent[pid] for pid in server)
        - sum(cpu for pid, cpu in ended.items() if pid in server_before),
        other_cpu=sum(cpu for pid, cpu in spent.items() if pid not in server | ours)
        - sum(cpu for pid, cpu in ended.items() if pid not in server_before),
    )


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_by_pid() -> dict[int, tuple[int, float]]:
    """Return every process's parent and CPU seconds, its reaped children's included."""
    found: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = text.rpartition(")")[2].split()  # the command name may hold spaces
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found[int(entry.name)] = (int(fields[1]), ticks / _TICK)
    return found


def _trees(processes: dict[int, tuple[int, float]], roots: Sequence[int]) -> set[int]:
    members = {root for root in roots if root in processes}
    grew = True
    while grew:
        more = {pid for pid, (parent, _) in processes.items() if parent in members} - members
        members |= more
        grew = bool(more)
    return members


class PostfixLog:
    """Counts the sessions the instance's submission port logged since a mark."""

    def __init__(self, instance: PostfixInstance) -> None:
        self.path = Layout(instance.root).postfix_log
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def sessions(self, marker: str, expected: int, *, settle: float = 1.0) -> int:
        """Return how many new ``disconnect`` lines hold ``marker`` once the log stops growing.

        postlogd writes asynchronously, so the count is taken again until it reaches
        ``expected`` or has not changed for ``settle`` seconds.
        """
        last, stable_since = -1, time.monotonic()
        while True:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                text = log.read().decode(errors="replace")
            count = sum(
                1 for line in text.splitlines() if "disconnect from" in line and marker in line
            )
            if count >= expected:
                return count
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since > settle:
                return count
            time.sleep(0.1)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    """Return a one-line description of the machine and its load right now."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}"
