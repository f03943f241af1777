"""`smtpcheck check --send-to ... --expect-delivery URL` end to end, as a CI job runs it.

The real CLI in a fresh interpreter against a real maildev, aiosmtpd relays that drop or
rewrite the message, and the private Postfix + Dovecot in IMAP mode; the JSON report is read.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

from tests.support.catchers import running_maildev
from tests.support.cli import Run, smtpcheck, smtpcheck_async
from tests.support.postfix.harness import (
    ImapAccess,
    PostfixInstance,
)
from tests.support.relays import SubjectTaggingRelay

__all__: list[str] = []

_HOST = "127.0.0.1"
_RECIPIENT = "ops@client.test"
_PASSWORD_ENV = "SMTPCHECK_DELIVERY_PASSWORD"
_FORMATS = (
    ("text", "-v"),
    ("json", "-v"),
    ("junit", "-v"),
    ("nagios",),
    ("prometheus",),
    ("sarif",),
)


# --- helpers ------------------------------------------------------------------------------------


def _gateway(directory: Path, port: int, **params: Any) -> Path:
    """Write sample_configs/ci-mailpit.json's shape, pointed at ``port``; return the file."""
    config = {
        "id": 900,
        "leasable": False,
        "label": "CI: delivery check",
        "provider": "smtp",
        "params": {
            "default_from_address": "alerts@ci.test",
            "mail.smtp.user": None,
            "mail.smtp.password": None,
            "mail.smtp.host": _HOST,
            "mail.smtp.port": port,
            "mail.smtp.ssl.port": port,
            "mail.smtp.ssl.trust_all_hosts": False,
            "mail.smtp.auth": False,
            "mail.debug": False,
            "mail.smtp.starttls.enable": False,
            "mail.smtp.starttls.required": False,
            "mail.smtp.use_ssl": False,
            "mail.smtp.timeout": 10000,
            "mail.smtp.connectiontimeout": 5000,
            "mail.transport.protocol": "smtp",
        }
        | params,
    }
    path = directory / f"gateway-{port}.json"
    path.write_text(json.dumps(config))
    return path


async def _check(
    config: Path,
    url: str,
    *extra: str,
    to: str = _RECIPIENT,
    fmt: tuple[str, ...] = ("json",),
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``smtpcheck check CONFIG --send-to TO --expect-delivery URL`` while the loop serves."""
    return await smtpcheck_async(
        "check",
        str(config),
        "--format",
        *fmt,
        "--ehlo",
        "client.test",
        "--timeout",
        "10",
        "--send-to",
        to,
        "--expect-delivery",
        url,
        *extra,
        env=env,
    )


def _gateway_report(run: Run) -> dict[str, Any]:
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON report (exit {run.code}):\n{run.output}")
    gateways: list[dict[str, Any]] = report["gateways"]
    assert len(gateways) == 1, gateways
    return gateways[0]


def _codes(gateway: dict[str, Any]) -> list[str]:
    return [finding["code"] for finding in gateway["findings"]]


def _finding(gateway: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in gateway["findings"] if f["code"] == code]
    assert found, f"no {code} among {_codes(gateway)}"
    return found[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there now


async def _maildev_emails(url: str, auth: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5, trust_env=False, auth=auth) as http:
        answer = await http.get(f"{url}/email")
    answer.raise_for_status()
    emails: list[dict[str, Any]] = answer.json()
    assert isinstance(emails, list)
    return emails


@asynccontextmanager
async def _relay(handler: object) -> AsyncIterator[int]:
    """Serve ``handler`` over SMTP on 127.0.0.1, port 0; yield the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="relay.test"), _HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# --- maildev -----------------------------------------------------------------------------------


async def test_expect_delivery_finds_the_message_in_maildev_and_removes_it(tmp_path):
    async with running_maildev(tmp_path / "mail") as md:
        run = await _check(_gateway(tmp_path, md.smtp_port), f"maildev+{md.url}")
        gateway = _gateway_report(run)
        remaining = await _maildev_emails(md.url)
    assert run.code == 0, run.output
    assert gateway["status"] == "ok", gateway
    delivery = gateway["delivery"]
    assert delivery["outcome"] == "delivered", delivery
    assert isinstance(delivery["latency_ms"], int | float)
    assert delivery["latency_ms"] > 0
    assert delivery["removed"] is True
    assert remaining == []
    print(f"maildev delivery latency: {delivery['latency_ms']} ms")


