"""The delivery checks of one `check` run: one per accepted test message, sharing one inbox.

Probes of identical endpoints share one result, and so one test message: its delivery is
checked once and every gateway that shares it gets the same answer.
"""

from __future__ import annotations

import asyncio

from smtpcheck.delivery.inbox import Inbox
from smtpcheck.delivery.polling import DeliveryOptions, expect_delivery
from smtpcheck.redaction import redact
from smtpcheck.results import DeliveryResult, SentMessage
from smtpcheck.runner import unless_stopped

__all__ = ["Deliveries"]


class Deliveries:
    """Start a delivery check per test message; `aclose` waits for them and closes the inbox."""

    def __init__(self, options: DeliveryOptions, *, stop: asyncio.Event | None) -> None:
        self._options = options
        self._stop = stop
        self._inbox: Inbox = options.open()
        self._checks: dict[str, asyncio.Task[DeliveryResult | None]] = {}

    def check(self, sent: SentMessage) -> asyncio.Task[DeliveryResult | None]:
        """Return the check of ``sent``'s delivery: None once the run was stopped first."""
        task = self._checks.get(sent.token)
        if task is None:
            task = asyncio.create_task(self._expect(sent))
            self._checks[sent.token] = task
        return task

    async def _expect(self, sent: SentMessage) -> DeliveryResult | None:
        result = await unless_stopped(expect_delivery(self._inbox, sent, self._options), self._stop)
        # The catcher's error texts are masked by its client; the mailbox password may still
        # come back in a server's words.
        return None if result is None else redact(result, self._options.secrets)

    async def aclose(self) -> None:
        """Wait for the checks started (each ends by its timeout or the stop), then close."""
        try:
            await asyncio.gather(*self._checks.values(), return_exceptions=True)
        finally:
            await self._inbox.aclose()
