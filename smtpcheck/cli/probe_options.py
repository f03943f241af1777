"""The options of the commands that open SMTP connections: `check` and `discover`.

Defined once here so that ``--timeout``, ``--per-host``, ``--ca-file``, ``--ehlo``,
``--javamail``, ``--credentials``, ``--transport`` and ``--try-port`` read and behave the same
in both; the command receives them as one ``probing``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from smtpcheck.cli.options import SECONDS, FilePath, stacked
from smtpcheck.defaults import CONCURRENCY, PER_HOST

if TYPE_CHECKING:
    from smtpcheck.probe.session import ProbeOptions
    from smtpcheck.runner import RunLimits

__all__ = ["ProbeArgs", "machine_name", "probe_options", "try_port_option"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ProbeArgs:
    """How the command line asked to probe: per-host limit, timeout, extra CA, EHLO name."""

    per_host: int
    timeout: float
    ca_file: str | None
    ehlo: str | None
    javamail: str = "angus"
    credentials: str = "connect"
    transport: str = "send"

    def options(self, **more: Any) -> ProbeOptions:
        """Return the run's probe options; ``more`` sets the others (``send_to``…).

        Raises:
            UsageError: the CA file cannot be loaded, or the EHLO name is not one.
        """
        from smtpcheck.config.profile import (
            Credentials,
            JavaMailProfile,
            Library,
            TransportChoice,
        )
        from smtpcheck.probe.session import ProbeOptions
        from smtpcheck.probe.tls import build_tls_contexts

        library = Library(self.javamail)
        # Once per run: loading the CA store is costly.
        tls = build_tls_contexts(ca_file=self.ca_file, check_name=library.checks_name)
        return ProbeOptions(
            ehlo_name=machine_name(self.ehlo),
            tls=tls,
            timeout=self.timeout,
            profile=JavaMailProfile(
                library=library,
                credentials=Credentials(self.credentials),
                transport=TransportChoice(self.transport),
            ),
            **more,
        )

    def limits(self, concurrency: int = CONCURRENCY) -> RunLimits:
        """Return the run's concurrency limits."""
        from smtpcheck.runner import RunLimits

        return RunLimits(concurrency=concurrency, per_host=self.per_host)


def probe_options(*, timeout: float, config: bool = True) -> Callable[[F], F]:
    """Add ``--per-host``, ``--timeout`` (default ``timeout``), ``--ca-file`` and ``--ehlo``.

    ``config``: the command probes gateway configs (check), so the options about how the
    platform reads a config apply; discover has none, and gets neither those nor their help.
    """
    timeout_help = (
        "Cap on every phase of a probe (the config's own timeouts apply when shorter)."
        if config
        else "Seconds to wait in each phase of a probe (connect, greeting, TLS, each reply)."
    )
    options = [
        click.option(
            "--per-host",
            type=click.IntRange(min=1),
            default=PER_HOST,
            show_default=True,
            help=(
                "Connections at once to one server address, however its name is spelt "
                "(a shared relay must not see a flood); one is kept for a second look at a "
                "silent port."
            ),
        ),
        click.option(
            "--timeout",
            type=SECONDS,
            default=timeout,
            show_default=True,
            metavar="SECONDS",
            help=timeout_help,
        ),
        click.option(
            "--ca-file",
            type=FilePath(exists=True, dir_okay=False),
            metavar="PEM",
            help="Also trust the CA certificates in this file.",
        ),
        click.option(
            "--ehlo",
            metavar="NAME",
            help="Name to send in EHLO [default: this machine's FQDN, looked up once].",
        ),
        _profile_option(
            "--javamail",
            ("angus", "legacy"),
            "The platform's JavaMail: angus (Jakarta Mail 2.1+ / Angus Mail: checks the "
            "certificate's name, even with trust_all_hosts) or legacy (com.sun.mail 2.0 and "
            "older, JavaMail 1.x: checks no name).",
        ),
    ]
    config_options = [
        _profile_option(
            "--credentials",
            ("connect", "authenticator"),
            "How the platform gives JavaMail the login: connect(user, password) logs in "
            "whenever both are set, even with mail.smtp.auth off; a Session Authenticator only "
            "under mail.smtp.auth.",
        ),
        _profile_option(
            "--transport",
            ("send", "session"),
            "Which transport the platform asks for: send (Transport.send: always SMTP, "
            "mail.transport.protocol ignored) or session (session.getTransport(): follows "
            "mail.transport.protocol, so smtps reads only mail.smtps.* keys).",
        ),
    ]

    names: tuple[str, ...] = ("per_host", "timeout", "ca_file", "ehlo", "javamail")
    if config:
        options += config_options
        names += ("credentials", "transport")

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_probing(*args: Any, **kwargs: Any) -> Any:
            kwargs["probing"] = ProbeArgs(**{name: kwargs.pop(name) for name in names})
            return command(*args, **kwargs)

        return cast(F, stacked(options)(with_probing))

    return decorate


def _profile_option(name: str, choices: tuple[str, ...], description: str) -> Callable[[F], F]:
    """One choice of the JavaMail profile, its first value the default.

    The choices are the values of smtpcheck.config.profile's enums, written out (a test keeps
    them equal): importing the enums here would load the config package for --help.
    """
    return click.option(
        name, type=click.Choice(choices), default=choices[0], show_default=True, help=description
    )


def try_port_option(command: F) -> F:
    """Add ``--try-port``: the ports to try instead of the usual ones, each in every mode."""
    option = click.option(
        "--try-port",
        "try_ports",
        type=click.IntRange(1, 65535),
        multiple=True,
        metavar="PORT",
        help="Try this port, in every mode (implicit TLS, STARTTLS, plain), instead of the usual "
        "465, 587, 25 and 2525; repeatable.",
    )
    return option(command)


def machine_name(ehlo: str | None) -> str:
    """Return the EHLO name: the one given, else this machine's FQDN."""
    if ehlo is not None:
        return ehlo
    # Looked up once per run, never per connection (it can mean a DNS query).
    import socket

    name = socket.getfqdn()
    return name if name and not any(c.isspace() for c in name) else "localhost"