async def test_expect_delivery_keep_delivered_leaves_the_message(tmp_path):
    async with running_maildev(tmp_path / "mail") as md:
        run = await _check(
            _gateway(tmp_path, md.smtp_port), f"maildev+{md.url}", "--keep-delivered"
        )
        gateway = _gateway_report(run)
        remaining = await _maildev_emails(md.url)
    assert run.code == 0, run.output
    delivery = gateway["delivery"]
    assert delivery["outcome"] == "delivered", delivery
    assert delivery["removed"] is False
    assert len(remaining) == 1
    assert delivery["token"] in json.dumps(remaining[0])


async def test_expect_delivery_accepted_but_dropped_is_sc801(tmp_path):
    async with running_maildev(tmp_path / "mail") as md, _relay(Sink()) as port:
        args = ("--delivery-timeout", "1", "--suggest")
        run = await _check(_gateway(tmp_path, port), f"maildev+{md.url}", *args)
    gateway = _gateway_report(run)
    assert run.code == 1, run.output
    assert gateway["status"] == "failed", gateway
    assert gateway["works"] is False
    assert "SC801" in _codes(gateway)
    assert gateway["suggestion"] is None  # another port or mode does not fix a relay's routing
    delivery = gateway["delivery"]
    assert delivery["outcome"] == "missing", delivery
    assert delivery["polls"] > 1


async def test_expect_delivery_rewritten_subject_is_sc802(tmp_path):
    async with (
        running_maildev(tmp_path / "mail") as md,
        _relay(SubjectTaggingRelay(md.smtp_port)) as port,
    ):
        run = await _check(_gateway(tmp_path, port), f"maildev+{md.url}")
    gateway = _gateway_report(run)
    assert run.code == 0, run.output  # a warning fails the run only with --fail-on warning
    assert gateway["status"] == "warning", gateway
    finding = _finding(gateway, "SC802")
    assert finding["severity"] == "warning"
    assert "[EXTERNAL] " in finding["message"]
    delivery = gateway["delivery"]
    assert delivery["outcome"] == "altered", delivery
    assert "subject" in [d["field"] for d in delivery["differences"]]


async def test_expect_delivery_catcher_down_is_sc803(tmp_path):
    async with _relay(Sink()) as port:
        run = await _check(_gateway(tmp_path, port), f"maildev+http://{_HOST}:{_closed_port()}")
    gateway = _gateway_report(run)
    assert run.code != 0, run.output
    assert gateway["status"] == "error", gateway
    assert "cannot connect" in _finding(gateway, "SC803")["message"]
    assert gateway["delivery"]["outcome"] == "unreachable"


async def test_expect_delivery_wrong_catcher_kind_says_check_the_url(tmp_path):
    async with running_maildev(tmp_path / "mail") as md:
        run = await _check(_gateway(tmp_path, md.smtp_port), f"mailpit+{md.url}")
    gateway = _gateway_report(run)
    assert run.code != 0, run.output
    assert gateway["status"] == "error", gateway
    finding = _finding(gateway, "SC803")
    assert "check the URL" in finding["message"] + str(finding.get("fix"))


# --- secrets -----------------------------------------------------------------------------------


def _assert_nowhere(runs: list[Run], *secrets_: str) -> None:
    for run in runs:
        for secret in secrets_:
            assert secret not in run.stdout
            assert secret not in run.stderr


async def test_expect_delivery_catcher_password_from_env_shows_in_no_format(tmp_path):
    secret = "Pw-" + secrets.token_urlsafe(12)
    async with running_maildev(tmp_path / "mail", user="ci", password=secret) as md:
        url = f"maildev+http://ci@{md.url.removeprefix('http://')}"
        config = _gateway(tmp_path, md.smtp_port)
        env = {_PASSWORD_ENV: secret}
        first = await _check(config, url, env=env)
        gateway = _gateway_report(first)
        runs = [first] + [await _check(config, url, fmt=fmt, env=env) for fmt in _FORMATS]
    assert first.code == 0, first.output
    assert gateway["delivery"]["outcome"] == "delivered", gateway["delivery"]
    assert all(run.code == 0 for run in runs), [run.output for run in runs]
    # The URL is shown, with the password that was put into it masked: the check can fail.
    assert "maildev+http://ci:********@" in runs[1].stdout
    _assert_nowhere(runs, secret)


