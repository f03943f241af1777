"""`smtpcheck discover HOST`: which ports and TLS modes of a mail server work, and the params."""

from __future__ import annotations

import os
from pathlib import Path

import click

from smtpcheck.cli.exits import EXIT_FAIL, EXIT_OK
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import FilePath
from smtpcheck.cli.output import preflight_output, use_color, write_output
from smtpcheck.cli.probe_options import ProbeArgs, probe_options, try_port_option
from smtpcheck.defaults import DISCOVER_TIMEOUT

__all__ = ["discover"]


def _host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from smtpcheck.config.address import host_problem

    problem = host_problem(value)
    if problem is not None:
        raise click.BadParameter(f"{value!r} is not a host name: {problem}")
    return value


@click.command(cls=GroupedCommand)
@click.argument("host", callback=_host)
@try_port_option
@probe_options(timeout=DISCOVER_TIMEOUT, config=False)
@click.option(
    "--user",
    metavar="USER",
    help="Also log in as USER: once per working combination, best first, never again after a "
    "refusal, and never in plain text to another machine.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    help="Environment variable that holds the password of --user (never an argument: other "
    "users can read those in the process list).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=FilePath(dir_okay=False, writable=True, path_type=Path),
    help="Write the result to this file instead of standard output.",
)
@click.option("--no-color", is_flag=True, help="Never colour the text output.")
def discover(
    host: str,
    try_ports: tuple[int, ...],
    probing: ProbeArgs,
    user: str | None,
    password_env: str | None,
    fmt: str,
    output: Path | None,
    no_color: bool,
) -> None:
    """Try the usual ports and TLS modes of HOST at once and say which work.

    By default: 465 implicit TLS, 587 STARTTLS, 25 STARTTLS and plain, 2525 STARTTLS and
    plain. For each: reachable, greeting, TLS version and certificate, AUTH offered and, with
    --user, whether the login is accepted. Exits 0 when a combination works, 1 when none does.
    """
    from smtpcheck.pipeline.discover import discover_host
    from smtpcheck.reporters.discovery import render_discovery

    preflight_output(output, inputs=(probing.ca_file,))
    password = _password(user, password_env)
    found = discover_host(
        host,
        user=user,
        password=password,
        probe=probing.options(transcript=False),
        limits=probing.limits(),
        ports=try_ports,
    )
    write_output(render_discovery(found, fmt, color=use_color(fmt, output, no_color)), output)
    click.get_current_context().exit(EXIT_OK if found.best is not None else EXIT_FAIL)


def _password(user: str | None, variable: str | None) -> str | None:
    if user is None and variable is None:
        return None
    if user is None:
        raise click.UsageError("--password-env needs --user")
    if variable is None:
        raise click.UsageError("--user needs --password-env VAR, the variable holding the password")
    password = os.environ.get(variable)
    if not password:
        raise click.UsageError(f"--password-env {variable}: the variable is not set or empty")
    return password
