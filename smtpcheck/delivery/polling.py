"""`--expect-delivery`: after the 250, look for the test message until it arrives or time runs out.

Polls back off from 50 ms to 1 s: a local catcher stores a message within milliseconds, a
relay may take seconds, and a fleet's checks must not hammer one catcher. What arrived is then
compared with what was sent, and removed unless kept.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from smtpcheck.defaults import DELIVERY_TIMEOUT
from smtpcheck.delivery.compare import differences
from smtpcheck.delivery.found import FoundMessage
from smtpcheck.delivery.inbox import Inbox, InboxError, Place, open_inbox
from smtpcheck.results import DeliveryOutcome, DeliveryResult, SentMessage

__all__ = ["DeliveryOptions", "expect_delivery"]

_FIRST_DELAY = 0.05
_BACKOFF = 1.5
_LONGEST_DELAY = 1.0
_CALL_TIMEOUT = 10.0  # one request to the place: a poll that hangs must not eat the whole wait


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """Where to look and for how long; ``password`` logs in to a mailbox (never shown).

    ``ssl_context`` verifies an https catcher or an IMAP server (None: the system's CAs).
    """

    place: Place
    timeout: float = DELIVERY_TIMEOUT
    keep: bool = False
    password: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def open(self) -> Inbox:
        """Return the inbox to look in; the caller closes it."""
        context = self.ssl_context or ssl.create_default_context()
        return open_inbox(
            self.place, password=self.password, ssl_context=context, timeout=self.call_timeout
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the passwords these options hold: what no output may show."""
        catcher = getattr(self.place, "password", None)
        return tuple(s for s in (self.password, catcher) if s)

    @property
    def call_timeout(self) -> float:
        """Return the seconds one request to the place may take."""
        return min(_CALL_TIMEOUT, max(self.timeout, 1.0))


async def expect_delivery(
    inbox: Inbox,
    sent: SentMessage,
    options: DeliveryOptions,
    *,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryResult:
    """Return how the delivery of ``sent`` ended; never raises for what the place does."""
    deadline = sent.accepted_at + options.timeout
    started, polls, delay = clock(), 0, _FIRST_DELAY
    while True:
        polls += 1
        try:
            found = await inbox.find(sent.token)
        except InboxError as exc:
            return _unreachable(inbox, sent, exc, waited=clock() - started, polls=polls)
        now = clock()
        if found is not None:
            return await _arrived(
                inbox,
                sent,
                found,
                options,
                latency=now - sent.accepted_at,
                waited=now - started,
                polls=polls,
            )
        if now >= deadline:
            return DeliveryResult(
                where=inbox.where,
                outcome=DeliveryOutcome.MISSING,
                token=sent.token,
                waited_ms=(now - started) * 1000,
                polls=polls,
                detail=(
                    f"the server accepted the message, and {inbox.where} did not hold it "
                    f"{options.timeout:g} s later ({polls} looks)"
                ),
            )
        await sleep(min(delay, deadline - now))
        delay = min(delay * _BACKOFF, _LONGEST_DELAY)


async def _arrived(
    inbox: Inbox,
    sent: SentMessage,
    found: FoundMessage,
    options: DeliveryOptions,
    *,
    latency: float,
    waited: float,
    polls: int,
) -> DeliveryResult:
    changed = differences(sent, found)
    detail = f"found in {inbox.where} as {found.id}, {latency * 1000:.0f} ms after the 250"
    removed = False
    if not options.keep:
        try:
            await inbox.delete(found)
            removed = True
        except InboxError as exc:  # what arrived is known: not removing it fails nothing
            detail += f"; not removed: {exc}"
    return DeliveryResult(
        where=inbox.where,
        outcome=DeliveryOutcome.ALTERED if changed else DeliveryOutcome.DELIVERED,
        token=sent.token,
        waited_ms=waited * 1000,
        polls=polls,
        latency_ms=latency * 1000,
        found_id=found.id,
        differences=changed,
        detail=detail,
        removed=removed,
    )


def _unreachable(
    inbox: Inbox, sent: SentMessage, exc: InboxError, *, waited: float, polls: int
) -> DeliveryResult:
    return DeliveryResult(
        where=inbox.where,
        outcome=DeliveryOutcome.UNREACHABLE,
        token=sent.token,
        waited_ms=waited * 1000,
        polls=polls,
        detail=str(exc),
        problem=exc.problem,
        fix=exc.fix,
    )