async def test_expect_delivery_wrong_catcher_password_is_sc803_and_not_shown(tmp_path):
    secret = "Pw-" + secrets.token_urlsafe(12)
    wrong = secret + "-wrong"
    async with running_maildev(tmp_path / "mail", user="ci", password=secret) as md:
        url = f"maildev+http://ci@{md.url.removeprefix('http://')}"
        config = _gateway(tmp_path, md.smtp_port)
        runs = [await _check(config, url, fmt=fmt, env={_PASSWORD_ENV: wrong}) for fmt in _FORMATS]
        run = await _check(config, url, env={_PASSWORD_ENV: wrong})
    gateway = _gateway_report(run)
    assert gateway["status"] == "error", gateway
    assert "credentials" in _finding(gateway, "SC803")["message"]
    assert all(r.code != 0 for r in [*runs, run])
    _assert_nowhere([*runs, run], secret, wrong)


# --- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--expect-delivery", "maildev+http://127.0.0.1:1080"], "needs --send-to"),
        (["--send-to", _RECIPIENT, "--expect-delivery", "ftp://x"], "not a catcher URL: ftp://x"),
        (
            [
                "--send-to",
                _RECIPIENT,
                "--expect-delivery",
                "maildev+http://127.0.0.1:1080",
                "--delivery-timeout",
                "601",
            ],
            "'--delivery-timeout': '601': at most 600 seconds",
        ),
        (
            ["--send-to", _RECIPIENT, "--expect-delivery", "imaps://u@127.0.0.1/INBOX"],
            f"${_PASSWORD_ENV}, which is not set",
        ),
    ],
    ids=["no-send-to", "ftp-url", "timeout-too-long", "mailbox-without-password"],
)
def test_expect_delivery_usage_errors_exit_2(tmp_path, argv, says):
    config = _gateway(tmp_path, _closed_port())
    run = smtpcheck("check", str(config), "--ehlo", "client.test", *argv, env={_PASSWORD_ENV: ""})
    assert run.code == 2, run.output
    assert says in run.stderr


# --- the IMAP loop through the private Postfix + Dovecot ---------------------------------------


def _submission(directory: Path, instance: PostfixInstance) -> Path:
    """A gateway on the submission port: STARTTLS required, then AUTH (RFC 6409, RFC 3207)."""
    return _gateway(
        directory,
        instance.ports.submission,
        **{
            "mail.smtp.host": "localhost",
            "mail.smtp.user": instance.user,
            "mail.smtp.password": instance.password,
            "mail.smtp.auth": True,
            "mail.smtp.starttls.enable": True,
            "mail.smtp.starttls.required": True,
        },
    )


def _maildir_holds(imap: ImapAccess, token: str) -> bool:
    return any(token.encode() in path.read_bytes() for path in imap.maildir.glob("*/*"))


async def _imap_check(
    tmp_path: Path, instance: PostfixInstance, imap: ImapAccess, password: str
) -> Run:
    url = f"imaps://{imap.user}@{imap.host}:{imap.ports.imaps}/INBOX"
    return await _check(
        _submission(tmp_path, instance),
        url,
        "--ca-file",
        str(instance.ca_pem),
        to=imap.address,
        env={_PASSWORD_ENV: password},
    )


@pytest.mark.postfix
async def test_expect_delivery_over_imap_finds_and_removes_the_message(tmp_path, instance, imap):
    run = await _imap_check(tmp_path, instance, imap, imap.password)
    gateway = _gateway_report(run)
    assert run.code == 0, run.output
    assert gateway["status"] == "ok", gateway
    delivery = gateway["delivery"]
    assert delivery["outcome"] == "delivered", delivery
    assert delivery["latency_ms"] > 0
    assert delivery["removed"] is True
    assert not _maildir_holds(imap, delivery["token"])
    assert imap.password not in run.output
    print(f"IMAP delivery latency: {delivery['latency_ms']} ms over {delivery['polls']} polls")


@pytest.mark.postfix
async def test_expect_delivery_over_imap_wrong_password_is_sc803(tmp_path, instance, imap):
    wrong = imap.password + "-wrong"
    run = await _imap_check(tmp_path, instance, imap, wrong)
    gateway = _gateway_report(run)
    assert run.code != 0, run.output
    assert gateway["status"] == "error", gateway
    finding = _finding(gateway, "SC803")
    assert "credentials" in (finding["message"] + str(finding.get("fix"))).lower()
    assert wrong not in run.output
    assert imap.password not in run.output
