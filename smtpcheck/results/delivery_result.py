"""What `--expect-delivery` found after the server accepted the test message.

Plain frozen values, no I/O: the delivery check builds them, the delivery rules (SC801–SC803)
and the reporters read them. Every string in them is already masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DeliveryOutcome", "DeliveryResult", "Difference"]


class DeliveryOutcome(StrEnum):
    """Where a delivery check ended."""

    DELIVERED = "delivered"  # found, and what arrived is what was sent
    ALTERED = "altered"  # found, but a field differs from what was sent
    MISSING = "missing"  # the catcher or mailbox answered, and never held it in time
    UNREACHABLE = "unreachable"  # the catcher or mailbox could not be asked: nothing is known


@dataclass(frozen=True, slots=True)
class Difference:
    """One field that arrived other than it was sent: ``found`` None when it is gone."""

    field: str  # sender, recipient, subject, token, body
    sent: str
    found: str | None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """One delivery check: where it looked, how it ended, how long the message took.

    ``latency_ms`` runs from the server's 250 to the poll that found the message (None when
    none did); ``waited_ms`` is the whole time spent looking. When the place could not be
    asked, ``problem`` names the part at fault (url, credentials, running, tls, folder…) and
    ``fix`` says what to change.
    """

    where: str  # the URL, its password masked
    outcome: DeliveryOutcome
    token: str
    waited_ms: float
    polls: int
    latency_ms: float | None = None
    found_id: str | None = None  # the catcher's id, or the IMAP UID
    differences: tuple[Difference, ...] = ()
    detail: str = ""
    problem: str | None = None
    fix: str | None = None  # what to change so the place can be asked
    removed: bool = False  # the found message was deleted afterwards

    @property
    def arrived(self) -> bool:
        """Return True when the message was found, intact or not."""
        return self.outcome in (DeliveryOutcome.DELIVERED, DeliveryOutcome.ALTERED)
