"""`smtpcheck demo`: the whole live check, against mail servers it starts itself."""

from __future__ import annotations

import click

from smtpcheck.cli.exits import EXIT_FAIL, EXIT_OK
from smtpcheck.cli.options import format_option, no_color_option, verbose_option
from smtpcheck.cli.output import use_color, write_output

__all__ = ["demo"]


@click.command()
@format_option
@verbose_option
@no_color_option
def demo(fmt: str, verbose: bool, no_color: bool) -> None:
    """Check sample gateways against local mail servers started for the purpose.

    Starts a Mailpit-like catcher, a STARTTLS submission server and an implicit-TLS server on
    free loopback ports (throwaway certificates, nothing leaves the machine), checks the
    gateways in sample_configs/demo/ against them — two correct, one CI catcher, two broken on
    purpose — with --suggest, and exits 0 when each gets the verdict it is meant to get and the
    mismatched gateway its verified fix.
    """
    from smtpcheck.demo import CONFIGS, display_path, run_demo
    from smtpcheck.reporters import RenderOptions, render

    result = run_demo(verbose=verbose)
    options = RenderOptions(color=use_color(fmt, None, no_color), verbose=verbose)
    write_output(render(result.report, fmt, options), None)
    if result.unmet:
        for line in result.unmet:
            click.echo(f"smtpcheck demo: unexpected: {line}", err=True)
        raise SystemExit(EXIT_FAIL)
    if fmt == "text":
        click.echo(
            "\nThe two failures above are meant: the demo breaks gateways 4 and 5 on purpose,\n"
            "and --suggest found (and verified) the params that fix gateway 4.\n"
            f"Their configs are in {display_path(CONFIGS)} (sample_configs/demo/ in the source "
            "tree).\nCheck your own gateway with:\n"
            "    smtpcheck check my-gateway.json",
            err=True,
        )
    raise SystemExit(EXIT_OK)
