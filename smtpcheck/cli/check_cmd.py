"""`smtpcheck check`: the static lint, then a live probe of every own SMTP gateway."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.api_options import ApiOptions, api_options
from smtpcheck.cli.options import (
    documents_of,
    finish,
    report_options,
    static_options,
    unknown_for_nagios,
    verbose_option,
)

__all__ = ["check"]

_DEFAULT_TIMEOUT = 10.0


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from smtpcheck.address import address_problem

    if value is not None and (problem := address_problem(value)):
        raise click.BadParameter(f"{value!r} is not an e-mail address: {problem}")
    return value


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
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
@api_options
def check(
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
    api: ApiOptions | None,
) -> None:
    """Lint gateway configs, then connect to every own SMTP gateway and check it for real.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    With --api-url or --region the panel API's list is checked too, and SOURCE is optional.
    Each probe goes as far as the config asks: greeting, EHLO, TLS, certificate, AUTH, QUIT.
    Nothing is sent unless --send-to is given.
    """
    from smtpcheck.live import LiveOptions
    from smtpcheck.live import check as run_check
    from smtpcheck.probe import ProbeOptions
    from smtpcheck.runner import RunLimits
    from smtpcheck.tlscontext import build_tls_contexts

    with unknown_for_nagios(fmt):
        static = static_options(select, ignore, gateway_ids)
        documents = documents_of(sources, api)
        probe = ProbeOptions(
            ehlo_name=ehlo if ehlo is not None else _machine_name(),
            tls=build_tls_contexts(ca_file=ca_file),  # once per run: loading CAs is costly
            timeout=timeout,
            send_to=send_to,
            mail_from=mail_from,
            transcript=verbose,
        )
        with _progress_bar() as progress:
            live = LiveOptions(
                probe=probe,
                limits=RunLimits(concurrency=concurrency, per_host=per_host),
                cert_warn_days=cert_warn_days,
                progress=progress,
            )
            report = run_check(documents, static, live)
    finish(report, fmt=fmt, output=output, no_color=no_color, verbose=verbose, fail_on=fail_on)


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
