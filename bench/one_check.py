"""One check in-process against Postfix, per stage, with and without TCP_QUICKACK.

Usage: python -m bench.one_check [--runs 30] [--instance DIR]

Calls `probe_gateway` directly (no CLI, no rules, no report) against the private instance's
submission port (STARTTLS + AUTH) and its smtps port (implicit TLS + AUTH), --runs times each, and
gives the median of every stage the probe records, its total, and the CPU time of one probe.
"quickack off" replaces `smtpcheck.probe.tls.quickack` (and the name `smtpcheck.probe.opening`
imported from it) with a function that does nothing, in this process only: the stock client
behaviour, with no product flag. For scale, the same exchange with bare aiosmtplib (stock, one
shared SSL context, no quickack) is timed as well. The variants take turns, one probe each in a new
random order every round and 5 ms apart, so that other load on the machine hits them alike; after
two warm-up rounds. "Stalled" counts the probes with a stage of 20 ms or more: on loopback that is
a wait for a delayed ACK (about 40 ms here), not work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import ssl
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import aiosmtplib
from pydantic import SecretStr

from bench.fleetsetup import EHLO, SENDER, add_instance_option, machine, postfix
from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.probe.session import ProbeOptions, probe_gateway
from smtpcheck.probe.tls import build_tls_contexts
from smtpcheck.results import Endpoint, TlsMode
from tests.support.postfix.harness import PostfixInstance

_WARM_UP = 2
_PAUSE = 0.005  # seconds between two checks
_STALL_MS = 20.0  # a stage this slow on loopback waited for a delayed ACK (about 40 ms here)
_STALLED = f"probes with a stage ≥ {_STALL_MS:g} ms"


def _settings(instance: PostfixInstance, mode: TlsMode) -> SmtpSettings:
    implicit = mode is TlsMode.IMPLICIT
    port = instance.ports.smtps if implicit else instance.ports.submission
    return SmtpSettings(
        endpoint=Endpoint(instance.host, port, mode, starttls_required=not implicit),
        auth=True,
        user=instance.user,
        password=SecretStr(instance.password),
        trust_all_hosts=False,
        connect_timeout_ms=10000,
        read_timeout_ms=10000,
        from_address=SENDER,
        protocol="smtp",
        debug=False,
    )


def _no_quickack(sock: socket.socket) -> None:
    del sock


@contextmanager
def _quickack(enabled: bool) -> Iterator[None]:
    """Leave TCP_QUICKACK as shipped, or switch it off in this process for the block."""
    if enabled:
        yield
        return
    # The SSL objects look the name up in tlscontext at each read; opening imported it.
    with (
        mock.patch("smtpcheck.probe.tls.quickack", _no_quickack),
        mock.patch("smtpcheck.probe.opening.quickack", _no_quickack),
    ):
        yield


async def _probe(settings: SmtpSettings, options: ProbeOptions) -> dict[str, float]:
    result = await probe_gateway(settings, options)
    if result.failure is not None:
        raise SystemExit(f"probe failed: {result.failure.kind}: {result.failure.detail}")
    stages: dict[str, float] = {}
    for step in result.steps:
        name = step.name if step.name not in stages else f"{step.name} (after TLS)"
        stages[name] = step.ms
    stages["sum of stages"] = sum(step.ms for step in result.steps)
    stages["probe total"] = result.ms
    stages[_STALLED] = float(any(step.ms >= _STALL_MS for step in result.steps))
    return stages


async def _bare(instance: PostfixInstance, mode: TlsMode, context: ssl.SSLContext) -> float:
    """Return the ms of the same exchange with stock aiosmtplib (no per-stage split)."""
    implicit = mode is TlsMode.IMPLICIT
    started = time.perf_counter()
    smtp = aiosmtplib.SMTP(
        hostname=instance.host,
        port=instance.ports.smtps if implicit else instance.ports.submission,
        local_hostname=EHLO,
        tls_context=context,
        use_tls=implicit,
        start_tls=False,
        timeout=10,
    )
    try:
        await smtp.connect()
        await smtp.ehlo()
        if not implicit:
            await smtp.starttls()
            await smtp.ehlo()
        await smtp.login(instance.user, instance.password)
        await smtp.quit()
    finally:
        smtp.close()
    return (time.perf_counter() - started) * 1000


Variant = tuple[str, TlsMode, bool]


async def _measure(
    instance: PostfixInstance, runs: int
) -> tuple[dict[Variant, dict[str, list[float]]], dict[TlsMode, list[float]]]:
    tls = build_tls_contexts(ca_file=str(instance.ca_pem))
    options = ProbeOptions(ehlo_name=EHLO, tls=tls, timeout=10, transcript=False)
    variants: list[Variant] = [
        (label, mode, quick)
        for label, mode in (("submission", TlsMode.STARTTLS), ("smtps", TlsMode.IMPLICIT))
        for quick in (True, False)
    ]
    stages: dict[Variant, dict[str, list[float]]] = {v: defaultdict(list) for v in variants}
    bare: dict[TlsMode, list[float]] = defaultdict(list)
    jobs: list[Variant | TlsMode] = [*variants, TlsMode.STARTTLS, TlsMode.IMPLICIT]
    order = random.Random(8)  # the same shuffles every time
    for round_ in range(_WARM_UP + runs):
        # A new order each round, so that no variant always follows the same one, and a short
        # pause before each check, so that the last one's connection is gone before it starts.
        order.shuffle(jobs)
        for job in jobs:
            await asyncio.sleep(_PAUSE)
            if isinstance(job, TlsMode):
                ms = await _bare(instance, job, tls.verifying)
                if round_ >= _WARM_UP:
                    bare[job].append(ms)
                continue
            _, mode, quick = job
            with _quickack(quick):
                cpu = time.process_time()
                timed = await _probe(_settings(instance, mode), options)
                timed["CPU of the probe"] = (time.process_time() - cpu) * 1000
            if round_ >= _WARM_UP:
                for name, ms in timed.items():
                    stages[job][name].append(ms)
    return stages, bare


def _table(
    stages: dict[Variant, dict[str, list[float]]], bare: dict[TlsMode, list[float]], runs: int
) -> None:
    variants = list(stages)
    names: list[str] = []
    for variant in variants:
        names += [n for n in stages[variant] if n not in names]
    names.sort(key=_rank)  # stable: the stages in probe order, then the totals
    header = " | ".join(f"{label} quickack {'on' if q else 'off'}" for label, _, q in variants)
    print(f"| stage (median ms of {runs}) | {header} |")
    print("|---|" + "---:|" * len(variants))
    for name in names:
        cells = []
        for variant in variants:
            values = stages[variant].get(name)
            if not values:
                cells.append("")
            elif name == _STALLED:
                cells.append(f"{sum(values):.0f} of {len(values)}")
            else:
                cells.append(f"{statistics.median(values):.2f}")
        label = f"**{name}**" if _rank(name) else name
        print(f"| {label} | " + " | ".join(cells) + " |")
    # Stock aiosmtplib sets no TCP_QUICKACK: its figures go under "off".
    medians = [f"{statistics.median(bare[m]):.2f}" if not q else "" for _, m, q in variants]
    stalled = [
        f"{sum(ms >= _STALL_MS for ms in bare[m])} of {len(bare[m])}" if not q else ""
        for _, m, q in variants
    ]
    for label, cells in (
        ("whole exchange, median ms", medians),
        (f"exchanges ≥ {_STALL_MS:g} ms", stalled),
    ):
        print(f"| *bare aiosmtplib, stock: {label}* | " + " | ".join(cells) + " |")


def _rank(name: str) -> int:
    if name in ("CPU of the probe", _STALLED):
        return 2
    return 1 if name in ("sum of stages", "probe total") else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    add_instance_option(parser)
    args = parser.parse_args()
    print(f"machine before: {machine()}", file=sys.stderr)
    with postfix(args.instance) as instance:
        stages, bare = asyncio.run(_measure(instance, args.runs))
    print(f"machine after: {machine()}", file=sys.stderr)
    _table(stages, bare, args.runs)


if __name__ == "__main__":
    main()
