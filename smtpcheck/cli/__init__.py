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
    "samples": "smtpcheck.cli.samples_cmd",
    "schema": "smtpcheck.cli.schema_cmd",
    "serve": "smtpcheck.cli.serve_cmd",
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
    args = sys.argv[1:] if argv is None else argv
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting itself.
        code = cli.main(args=args, prog_name="smtpcheck", standalone_mode=False)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's name for Ctrl-C
            return _could_not_run(args, "interrupted", signal_exit_code(signal.SIGINT), error=False)
        return _could_not_run(args, "aborted", EXIT_ERROR, error=False)
    except Terminated:
        code = signal_exit_code(signal.SIGTERM)
        return _could_not_run(args, "terminated (SIGTERM)", code, error=False)
    except click.ClickException as exc:
        hint = None
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f"Try '{exc.ctx.command_path} --help' for help."
        return _could_not_run(args, exc.format_message(), EXIT_ERROR, hint=hint)
    except SmtpcheckError as exc:
        return _could_not_run(args, str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        return _could_not_run(args, "interrupted", signal_exit_code(signal.SIGINT), error=False)
    except Exception as exc:  # the last guard: a bug must not print a traceback at the user
        message = f"internal error: {type(exc).__name__}: {exc} (this is a bug; please report it)"
        return _could_not_run(args, message, EXIT_ERROR, error=False)
    return code if isinstance(code, int) else 0


def _could_not_run(
    args: list[str], message: str, code: int, *, error: bool = True, hint: str | None = None
) -> int:
    """Say that the run could not happen, in the words of the output format asked for.

    A format whose consumer reads the answer itself (Nagios shows standard output and reads
    exit 2 as CRITICAL) gets its own line and status, whatever stopped the run: a refused
    option, an unusable panel, Ctrl-C, a bug. The others get one line on standard error in one
    style, ``smtpcheck: error: …`` (``hint``: a second line saying where help is).
    """
    from smtpcheck.cli.exits import unusable_answer
    from smtpcheck.reporters import printable

    # A path or value with a line break in it must not split the message: one error, one line.
    message = printable(message)
    answer = unusable_answer(_format_asked(args), message)
    if answer is not None:
        text, status = answer
        click.echo(text, nl=False)
        return status
    click.echo(f"smtpcheck: {'error: ' if error else ''}{message}", err=True)
    if hint is not None:
        click.echo(hint, err=True)
    return code


def _format_asked(args: list[str]) -> str | None:
    """Return the last ``--format`` on the command line, read before click parses it.

    The answer must not depend on how far click got: an option refused before ``--format``
    is parsed is still answered in the format the caller reads. Values after ``--`` are
    arguments, not options.
    """
    asked = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format" and index + 1 < len(args):
            asked = args[index + 1]
        elif arg.startswith("--format="):
            asked = arg.partition("=")[2]
    return asked


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated
