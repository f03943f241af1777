"""``--help`` groups the options under headings, and ends with examples and exit codes."""

from __future__ import annotations

import re
import shlex
import signal

import click
import pytest
from click.testing import CliRunner

from smtpcheck.cli import cli
from smtpcheck.cli.exits import EXIT_ERROR, EXIT_FAIL, EXIT_OK, signal_exit_code
from smtpcheck.cli.help import EXAMPLES, GROUPS, HEADINGS, OTHER, GroupedCommand, exit_codes
from smtpcheck.reporters.nagios import NagiosState

__all__: list[str] = []

_HEADING = re.compile(r"^([A-Z][A-Za-z ]+):$", re.MULTILINE)


def _small(name: str) -> click.Command:
    """A command of a few options, one of them in no table."""

    @click.command(cls=GroupedCommand, name=name)
    @click.argument("sources", nargs=-1, metavar="[SOURCE]...")
    @click.option("--api-url", help="The panel.")
    @click.option("--zzz-new", is_flag=True, help="An option nobody filed yet.")
    @click.option("--suggest", is_flag=True, help="Suggest.")
    @click.option("--keep-delivered", is_flag=True, help="Keep.")
    @click.option("--timeout", help="Wait.")
    @click.option("--select", help="Rules.")
    @click.option("-o", "--output", help="Where.")
    def command(**kwargs: object) -> None:
        """Do it."""

    return command


def _help(command: click.Command) -> str:
    result = CliRunner().invoke(command, ["--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}:\n", 1)[1].split("\n\n", 1)[0]


def test_help_lists_options_under_their_headings_in_order():
    text = _help(_small("check"))
    shown = [heading for heading in HEADINGS if heading != "Serve"]  # check has none of those
    assert _HEADING.findall(text) == [*shown, OTHER, "Examples", "Exit codes"]
    assert "-o, --output" in _section(text, "Output")
    assert "--select" in _section(text, "Selection")
    assert "--timeout" in _section(text, "Probe")
    assert "--suggest" in _section(text, "Suggest")
    assert "--api-url" in _section(text, "Panel API")


def test_help_puts_an_option_no_table_names_under_options():
    other = _section(_help(_small("check")), OTHER)
    assert "--zzz-new" in other and "--help" in other
    assert "[SOURCE]" not in other, "arguments belong to the usage line, not the options"


def test_help_ends_with_the_command_examples_as_they_are_typed():
    text = _help(_small("check"))
    examples = _section(text, "Examples")
    for what, line in EXAMPLES["check"]:
        assert f"    {line}\n" in examples + "\n", line  # whole, on one line, never rewrapped
        assert what in examples


def test_help_exit_codes_come_from_the_constants():
    rows = dict(exit_codes("check"))
    assert list(rows) == [
        str(EXIT_OK),
        str(EXIT_FAIL),
        str(EXIT_ERROR),
        str(int(NagiosState.UNKNOWN)),
        str(signal_exit_code(signal.SIGINT)),
        str(signal_exit_code(signal.SIGTERM)),
    ]
    assert "nothing was checked" in rows[str(EXIT_FAIL)]
    assert "--format nagios" in rows[str(int(NagiosState.UNKNOWN))]
    assert rows[str(signal_exit_code(signal.SIGINT))] == "interrupted (Ctrl-C)"
    exits = _section(_help(_small("check")), "Exit codes")
    assert [line.split()[0] for line in exits.splitlines() if line[2] != " "] == list(rows)


def test_help_of_a_command_without_nagios_has_no_code_3():
    assert [code for code, _ in exit_codes("discover")] == ["0", "1", "2", "130", "143"]


def test_help_of_a_command_the_tables_do_not_know():
    text = _help(_small("brand-new"))
    assert _HEADING.findall(text) == [OTHER, "Exit codes"]  # no examples, every option listed
    assert "--timeout" in _section(text, OTHER)


def _real(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    return command


@pytest.mark.parametrize(
    ("name", "line"),
    [(name, line) for name, examples in EXAMPLES.items() for _, line in examples],
)
def test_help_examples_are_command_lines_the_command_takes(name, line):
    words = shlex.split(line)
    assert words[:2] == ["smtpcheck", name], line
    command = _real(name)
    # Parsed as the command would parse them, callbacks and prompts left out: an option that
    # was renamed or removed makes this fail.
    command.make_context(name, words[2:], resilient_parsing=True)


@pytest.mark.parametrize("name", list(GROUPS))
def test_help_tables_place_every_option_of_the_real_command(name):
    command = _real(name)
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    longs = {next((o for o in p.opts if o.startswith("--")), p.opts[0]) for p in options}
    assert sorted(longs - set(GROUPS[name]) - {"--help"}) == []


@pytest.mark.parametrize("name", ["validate", "check", "discover", "fetch", "rules", "demo"])
def test_help_of_the_real_command_is_grouped(name):
    result = CliRunner().invoke(cli, [name, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    headings = _HEADING.findall(result.output)
    assert headings[-2:] == ["Examples", "Exit codes"], headings
    assert "Output" in headings
