"""``--help`` a person can scan: options under headings, then examples and the exit codes.

`GroupedCommand` is the class of every command (``@click.command(cls=GroupedCommand)``). The
headings, examples and exit codes live here, keyed by command name; an option no table
names is listed under "Options", so a new one is never lost from the help.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping

import click

from smtpcheck.cli.exits import EXIT_ERROR, EXIT_FAIL, EXIT_OK, signal_exit_code

__all__ = ["EXAMPLES", "GROUPS", "HEADINGS", "OTHER", "GroupedCommand", "exit_codes"]

#: The headings options are listed under, in this order; `OTHER` comes last.
HEADINGS = ("Serve", "Output", "Selection", "Probe", "Delivery", "Suggest", "Panel API")
#: Where an option that no table names is listed.
OTHER = "Options"

_OUTPUT = dict.fromkeys(
    ("--format", "--output", "--report", "--label", "--quiet", "--verbose", "--no-color"),
    "Output",
)
_SELECTION = dict.fromkeys(("--select", "--ignore", "--gateway", "--fail-on"), "Selection")
_PROBE = dict.fromkeys(
    (
        "--concurrency",
        "--per-host",
        "--timeout",
        "--ca-file",
        "--ehlo",
        "--javamail",
        "--credentials",
        "--transport",
        "--cert-warn-days",
        "--send-to",
        "--from",
    ),
    "Probe",
)
_DELIVERY = dict.fromkeys(
    ("--expect-delivery", "--delivery-timeout", "--keep-delivered", "--delivery-password-env"),
    "Delivery",
)
_SUGGEST = dict.fromkeys(("--suggest", "--try-port", "--write-fixed"), "Suggest")
_PANEL = dict.fromkeys(("--api-url", "--region", "--hash", "--login", "--api-timeout"), "Panel API")

#: Each command's options by heading, by their long name.
GROUPS: Mapping[str, Mapping[str, str]] = {
    "validate": {**_OUTPUT, **_SELECTION, **_PANEL},
    "check": {**_OUTPUT, **_SELECTION, **_PROBE, **_DELIVERY, **_SUGGEST, **_PANEL},
    # discover has no config: --try-port chooses what it probes, and the login is its own.
    "discover": {
        **_OUTPUT,
        **_PROBE,
        **dict.fromkeys(("--try-port", "--user", "--password-env"), "Probe"),
    },
    "fetch": {**_OUTPUT, "--include-secrets": "Output", **_PANEL},
    "rules": _OUTPUT,
    "demo": _OUTPUT,
    "samples": {"--force": "Output"},
    "serve": {
        **dict.fromkeys(("--listen", "--interval", "--refresh", "--state", "--shard"), "Serve"),
        "--label": "Output",
        **_SELECTION,
        **_PROBE,
        **_DELIVERY,
        **_PANEL,
    },
    "schema": _OUTPUT,
}

#: Each command's examples: (what it does, the command line).
EXAMPLES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "validate": (
        ("Lint every gateway file below a directory, offline:", "smtpcheck validate gateways/"),
        (
            "Lint the panel's list (the session hash in NAVIXY_HASH), as JUnit for CI:",
            "smtpcheck validate --region eu --format junit -o validate.xml",
        ),
        (
            "Show only what is wrong, and fail on warnings too:",
            "smtpcheck validate -q --fail-on warning gateways/",
        ),
    ),
    "check": (
        ("Connect to the gateways of one file and check them:", "smtpcheck check gateway.json"),
        (
            "Check the panel's fleet, with a verified fix for each failed gateway:",
            "smtpcheck check --region eu --suggest -q",
        ),
        (
            "Run as a Nagios or Icinga plugin:",
            "smtpcheck check --format nagios --timeout 5 gateways/",
        ),
        (
            "In CI: send a test message and check that it reaches the Mailpit beside it:",
            "smtpcheck check --send-to ci@example.test --expect-delivery "
            "mailpit+http://localhost:8025 configs/ci-mailpit.json",
        ),
    ),
    "discover": (
        ("Find which ports and modes of a host work:", "smtpcheck discover smtp.example.com"),
        (
            "Also log in, the password in SMTP_PASSWORD:",
            "smtpcheck discover smtp.example.com --user alerts@example.com "
            "--password-env SMTP_PASSWORD",
        ),
        (
            "Try one more port, for a script:",
            "smtpcheck discover smtp.example.com --try-port 2525 --format json",
        ),
    ),
    "fetch": (
        (
            "Save the list, passwords redacted (the session hash in NAVIXY_HASH):",
            "smtpcheck fetch --region eu -o gateways.json",
        ),
        (
            "Log in to an on-premise panel (the password in NAVIXY_PASSWORD):",
            "smtpcheck fetch --api-url https://panel.example.com/api --login dealer "
            "-o gateways.json",
        ),
    ),
    "rules": (
        ("List every rule:", "smtpcheck rules"),
        ("Explain one:", "smtpcheck rules SC105"),
        ("The catalogue for a script:", "smtpcheck rules --format json"),
    ),
    "demo": (
        ("See a check against local servers, nothing sent out:", "smtpcheck demo"),
        ("The same with every SMTP transcript:", "smtpcheck demo -v"),
    ),
    "serve": (
        (
            "Check the panel's fleet every 5 minutes, metrics on 127.0.0.1:9587:",
            "smtpcheck serve --region eu --state /var/lib/smtpcheck/state.sqlite",
        ),
        (
            "Replica 2 of 4, on every interface, checking every minute:",
            "smtpcheck serve --region eu --shard 2/4 --listen 0.0.0.0:9587 --interval 1m",
        ),
    ),
    "samples": (
        ("Write the sample configs, then lint them:", "smtpcheck samples configs"),
        ("Replace samples edited since:", "smtpcheck samples --force configs"),
    ),
    "schema": (
        ("Save the JSON Schema of the report:", "smtpcheck schema > report.schema.json"),
        (
            "Check a saved report with a JSON Schema validator (check-jsonschema here):",
            "smtpcheck schema > schema.json && check-jsonschema --schemafile schema.json r.json",
        ),
    ),
}

_STOPPED = (
    (signal_exit_code(signal.SIGINT), "interrupted (Ctrl-C)"),
    (signal_exit_code(signal.SIGTERM), "terminated (SIGTERM)"),
)
_COULD_NOT_RUN = (EXIT_ERROR, "the run could not happen: a bad option or path, an unusable panel")
_EXITS: Mapping[str, tuple[tuple[int, str], ...]] = {
    "validate": (
        (EXIT_OK, "no error found (warnings pass, unless --fail-on warning)"),
        (EXIT_FAIL, "an error in a gateway or a source, or a finding that reached --fail-on"),
        _COULD_NOT_RUN,
    ),
    "check": (
        (EXIT_OK, "every gateway checked works, and no finding reached --fail-on"),
        (
            EXIT_FAIL,
            "a gateway failed or could not be checked, nothing was checked at all, or a "
            "finding reached --fail-on",
        ),
        _COULD_NOT_RUN,
    ),
    "discover": (
        (EXIT_OK, "a combination works"),
        (EXIT_FAIL, "none works"),
        _COULD_NOT_RUN,
    ),
    "fetch": ((EXIT_OK, "the list was saved"), _COULD_NOT_RUN),
    "rules": ((EXIT_OK, "listed or explained"), (EXIT_ERROR, "no such rule")),
    "demo": (
        (EXIT_OK, "every sample gateway got the verdict it is meant to get"),
        (EXIT_FAIL, "one did not"),
        _COULD_NOT_RUN,
    ),
    "samples": ((EXIT_OK, "the samples were written"), _COULD_NOT_RUN),
    "serve": (
        (EXIT_OK, "stopped by SIGTERM or Ctrl-C"),
        (EXIT_ERROR, "could not start: a bad option, an address in use, a --state file in use"),
    ),
    "schema": ((EXIT_OK, "the schema was printed"),),
}
_NAGIOS = ("validate", "check", "demo")  # the commands with --format nagios
_STOPS_CLEANLY = ("serve",)  # a signal is how it is meant to end: exit 0


def exit_codes(command: str) -> list[tuple[str, str]]:
    """Return the exit codes of a command and what each means, as ``--help`` lists them."""
    rows = [(str(code), meaning) for code, meaning in _EXITS.get(command, (_COULD_NOT_RUN,))]
    if command in _NAGIOS:
        from smtpcheck.reporters.nagios import NagiosState

        states = ", ".join(f"{int(s)} {s.name}" for s in NagiosState)
        unknown = NagiosState.UNKNOWN
        rows.append(
            (
                str(int(unknown)),
                f"with --format nagios, {unknown.name}: the run could not happen, or a check "
                f"could not run or checked no gateway ({states}, as Nagios reads them)",
            )
        )
    if command not in _STOPS_CLEANLY:
        rows.extend((str(code), meaning) for code, meaning in _STOPPED)
    return rows


class GroupedCommand(click.Command):
    """A command whose ``--help`` lists options by heading, then examples and exit codes."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the options under their headings, each heading in `HEADINGS` order."""
        table = GROUPS.get(self.name or "", {})
        grouped: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and isinstance(param, click.Option):  # arguments: in Usage
                heading = table.get(_long_name(param), OTHER)
                grouped.setdefault(heading, []).append(record)
        for heading in (*HEADINGS, OTHER):
            if heading in grouped:
                with formatter.section(heading):
                    formatter.write_dl(grouped[heading])

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the command's epilog, its examples and its exit codes."""
        super().format_epilog(ctx, formatter)
        name = self.name or ""
        examples = EXAMPLES.get(name, ())
        if examples:
            with formatter.section("Examples"):
                for what, line in examples:
                    formatter.write_text(what)
                    # A command line is never rewrapped: it must stay copyable.
                    formatter.write(f"{'':>{formatter.current_indent + 2}}{line}\n")
        with formatter.section("Exit codes"):
            formatter.write_dl(exit_codes(name))


def _long_name(param: click.Parameter) -> str:
    """Return the name the tables use: the long option (``--output`` for ``-o/--output``)."""
    names = [opt for opt in param.opts if opt.startswith("--")]
    return names[0] if names else (param.opts[0] if param.opts else param.name or "")
