"""The envelope a probe would send (MAIL FROM, RCPT TO), checked before any connection.

A CR or LF ends an SMTP command line (RFC 5321 §2.3.8): what follows it reaches the server as
further commands. Nothing from a config, an option or the environment may reach the wire so;
JavaMail's InternetAddress refuses such an address before it sends anything, too.
"""

from __future__ import annotations

from smtpcheck.results import FailureKind

__all__ = ["unsafe_address"]


def unsafe_address(
    from_address: str | None,
    *,
    mail_from: str | None,
    send_to: str | None,
    mail_check: bool,
) -> tuple[str, FailureKind, str] | None:
    """Return (stage, failure kind, detail) for an envelope address that cannot be sent as is.

    ``from_address`` is the gateway's default_from_address; ``mail_from`` the ``--from`` that
    replaces it for ``send_to``; ``mail_check`` the discovery's MAIL FROM without sending.
    """
    addresses: list[tuple[str, str, str]] = []
    if send_to is not None or mail_check:
        if mail_from:
            addresses.append((mail_from, "--from", "mail"))
        elif from_address:
            addresses.append((from_address, "default_from_address", "mail"))
    if send_to is not None:
        addresses.append((send_to, "--send-to", "rcpt"))
    for address, where, stage in addresses:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
            detail = (
                f"{where} holds a line break or control character: smtpcheck did not connect, "
                f"as {stage.upper()} would end early and the rest would reach the server as "
                "commands"
            )
            kind = FailureKind.SENDER_REJECTED if stage == "mail" else FailureKind.MESSAGE_REJECTED
            return stage, kind, detail
    return None
