"""`smtpcheck check`: the static lint, then a live probe of every own SMTP gateway."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from smtpcheck.cli.probe_options import machine_name, probe_options, try_port_option
from smtpcheck.defaults import CERT_WARN_DAYS, CHECK_TIMEOUT, CONCURRENCY

if TYPE_CHECKING:
    from smtpcheck.config.documents import GatewayEntry
    from smtpcheck.results import Report

__all__ = ["check"]


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from smtpcheck.config.address import address_problem

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
    default=CONCURRENCY,
    show_default=True,
    help="Probes at once, over all hosts.",
)
@probe_options(timeout=CHECK_TIMEOUT)
@click.option(
    "--cert-warn-days",
    type=click.IntRange(min=0),
    default=CERT_WARN_DAYS,
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
    "--suggest",
    is_flag=True,
    help="For each failed gateway, try the usual ports and modes of its host and suggest the "
    "params of the best one that works (verified end to end).",
)
@try_port_option
@click.option(
    "--write-fixed",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write each gateway that got a suggestion, corrected, to DIR (implies --suggest).",
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
    suggest: bool,
    try_ports: tuple[int, ...],
    write_fixed: Path | None,
    api: ApiOptions | None,
) -> None:
    """Lint gateway configs, then connect to every own SMTP gateway and check it for real.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    With --api-url or --region the panel API's list is checked too, and SOURCE is optional.
    Each probe goes as far as the config asks: greeting, EHLO, TLS, certificate, AUTH, QUIT.
    Nothing is sent unless --send-to is given.
    """
    import asyncio

    from smtpcheck.pipeline.check import LiveOptions, check_collected
    from smtpcheck.pipeline.validate import collect
    from smtpcheck.probe.session import ProbeOptions
    from smtpcheck.probe.tls import build_tls_contexts
    from smtpcheck.runner import RunLimits

    suggest = suggest or write_fixed is not None
    if try_ports and not suggest:
        raise click.UsageError("--try-port needs --suggest (or --write-fixed)")
    with unknown_for_nagios(fmt):
        static = static_options(select, ignore, gateway_ids)
        documents = documents_of(sources, api)
        probe = ProbeOptions(
            ehlo_name=machine_name(ehlo),
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
                suggest=try_ports if suggest else None,
            )
            inventory = collect(documents, static)
            report = asyncio.run(check_collected(inventory, static.selection, live))
    if write_fixed is not None:
        _write_fixed(write_fixed, inventory.entries, report, api)
    finish(report, fmt=fmt, output=output, no_color=no_color, verbose=verbose, fail_on=fail_on)


def _write_fixed(
    directory: Path, entries: Sequence[GatewayEntry], report: Report, api: ApiOptions | None
) -> None:
    from smtpcheck.cli.fixed_files import write_fixed_files

    written = write_fixed_files(
        directory, entries, report.gateways, api_source=api.source if api else None
    )
    files = "file" if len(written) == 1 else "files"
    click.echo(
        f"smtpcheck: wrote {len(written)} corrected gateway {files} to {directory}", err=True
    )


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
