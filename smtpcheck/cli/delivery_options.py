"""The options that send a test message and check that it arrives: `check` and `serve`.

``--send-to`` and ``--from`` send one message; ``--expect-delivery`` and its companions look for
it in a catcher or a mailbox afterwards. The command receives them as one ``sending``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from smtpcheck.cli.options import stacked
from smtpcheck.cli.param_types import seconds_up_to
from smtpcheck.defaults import DELIVERY_PASSWORD_ENV, DELIVERY_TIMEOUT, DELIVERY_TIMEOUT_MAX

if TYPE_CHECKING:
    from smtpcheck.delivery.polling import DeliveryOptions

__all__ = ["SendArgs", "delivery_options"]

F = TypeVar("F", bound=Callable[..., Any])
_NAMES = (
    "send_to",
    "mail_from",
    "expect_delivery",
    "delivery_timeout",
    "keep_delivered",
    "delivery_password_env",
)


@dataclass(frozen=True, slots=True)
class SendArgs:
    """What the command line asked to send, and where the message must then arrive."""

    send_to: str | None = None
    mail_from: str | None = None
    expect_delivery: str | None = None
    delivery_timeout: float = DELIVERY_TIMEOUT
    keep_delivered: bool = False
    delivery_password_env: str = DELIVERY_PASSWORD_ENV

    def delivery(
        self, *, ca_file: str | None, env: Mapping[str, str] = os.environ
    ) -> DeliveryOptions | None:
        """Return the delivery check asked for, or None.

        Raises:
            click.UsageError: ``--expect-delivery`` without ``--send-to``, a URL that names no
                catcher or mailbox, or a mailbox without its password variable.
            UsageError: the CA file cannot be loaded.
        """
        if self.expect_delivery is None:
            if self.keep_delivered:
                raise click.UsageError("--keep-delivered needs --expect-delivery")
            return None
        if self.send_to is None:
            raise click.UsageError("--expect-delivery needs --send-to: nothing is sent without it")
        from smtpcheck.delivery.imap import MailboxTarget
        from smtpcheck.delivery.inbox import parse_place
        from smtpcheck.delivery.polling import DeliveryOptions
        from smtpcheck.probe.tls import trusting

        password = env.get(self.delivery_password_env) or None
        try:
            place = parse_place(self.expect_delivery, password=password)
        except ValueError as exc:
            raise click.UsageError(f"--expect-delivery: {exc}") from None
        if isinstance(place, MailboxTarget) and password is None:
            raise click.UsageError(
                f"--expect-delivery {place.display}: the mailbox password is read from "
                f"${self.delivery_password_env}, which is not set"
            )
        return DeliveryOptions(
            place=place,
            timeout=self.delivery_timeout,
            keep=self.keep_delivered,
            password=password if isinstance(place, MailboxTarget) else None,
            # Catchers and mailboxes are verified, name and all, whatever --javamail says.
            ssl_context=trusting(ca_file),
        )


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from smtpcheck.config.address import address_problem

    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 on the command line
        raise click.BadParameter(f"{value!r} is not UTF-8 text") from None
    if problem := address_problem(value):
        raise click.BadParameter(f"{value!r} is not an e-mail address: {problem}")
    return value


_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--send-to",
        metavar="ADDR",
        callback=_address,
        help="Really send one small test message to ADDR (nothing is sent without this).",
    ),
    click.option(
        "--from",
        "mail_from",
        metavar="ADDR",
        callback=_address,
        help="Sender of the test message [default: each gateway's default_from_address].",
    ),
    click.option(
        "--expect-delivery",
        metavar="URL",
        help="After the server accepts the test message, check that it arrives intact in URL: "
        "mailpit+http://HOST:PORT (or mailhog+, maildev+, smtp4dev+; https too), or a mailbox "
        "imaps://USER@HOST[:PORT]/FOLDER (imap:// with STARTTLS).",
    ),
    click.option(
        "--delivery-timeout",
        type=seconds_up_to(DELIVERY_TIMEOUT_MAX),
        default=DELIVERY_TIMEOUT,
        show_default=True,
        help=f"Seconds to wait for the message to arrive (at most {DELIVERY_TIMEOUT_MAX:g}).",
    ),
    click.option(
        "--keep-delivered",
        is_flag=True,
        help="Leave the arrived test message where it is (default: delete it).",
    ),
    click.option(
        "--delivery-password-env",
        metavar="VAR",
        default=DELIVERY_PASSWORD_ENV,
        show_default=True,
        help="Environment variable holding the mailbox password (or the catcher's, for a "
        "URL with user@ and no password).",
    ),
]


def delivery_options(command: F) -> F:
    """Add the sending and delivery options; the command receives them as ``sending``."""

    @functools.wraps(command)
    def with_sending(*args: Any, **kwargs: Any) -> Any:
        kwargs["sending"] = SendArgs(**{name: kwargs.pop(name) for name in _NAMES})
        return command(*args, **kwargs)

    return cast(F, stacked(_OPTIONS)(with_sending))
