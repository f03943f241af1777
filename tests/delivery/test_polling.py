"""How `expect_delivery` polls, judges and cleans up, on an in-memory inbox and a fake clock.

The catchers' and the mailbox's own clients are tested against real servers elsewhere; here the
inbox is a plain object, so the backoff, the deadline and the comparison can be shown exactly.
"""

from __future__ import annotations

import dataclasses

import pytest

from smtpcheck.delivery.compare import differences
from smtpcheck.delivery.found import FoundMessage
from smtpcheck.delivery.inbox import InboxError, parse_place
from smtpcheck.delivery.polling import DeliveryOptions, expect_delivery
from smtpcheck.probe.message import build_test_message
from smtpcheck.results import DeliveryOutcome, SentMessage

TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _sent(accepted_at: float = 0.0) -> SentMessage:
    message = build_test_message(
        sender="alerts@fleet.test", recipient="ops@fleet.test", domain="client.test", token=TOKEN
    )
    return SentMessage(
        TOKEN,
        message.message_id,
        "alerts@fleet.test",
        "ops@fleet.test",
        message.subject,
        message.text,
        accepted_at,
    )


def _found(sent: SentMessage, **changes: object) -> FoundMessage:
    found = FoundMessage(
        catcher="mailpit",
        id="m1",
        sender=sent.sender,
        recipients=(sent.recipient,),
        envelope=False,
        subject=sent.subject,
        message_id=sent.message_id,
        token=sent.token,
        headers=(),
        text=sent.text,
        raw=b"",
    )
    return dataclasses.replace(found, **changes)  # type: ignore[arg-type]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Inbox:
    where = "mailpit+http://127.0.0.1:8025"

    def __init__(self, found: FoundMessage | None, *, after: int = 0, fail: str | None = None):
        self.found, self.after, self.fail = found, after, fail
        self.looks = 0
        self.deleted: list[str] = []

    async def find(self, token: str) -> FoundMessage | None:
        self.looks += 1
        if self.fail:
            raise InboxError(f"mailpit at {self.where} {self.fail}", problem="running")
        return self.found if self.looks > self.after else None

    async def delete(self, found: FoundMessage) -> None:
        self.deleted.append(found.id)

    async def aclose(self) -> None:
        return None


def _options(**more: object) -> DeliveryOptions:
    return DeliveryOptions(place=parse_place("mailpit+http://127.0.0.1:8025"), **more)  # type: ignore[arg-type]


async def test_expect_delivery_backs_off_then_finds_and_removes():
    clock, sent = _Clock(), _sent()
    inbox = _Inbox(_found(sent), after=4)
    result = await expect_delivery(inbox, sent, _options(), clock=clock, sleep=clock.sleep)
    assert result.outcome is DeliveryOutcome.DELIVERED and result.polls == 5
    assert clock.sleeps == pytest.approx([0.05, 0.075, 0.1125, 0.16875])
    assert result.latency_ms == pytest.approx(sum(clock.sleeps) * 1000)
    assert result.removed and inbox.deleted == ["m1"] and result.found_id == "m1"


async def test_expect_delivery_keeps_what_it_was_told_to_keep():
    clock, sent = _Clock(), _sent()
    inbox = _Inbox(_found(sent))
    result = await expect_delivery(inbox, sent, _options(keep=True), clock=clock, sleep=clock.sleep)
    assert result.outcome is DeliveryOutcome.DELIVERED and not result.removed
    assert inbox.deleted == []


async def test_expect_delivery_gives_up_at_the_timeout_counted_from_the_250():
    clock, sent = _Clock(), _sent(accepted_at=-2.0)  # the 250 came 2 s before the first look
    result = await expect_delivery(
        _Inbox(None), sent, _options(timeout=10.0), clock=clock, sleep=clock.sleep
    )
    assert result.outcome is DeliveryOutcome.MISSING and result.latency_ms is None
    assert clock.now == pytest.approx(8.0)  # never past the deadline
    assert max(clock.sleeps) == 1.0  # the backoff is capped
    assert "did not hold it 10 s later" in result.detail


async def test_expect_delivery_reports_an_unreachable_place_with_its_fix():
    clock, sent = _Clock(), _sent()
    inbox = _Inbox(None, fail="cannot connect")
    result = await expect_delivery(inbox, sent, _options(), clock=clock, sleep=clock.sleep)
    assert result.outcome is DeliveryOutcome.UNREACHABLE and result.polls == 1
    assert result.problem == "running" and result.fix and "start the catcher" in result.fix


async def test_expect_delivery_calls_a_changed_message_altered():
    clock, sent = _Clock(), _sent()
    found = _found(sent, subject=f"[EXTERNAL] {sent.subject}")
    result = await expect_delivery(_Inbox(found), sent, _options(), clock=clock, sleep=clock.sleep)
    assert result.outcome is DeliveryOutcome.ALTERED
    assert [d.field for d in result.differences] == ["subject"]


def test_differences_accept_case_folding_and_whitespace_but_not_a_footer():
    sent = _sent()
    same = _found(
        sent,
        sender="Alerts@FLEET.test",
        recipients=("x@y.test", "OPS@fleet.test"),
        subject=sent.subject.replace(" ", "\n "),
        text=sent.text + "\n\n",
    )
    assert differences(sent, same) == ()
    footer = _found(sent, text=sent.text + "-- \nScanned by MailFilter\n", token=None)
    assert [d.field for d in differences(sent, footer)] == ["token", "body"]
    gone = _found(sent, sender=None, recipients=(), text=None)
    assert [(d.field, d.found) for d in differences(sent, gone)] == [
        ("sender", None),
        ("recipient", None),
        ("body", None),
    ]


def test_test_message_carries_its_token_everywhere_catchers_search():
    message = build_test_message(sender="a@b.test", recipient="c@d.test", domain="client.test")
    text = message.data.decode()
    assert len(message.token) == 32
    assert f"Message-ID: <smtpcheck.{message.token}@client.test>" in text
    assert f"X-Smtpcheck-Token: {message.token}" in text
    assert message.token in message.subject and message.token in message.text
    assert build_test_message(sender="a@b.test", recipient="c@d.test", domain="x").token != (
        message.token
    )


def test_parse_place_completes_a_catcher_user_with_the_password_variable():
    place = parse_place("maildev+http://ci@127.0.0.1:1080", password="s3cret-pw")
    assert getattr(place, "password", None) == "s3cret-pw"
    assert "s3cret-pw" not in place.display and "s3cret-pw" not in repr(place)
    assert parse_place("maildev+http://127.0.0.1:1080", password="x").password is None
    with pytest.raises(ValueError, match="not a catcher URL"):
        parse_place("ftp://127.0.0.1")
