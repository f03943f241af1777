"""`smtpcheck check`: the static lint, then a live probe of every own SMTP gateway."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from smtpcheck.cli.api_options import ApiOptions, api_options, sources_of
from smtpcheck.cli.delivery_options import SendArgs, delivery_options
from smtpcheck.cli.exits import signal_exit_code, unusable_answer
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import FilePath, ReportOptions, report_options
from smtpcheck.cli.output import finish, preflight_directory, preflight_outputs, write_private
from smtpcheck.cli.probe_options import ProbeArgs, probe_options, try_port_option
from smtpcheck.cli.progress import progress_bar
from smtpcheck.defaults import CERT_WARN_DAYS, CHECK_TIMEOUT, CONCURRENCY

if TYPE_CHECKING:
    from smtpcheck.pipeline.fixing import FixedGateway
    from smtpcheck.results import Report

__all__ = ["check"]


@click.command(cls=GroupedCommand)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@report_options(live=True)
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
@delivery_options
@click.option(
    "--suggest",
    is_flag=True,
    help="For each failed gateway, try the usual ports and modes of its host and suggest the "
    "params of the best one that works (verified end to end).",
)
@try_port_option
@click.option(
    "--write-fixed",
    type=FilePath(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write each gateway that got a suggestion, corrected, to DIR (implies --suggest).",
)
@api_options
def check(
    sources: tuple[str, ...],
    report: ReportOptions,
    concurrency: int,
    probing: ProbeArgs,
    cert_warn_days: int,
    sending: SendArgs,
    suggest: bool,
    try_ports: tuple[int, ...],
    write_fixed: Path | None,
    api: ApiOptions | None,
) -> None:
    """Lint gateway configs, then connect to every own SMTP gateway and check it for real.

    SOURCE is a gateway JSON file, a directory (every *.json below it) or - for standard input.
    With --api-url or --region the panel API's list is checked too, and SOURCE is optional.
    Each probe goes as far as the config asks: greeting, EHLO, TLS, certificate, AUTH, QUIT.
    Nothing is sent unless --send-to is given; --expect-delivery then checks that it arrives.
    """
    from smtpcheck.pipeline.check import CheckOptions, run_check

    preflight_outputs(report, inputs=(*sources, probing.ca_file))
    preflight_directory(write_fixed, inputs=sources)
    suggest = suggest or write_fixed is not None
    if try_ports and not suggest:
        raise click.UsageError("--try-port needs --suggest (or --write-fixed)")
    lint = report.lint()
    run_sources = sources_of(sources, api)
    delivery = sending.delivery(ca_file=probing.ca_file)
    probe = probing.options(
        send_to=sending.send_to, mail_from=sending.mail_from, transcript=report.verbose
    )
    with progress_bar() as progress:
        options = CheckOptions(
            probe=probe,
            limits=probing.limits(concurrency),
            cert_warn_days=cert_warn_days,
            progress=progress,
            suggest=try_ports if suggest else None,
            delivery=delivery,
        )
        run = run_check(run_sources, lint, options, fix=write_fixed is not None)
    if run.interrupted is not None:
        _interrupted(run.report, report, run.interrupted)
    if write_fixed is not None:
        _write_fixed(write_fixed, run.fixed, inputs=sources)
    finish(run.report, report)


def _interrupted(run: Report, report: ReportOptions, signum: signal.Signals) -> None:
    """End a run the user stopped: what finished is still reported, and the status says so."""
    summary = run.summary
    message = (
        f"interrupted by {signum.name}: {summary.gateways - _not_checked(run)} of "
        f"{summary.gateways} gateways checked; the others are marked interrupted (SC903)"
    )
    answer = unusable_answer(report.fmt, message)
    if answer is not None:  # Nagios: an unfinished check is UNKNOWN, whatever it saw so far
        text, code = answer
        click.echo(text, nl=False)
        click.get_current_context().exit(code)
    click.echo(f"smtpcheck: {message}", err=True)
    finish(run, report, code=signal_exit_code(signum))


def _not_checked(report: Report) -> int:
    return sum(any(f.code == "SC903" for f in g.findings) for g in report.gateways)


def _write_fixed(directory: Path, fixed: Sequence[FixedGateway], *, inputs: Sequence[str]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {directory}: {exc.strerror}") from exc
    for gateway in fixed:
        write_private(directory / gateway.name, gateway.text, inputs=inputs)
    files = "file" if len(fixed) == 1 else "files"
    click.echo(f"smtpcheck: wrote {len(fixed)} corrected gateway {files} to {directory}", err=True)
