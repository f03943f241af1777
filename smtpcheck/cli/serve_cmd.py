"""`smtpcheck serve`: keep checking the fleet and serve metrics, probes and a status page."""

from __future__ import annotations

import importlib.util
import ipaddress
import re
from pathlib import Path
from typing import Any

import click

from smtpcheck.cli.api_options import ApiOptions, api_options, sources_of
from smtpcheck.cli.delivery_options import SendArgs, delivery_options
from smtpcheck.cli.extra_outputs import LABEL
from smtpcheck.cli.help import GroupedCommand
from smtpcheck.cli.options import selectors, stacked
from smtpcheck.cli.param_types import FilePath
from smtpcheck.cli.probe_options import ProbeArgs, probe_options
from smtpcheck.defaults import CERT_WARN_DAYS, CHECK_TIMEOUT, CONCURRENCY

__all__ = ["serve"]

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
#: The port blackbox_exporter's neighbours do not use; nothing else registered claims it.
_LISTEN = "127.0.0.1:9587"
#: The packages of the ``serve`` extra, looked for (not imported) before anything starts.
_SERVE_EXTRA = ("aiohttp", "prometheus_client")


class _Duration(click.ParamType):  # type: ignore[type-arg]
    """``30s``, ``5m``, ``1h`` or a number of seconds; at least one second."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        match = _DURATION.fullmatch(str(value).strip())
        if match is None:
            self.fail(f"{value!r}: give a duration such as 30s, 5m or 1h", param, ctx)
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
        if seconds < 1:
            self.fail(f"{value!r}: give at least one second", param, ctx)
        return seconds


class _Listen(click.ParamType):  # type: ignore[type-arg]
    """``HOST:PORT`` (``[::1]:9587`` for IPv6): where the endpoints answer."""

    name = "host:port"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        host, sep, port = str(value).rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            self.fail(f"{value!r}: give HOST:PORT, e.g. {_LISTEN}", param, ctx)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            # A name would be looked up, and could mean any address: ask for the address.
            self.fail(f"{host!r} is not an IP address: listen on one, e.g. 0.0.0.0", param, ctx)
        return host, int(port)


def _shard(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    from smtpcheck.serve.shard import parse_shard

    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_OPTIONS = [
    click.option(
        "--listen",
        type=_Listen(),
        default=_LISTEN,
        show_default=True,
        help="Where the endpoints answer; loopback unless asked (0.0.0.0:9587 for every "
        "interface).",
    ),
    click.option(
        "--interval",
        type=_Duration(),
        default="5m",
        show_default=True,
        help="Check every gateway once per interval, the probes spread over it.",
    ),
    click.option(
        "--refresh",
        type=_Duration(),
        default="15m",
        show_default=True,
        help="Load the gateway list again this often (and on SIGHUP); a list that cannot be "
        "loaded leaves the last good one in use.",
    ),
    click.option(
        "--state",
        type=FilePath(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="Keep state changes in this SQLite file, so that 'failing since' survives a "
        "restart [default: in memory].",
    ),
    click.option(
        "--shard",
        default="1/1",
        show_default=True,
        metavar="K/N",
        callback=_shard,
        help="Check only shard K of N (K from 1), split by a stable hash of the gateway id: "
        "N replicas, each with its own K, check the fleet once between them.",
    ),
    LABEL,
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=CONCURRENCY,
        show_default=True,
        help="Probes at once, over all hosts.",
    ),
    click.option(
        "--cert-warn-days",
        type=click.IntRange(min=0),
        default=CERT_WARN_DAYS,
        show_default=True,
        help="Warn when a server certificate expires within this many days.",
    ),
    click.option("--select", multiple=True, metavar="CODE", help="Only these rules."),
    click.option("--ignore", multiple=True, metavar="CODE", help="Skip these rules."),
]


@click.command(cls=GroupedCommand)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@stacked(_OPTIONS)
@probe_options(timeout=CHECK_TIMEOUT)
@delivery_options
@api_options
def serve(
    sources: tuple[str, ...],
    api: ApiOptions | None,
    probing: ProbeArgs,
    sending: SendArgs,
    **given: Any,
) -> None:
    """Keep checking every gateway, and serve its metrics, probes and a status page.

    Endpoints: /metrics (Prometheus), /probe?gateway=ID (one fresh probe, its metrics),
    / (a status page), /report.json (the latest cycle, as `check --format json`),
    /-/healthy and /-/ready (ready after the first complete cycle). SIGTERM or Ctrl-C stop
    it (exit 0); SIGHUP loads the gateway list again. Needs `pip install 'smtpcheck[serve]'`.
    With --send-to each cycle sends a test message per gateway, and --expect-delivery checks
    that it arrives (smtpcheck_delivery_seconds).
    """
    missing = [name for name in _SERVE_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"smtpcheck serve needs {' and '.join(missing)}: pip install 'smtpcheck[serve]'"
        )
    config = _config(sources, api, probing, sending, given)
    _run(config)


def _config(
    sources: tuple[str, ...],
    api: ApiOptions | None,
    probing: ProbeArgs,
    sending: SendArgs,
    given: Any,
) -> Any:
    from smtpcheck._version import __version__
    from smtpcheck.pipeline.check import CheckOptions
    from smtpcheck.pipeline.inventory import LintOptions
    from smtpcheck.rules import Selection
    from smtpcheck.serve.scheduler import Schedule
    from smtpcheck.serve.service import ServeConfig

    selection = Selection(selectors(given["select"]), selectors(given["ignore"]))
    delivery = sending.delivery(ca_file=probing.ca_file)
    check = CheckOptions(
        probe=probing.options(send_to=sending.send_to, mail_from=sending.mail_from),
        limits=probing.limits(given["concurrency"]),
        cert_warn_days=given["cert_warn_days"],
        delivery=delivery,
    )
    schedule = Schedule(
        sources=sources_of(sources, api),
        lint=LintOptions(selection=selection),
        check=check,
        interval_s=given["interval"],
        refresh_s=given["refresh"],
        shard=given["shard"],
        # /probe waits for the delivery too, when one is checked.
        probe_timeout_s=max(probing.timeout * 8, 10.0)
        + (delivery.timeout if delivery is not None else 0.0),
    )
    host, port = given["listen"]
    return ServeConfig(
        schedule=schedule,
        host=host,
        port=port,
        state=given["state"],
        labels=tuple(given["labels"]),
        version=__version__,
    )


def _run(config: Any) -> None:
    import asyncio

    from smtpcheck.serve.service import serve as run_service

    def listening() -> None:
        click.echo(
            f"smtpcheck serve: listening on http://{_url_host(config.host)}:{config.port}/ "
            f"(shard {config.schedule.shard}, every {config.schedule.interval_s:g} s)",
            err=True,
        )

    asyncio.run(run_service(config, listening=listening))
    click.echo("smtpcheck serve: stopped", err=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
