"""`smtpcheck check`: the static lint, then a live probe of every own SMTP gateway."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.options import (
    report_exit_code,
    report_options,
    selectors,
    unknown_for_nagios,
    use_color,
    verbose_option,
    write_output,
)

__all__ = ["check"]

_DEFAULT_TIMEOUT = 10.0


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from smtpcheck.address import address_problem

    if value is not None and (problem := address_problem(value)):
        raise click.BadParameter(f"{value!r} is not an e-mail address: {problem}")
    return value


@click.command()
@click.argument("sources", nargs=-1, metavar="SOURCE...")
@report_options()
@verbose_option
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Probes at once, over all hosts.",
)
@click.option(
    "--per-host",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Connections at once to one host (a shared relay must not see a flood).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=_DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Cap on every phase of a probe (the config's own timeouts apply when shorter).",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    metavar="PEM",
    help="Also trust the CA certificates in this file.",
)
@click.option(
    "--cert-warn-days",
    type=click.IntRange(min=0),
    default=21,
    show_default=True,
    help="Warn when a server certificate expires within this many days.",
)
@click.option(
    "--send-to",
    metavar="ADDR",
    callback=_address,
    help="Really send one small test message to ADDR (nothing is sent without this).",
)
@click.option(
    "--from",
    "mail_from",
    metavar="ADDR",
    callback=_address,
    help="Sender of the test message [default: each gateway's default_from_address].",
)
@click.option(
    "--ehlo",
    metavar="NAME",
    help="Name to send in EHLO [default: this machine's FQDN, looked up once].",
)
@click.pass_context
def check(
    ctx: click.Context,
    sources: tuple[str, ...],
    fmt: str,
    output: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str,
    gateway_ids: tuple[int, ...],
    no_color: bool,
    verbose: bool,
    concurrency: int,
    per_host: int,
    timeout: float,
    ca_file: str | None,
    cert_warn_days: int,
    send_to: str | None,
    mail_from: str | None,
    ehlo: str | None,
) -> None:
    """Lint gateway configs, then connect to every own SMTP gateway and check it for real.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    Each probe goes as far as the config asks: greeting, EHLO, TLS, certificate, AUTH, QUIT.
    Nothing is sent unless --send-to is given.
    """
    from smtpcheck.checker import StaticOptions
    from smtpcheck.live import LiveOptions
    from smtpcheck.live import check as run_check
    from smtpcheck.probe import ProbeOptions
    from smtpcheck.reporters import RenderOptions, render
    from smtpcheck.results import Severity
    from smtpcheck.rules import Selection
    from smtpcheck.runner import RunLimits
    from smtpcheck.sources import load_paths
    from smtpcheck.tlscontext import build_tls_contexts

    if not sources:
        raise click.UsageError("give at least one SOURCE: a file, a directory, or - for stdin")
    with unknown_for_nagios(fmt):
        static = StaticOptions(
            selection=Selection(selectors(select), selectors(ignore)),
            gateway_ids=frozenset(gateway_ids),
        )
        probe = ProbeOptions(
            ehlo_name=ehlo if ehlo is not None else _machine_name(),
            tls=build_tls_contexts(ca_file=ca_file),  # once per run: loading CAs is costly
            timeout=timeout,
            send_to=send_to,
            mail_from=mail_from,
            transcript=verbose,
        )
        # The panel API's documents will join these (see validate).
        documents = load_paths(sources, environ=os.environ, stdin=sys.stdin.buffer)
        with _progress_bar() as progress:
            live = LiveOptions(
                probe=probe,
                limits=RunLimits(concurrency=concurrency, per_host=per_host),
                cert_warn_days=cert_warn_days,
                progress=progress,
            )
            report = run_check(documents, static, live)
    render_options = RenderOptions(
        color=use_color(fmt, output, no_color), verbose=verbose, fail_on=Severity(fail_on)
    )
    write_output(render(report, fmt, render_options), output)
    ctx.exit(report_exit_code(report, fmt=fmt, fail_on=Severity(fail_on)))


def _machine_name() -> str:
    # Looked up once per run, never per connection (it can mean a DNS query).
    name = socket.getfqdn()
    return name if name and not any(c.isspace() for c in name) else "localhost"


class _Bar:
    """A progress bar on standard error, drawn only once probes start ending."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total < 2:
            return  # one gateway needs no bar
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="probing", file=sys.stderr)
        self._bar.update(done - self._bar.pos)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()


@contextmanager
def _progress_bar() -> Iterator[_Bar | None]:
    if not sys.stderr.isatty():
        yield None
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.close()
