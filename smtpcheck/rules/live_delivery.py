"""SC8xx: with --expect-delivery, whether the test message the server accepted really arrived."""

from __future__ import annotations

from collections.abc import Iterator

from smtpcheck.results import DeliveryOutcome, DeliveryResult, Severity
from smtpcheck.rules.base import ProbedGateway, Scope, Violation, rule

__all__ = ["accepted_never_arrived", "arrived_altered", "mailbox_unreachable"]


@rule(code="SC801", slug="accepted-never-arrived", severity=Severity.ERROR, scope=Scope.LIVE)
def accepted_never_arrived(live: ProbedGateway) -> Iterator[Violation]:
    """With --expect-delivery, the server accepted the test message and it never arrived.

    What it checks:
        After the 250 to DATA, the catcher or mailbox named by --expect-delivery is searched
        for the message's token until --delivery-timeout runs out.

    Why it matters:
        A 250 only means the server took responsibility (RFC 5321 §4.1.1.4). A relay that
        discards, quarantines or routes mail elsewhere answers 250 too, and every alert the
        platform sends through it is lost without an error anywhere.

    Bad:
        A relay whose transport for the recipient's domain is `discard:`, or a spam filter
        that silently drops the platform's mail.

    Good:
        The message is in the catcher or mailbox within seconds.

    Fix:
        Follow the message in the relay's log (its queue id is in the 250 reply) and fix its
        routing for the recipient's domain; or raise --delivery-timeout if it arrives late.
    """
    if (delivery := _ended(live, DeliveryOutcome.MISSING)) is not None:
        yield Violation(
            delivery.detail,
            fix=(
                "follow the message in the relay's log (its queue id is in the 250 reply) and "
                "fix where it routes this recipient; or raise --delivery-timeout"
            ),
        )


@rule(code="SC802", slug="arrived-altered", severity=Severity.WARNING, scope=Scope.LIVE)
def arrived_altered(live: ProbedGateway) -> Iterator[Violation]:
    """With --expect-delivery, the test message arrived, but not as it was sent.

    What it checks:
        The sender, the recipient, the subject, the token header and the body lines of what
        arrived, against what smtpcheck sent.

    Why it matters:
        A relay that rewrites the sender, tags the subject, appends a footer or strips
        headers changes every notification the platform sends: recipients' filters and the
        platform's own bounce handling may no longer recognise them.

    Bad:
        A subject arriving as "[EXTERNAL] smtpcheck test message …".

    Good:
        The message arrives byte for byte in these fields.

    Fix:
        Turn off the relay's rewriting (subject tagging, disclaimers, sender rewriting) for
        the platform's account, or accept it knowingly with --ignore SC802.
    """
    if (delivery := _ended(live, DeliveryOutcome.ALTERED)) is not None:
        changed = "; ".join(
            f"{d.field} {d.sent!r} arrived as {d.found!r}"
            if d.found is not None
            else f"{d.field} {d.sent!r} is gone"
            for d in delivery.differences
        )
        yield Violation(
            f"the message arrived altered: {changed}",
            fix="turn off the relay's rewriting (subject tags, footers, sender rewriting) for "
            "this account",
        )


@rule(code="SC803", slug="mailbox-unreachable", severity=Severity.ERROR, scope=Scope.LIVE)
def mailbox_unreachable(live: ProbedGateway) -> Iterator[Violation]:
    """With --expect-delivery, the catcher or mailbox could not be asked whether it arrived.

    What it checks:
        Each request to the catcher's API or the IMAP server: connection, TLS, credentials,
        the folder, and an answer in the catcher's documented form.

    Why it matters:
        The delivery was not checked at all: the run must not pass as if it had been, so the
        gateway's status is error.

    Bad:
        A catcher URL with the SMTP port (1025) instead of the web port (8025), or
        `mailpit+http://` pointing at a MailHog.

    Good:
        The URL's kind, host and web port are the catcher's; a mailbox's password is in the
        variable --delivery-password-env names.

    Fix:
        What the message names: the catcher URL, the credentials, or the server's TLS.
    """
    if (delivery := _ended(live, DeliveryOutcome.UNREACHABLE)) is not None:
        yield Violation(delivery.detail, fix=delivery.fix)


def _ended(live: ProbedGateway, outcome: DeliveryOutcome) -> DeliveryResult | None:
    delivery = live.delivery
    return delivery if delivery is not None and delivery.outcome is outcome else None
