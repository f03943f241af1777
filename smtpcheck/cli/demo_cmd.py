"""`smtpcheck demo`: the whole live check, against mail servers it starts itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import click

from smtpcheck.cli.exits import EXIT_FAIL, EXIT_OK
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import format_choice, no_color_option, verbose_option
from smtpcheck.cli.output import use_color, write_output
from smtpcheck.defaults import FORMATS

if TYPE_CHECKING:
    from smtpcheck.demo import DemoResult
    from smtpcheck.reporters import RenderOptions

__all__ = ["demo"]


@click.command(cls=GroupedCommand)
# SARIF points at lines of the user's config files: the demo's are its own.
@format_choice(tuple(f for f in FORMATS if f != "sarif"))
@verbose_option
@no_color_option
def demo(fmt: str, verbose: bool, no_color: bool) -> None:
    """Check sample gateways against local mail servers started for the purpose.

    Starts a Mailpit-like catcher, a STARTTLS submission server and an implicit-TLS server on
    free loopback ports (throwaway certificates, nothing leaves the machine), checks the
    gateways in sample_configs/demo/ against them — two correct, one CI catcher, two broken on
    purpose — with --suggest, and exits 0 when each gets the verdict it is meant to get and the
    mismatched gateway its verified fix, and the test message sent through each working gateway
    arrives intact in the demo's own Mailpit-compatible catcher.
    """
    from smtpcheck.demo import CONFIGS, display_path, run_demo
    from smtpcheck.reporters import RenderOptions, render

    result = run_demo(verbose=verbose)
    options = RenderOptions(color=use_color(fmt, None, no_color), verbose=verbose)
    if fmt == "nagios":
        _nagios(result, options)
    write_output(render(result.report, fmt, options), None)
    if result.unmet:
        for line in result.unmet:
            click.echo(f"smtpcheck demo: unexpected: {line}", err=True)
        raise SystemExit(EXIT_FAIL)
    if fmt == "text":
        click.echo(
            "\nThe two failures above are meant: the demo breaks gateways 4 and 5 on purpose,\n"
            "and --suggest found (and verified) the params that fix gateway 4.\n"
            "Gateways 1-3 each sent a test message, and it arrived intact in the demo's\n"
            "Mailpit-compatible catcher (--expect-delivery), then was removed.\n"
            f"Their configs are in {display_path(CONFIGS)} (sample_configs/demo/ in the source "
            "tree).\nCheck your own gateway with:\n"
            "    smtpcheck check my-gateway.json",
            err=True,
        )
    raise SystemExit(EXIT_OK)


def _nagios(result: DemoResult, options: RenderOptions) -> NoReturn:
    """Judge the demo as Nagios reads it: OK when every gateway got its meant verdict.

    The gateways broken on purpose fail; the plugin's state is the demo's own verdict, so that
    the status line and the exit status agree (never CRITICAL with exit 0).
    """
    from smtpcheck.demo import EXPECTED
    from smtpcheck.reporters.nagios import NagiosState, render_nagios

    count = result.report.summary.gateways
    if result.unmet:
        verdict = (NagiosState.CRITICAL, f"demo: unexpected: {'; '.join(result.unmet)}")
    else:
        meant = " and ".join(str(i) for i, (status, _) in EXPECTED.items() if status == "failed")
        verdict = (
            NagiosState.OK,
            f"demo passed: each of the {count} gateways got the verdict it is meant to get "
            f"(gateways {meant} fail on purpose)",
        )
    write_output(render_nagios(result.report, options, verdict=verdict), None)
    raise SystemExit(int(verdict[0]))
