"""The command line: parses options, runs the pipeline, writes the report, picks the exit code.

This package is the only place that imports click. Commands import the pipeline lazily, so
`smtpcheck --version` and `smtpcheck rules` start without loading the SMTP or HTTP clients.
"""

from __future__ import annotations

import gc
import importlib
import signal
import sys
import threading
from types import FrameType

import click

from smtpcheck._version import __version__
from smtpcheck.cli.exits import EXIT_ERROR, Terminated, signal_exit_code
from smtpcheck.errors import SmtpcheckError

__all__ = ["cli", "main"]

#: Each command's module; a run imports only its own (``--help`` lists them sorted, as click does).
_COMMANDS = {
    "validate": "smtpcheck.cli.validate_cmd",
    "check": "smtpcheck.cli.check_cmd",
    "rules": "smtpcheck.cli.rules_cmd",
    "fetch": "smtpcheck.cli.fetch_cmd",
    "discover": "smtpcheck.cli.discover_cmd",
    "demo": "smtpcheck.cli.demo_cmd",
}


class _Commands(click.Group):
    """The command group, loading each command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smtpcheck", message="%(prog)s %(version)s")
def cli() -> None:
    """Lint and live-check the SMTP email gateways of a Navixy-style panel."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line; expected failures print one line and exit 2, never a traceback."""
    # A run allocates many small objects that live until it ends (gateways, findings, reports)
    # and makes almost no cycles: collecting every 700 allocations, rescanning all of them each
    # time, cost ~15 % of validating 10 000 gateways. Collect rarely, and never rescan imports.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    # SIGTERM raises, as Ctrl-C does, so that every `finally` runs: a file being written is
    # removed, never left half-written. A check in progress catches both itself, gently.
    previous = None
    if threading.current_thread() is threading.main_thread():  # where signals are taken
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        code = _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting itself.
        code = cli.main(args=argv, prog_name="smtpcheck", standalone_mode=False)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's name for Ctrl-C
            click.echo("smtpcheck: interrupted", err=True)
            return signal_exit_code(signal.SIGINT)
        click.echo("smtpcheck: aborted", err=True)
        return EXIT_ERROR
    except Terminated:
        click.echo("smtpcheck: terminated (SIGTERM)", err=True)
        return signal_exit_code(signal.SIGTERM)
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except SmtpcheckError as exc:
        click.echo(f"smtpcheck: error: {exc}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("smtpcheck: interrupted", err=True)
        return signal_exit_code(signal.SIGINT)
    except Exception as exc:  # the last guard: a bug must not print a traceback at the user
        click.echo(
            f"smtpcheck: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; please report it)",
            err=True,
        )
        return EXIT_ERROR
    return code if isinstance(code, int) else 0


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated
