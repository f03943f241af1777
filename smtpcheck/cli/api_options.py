"""The panel API options of the commands, and the panel source they describe.

`api_options` adds ``--api-url`` / ``--region``, ``--hash``, ``--login`` and ``--api-timeout`` and
hands the command one `ApiOptions`, or None when no API was asked for; `ApiOptions.source` asks for
the password where needed and returns the pipeline's `PanelSource`. The panel password is never
an option: it comes from NAVIXY_PASSWORD or a hidden prompt. The HTTP client is imported only when
the API is used, so commands that read files start fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from click.core import ParameterSource

from smtpcheck.cli.options import SECONDS, TEXT, stacked
from smtpcheck.defaults import API_TIMEOUT

if TYPE_CHECKING:
    from smtpcheck.pipeline.sources import PanelSource, Sources

__all__ = [
    "HASH_ENV",
    "LOGIN_ENV",
    "PASSWORD_ENV",
    "REGIONS",
    "ApiOptions",
    "api_options",
    "sources_of",
]

#: The Navixy-hosted panel APIs; an on-premise panel is given by its full base URL instead.
REGIONS = {
    "eu": "https://api.eu.navixy.com/v2",
    "us": "https://api.us.navixy.com/v2",
    "me": "https://api.me.navixy.com/v2",
}
HASH_ENV = "NAVIXY_HASH"
LOGIN_ENV = "NAVIXY_LOGIN"
PASSWORD_ENV = "NAVIXY_PASSWORD"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """The panel API a command reads its gateways from, as the options gave it."""

    base_url: str  # such as https://api.eu.navixy.com/v2, no trailing slash
    session_hash: str | None = field(repr=False)
    login: str | None
    timeout: float = API_TIMEOUT

    def source(self) -> PanelSource:
        """Return the panel to read, with its credentials (asking for the password if needed).

        Raises:
            click.UsageError: a login without a password and no terminal to ask on.
        """
        from smtpcheck.panel.credentials import Credentials
        from smtpcheck.pipeline.sources import PanelSource

        if self.session_hash is not None:
            credentials = Credentials(session_hash=self.session_hash)
        else:
            credentials = Credentials(login=self.login, password=_password(str(self.login)))
        return PanelSource(self.base_url, credentials, self.timeout)


def api_options(command: F) -> F:
    """Add the panel API options; the command receives them as one ``api`` argument."""

    @functools.wraps(command)
    def with_api(*args: Any, **kwargs: Any) -> Any:
        kwargs["api"] = _api_from(
            api_url=kwargs.pop("api_url"),
            region=kwargs.pop("region"),
            session_hash=kwargs.pop("session_hash") or None,
            login=kwargs.pop("login") or None,
            timeout=kwargs.pop("api_timeout"),
        )
        return command(*args, **kwargs)

    return cast(F, stacked(_OPTIONS)(with_api))


def _check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
    except ValueError:  # such as an unclosed "[" of an IPv6 address
        parts = urlsplit("")
    # No message repeats the URL: what is wrong with it may be a secret written into it.
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("give an http(s) base URL such as https://api.eu.navixy.com/v2")
    if parts.username is not None or parts.password is not None:
        raise click.BadParameter("the URL must not carry a user name or password")
    if parts.query or parts.fragment:
        raise click.BadParameter(
            f"the URL must not carry a query string: the session hash goes in --hash or "
            f"{HASH_ENV}, never in a URL"
        )
    try:
        port = parts.port  # urlsplit checks the port only when it is read
    except ValueError:
        port = 0
    if port == 0:
        raise click.BadParameter("the URL's port must be a number from 1 to 65535")
    # The docs write the base both as ".../v2" and as ".../v2/panel/": accept either.
    path = parts.path.rstrip("/").removesuffix("/panel")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _refuse_password(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.BadParameter(
            f"the panel password is never taken as an argument (other users can read it in "
            f"the process list): set {PASSWORD_ENV}, or run on a terminal to be asked for it"
        )


_OPTIONS = [
    click.option(
        "--api-url",
        metavar="URL",
        callback=_check_url,
        help="Read gateways from the panel API at this base URL "
        "(e.g. https://api.eu.navixy.com/v2, or an on-premise panel's).",
    ),
    click.option(
        "--region",
        type=click.Choice(list(REGIONS)),
        help="Read gateways from the Navixy-hosted panel API of this region.",
    ),
    click.option(
        "--hash",
        "session_hash",
        type=TEXT,
        metavar="HASH",
        envvar=HASH_ENV,
        show_envvar=True,
        help="Panel session hash (prefer the environment variable: ps shows arguments).",
    ),
    click.option(
        "--login",
        type=TEXT,
        metavar="LOGIN",
        envvar=LOGIN_ENV,
        show_envvar=True,
        help=f"Log in to the panel as LOGIN; the password comes from {PASSWORD_ENV} "
        "or a prompt on a terminal.",
    ),
    click.option(
        "--api-timeout",
        type=SECONDS,
        default=API_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Timeout of each panel API request; all tries together stop after 3 times this.",
    ),
    click.option("--password", hidden=True, expose_value=False, callback=_refuse_password),
]


def _api_from(
    *,
    api_url: str | None,
    region: str | None,
    session_hash: str | None,
    login: str | None,
    timeout: float,
) -> ApiOptions | None:
    ctx = click.get_current_context()
    if api_url is None and region is None:
        # A NAVIXY_HASH left in the environment must not turn every file check into an API
        # call; the API is used only when asked for by URL or region.
        for name, flag in (("session_hash", "--hash"), ("login", "--login")):
            if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
                raise click.UsageError(f"{flag} needs --api-url or --region")
        return None
    if api_url is not None and region is not None:
        raise click.UsageError("give --api-url or --region, not both")
    session_hash, login = _one_session(ctx, session_hash, login)
    base_url = api_url if api_url is not None else REGIONS[str(region)]
    _warn_if_cleartext(base_url)
    return ApiOptions(base_url, session_hash, login, timeout)


def _one_session(
    ctx: click.Context, session_hash: str | None, login: str | None
) -> tuple[str | None, str | None]:
    """Return the hash or the login to use, the other None."""
    if session_hash is None and login is None:
        raise click.UsageError(
            f"the panel API needs a session: --hash or {HASH_ENV}, or --login or {LOGIN_ENV} "
            f"with the password in {PASSWORD_ENV}"
        )
    if session_hash is None or login is None:
        return session_hash, login
    # What the command line says beats what the environment says; two of a kind clash.
    typed = {
        name
        for name in ("session_hash", "login")
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    if typed == {"login"}:
        return None, login
    if typed == {"session_hash"}:
        return session_hash, None
    raise click.UsageError(
        f"give a session hash (--hash or {HASH_ENV}) or a login (--login or {LOGIN_ENV}), not both"
    )


def _warn_if_cleartext(base_url: str) -> None:
    from urllib.parse import urlsplit

    from smtpcheck.config.address import is_loopback

    parts = urlsplit(base_url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return
    click.echo(
        "smtpcheck: warning: --api-url is plain http: the session hash and password cross "
        "the network unencrypted",
        err=True,
    )


def _password(login: str) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password:
        try:
            password.encode("utf-8")
        except UnicodeEncodeError:  # bytes that were not UTF-8 in the environment
            raise click.UsageError(f"{PASSWORD_ENV} is not UTF-8 text") from None
        return password
    if not _interactive():
        raise click.UsageError(
            f"--login needs the panel password: set {PASSWORD_ENV}, or run on a terminal "
            "to be asked for it"
        )
    return str(click.prompt(f"Panel password for {login}", hide_input=True, err=True))


def _interactive() -> bool:
    return sys.stdin.isatty()


def sources_of(paths: tuple[str, ...], api: ApiOptions | None) -> Sources:
    """Return the run's sources: the panel API's list first, then each SOURCE.

    Raises:
        click.UsageError: neither a SOURCE nor the panel API was given, or no password for a
            login.
    """
    from smtpcheck.pipeline.sources import Sources

    if not paths and api is None:
        raise click.UsageError(
            "give at least one SOURCE (a file, a directory, or - for stdin) or the panel API "
            "(--api-url or --region)"
        )
    panel = None if api is None else api.source()
    return Sources(paths, panel, environ=os.environ, stdin=sys.stdin.buffer)
