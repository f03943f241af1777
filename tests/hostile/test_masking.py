"""Masking beyond the exact string (issue 10, class 8): every form a secret is sent or echoed in.

A server or panel that echoes a secret URL-encoded, JSON- or backslash-escaped, base64'd (alone
or as AUTH PLAIN's and LOGIN's payload) or in another case must not show it; and masking must
not garble a message, nor point at a short secret by what it garbles (smtpcheck/redaction.py
states the rule). The forms here are written out independently of the scrubber's own list.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from smtpcheck.defaults import FORMATS
from smtpcheck.redaction import MASK, redact, scrub, secret_forms
from tests.support.cli import smtpcheck, smtpcheck_async
from tests.support.gateways import gateway
from tests.support.servers import USER, RawServer

__all__: list[str] = []

# Every encoding changes it: a slash, a plus, quotes, a backslash, a space, "=", non-ASCII.
# Its runs of letters and digits survive any escaping, so a leak is found in any rendering of
# any format; the base64 forms are searched for as they are.
SECRET = "ZqWxKp7/+\"\\ é='MvTnLc3"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _echoes(secret: str, user: str) -> dict[str, str]:
    """Return each form a peer may echo the secret in (written out here, not the scrubber's)."""
    raw = secret.encode()
    return {
        "exact": secret,
        "upper": secret.upper(),
        "lower": secret.lower(),
        "quote": quote(secret),
        "quote-no-safe": quote(secret, safe=""),
        "quote-lower-hex": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(secret)),
        "quote_plus": quote_plus(secret),
        "json": json.dumps(secret)[1:-1],
        "json-unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "repr": repr(secret)[1:-1],
        "unicode-escape": secret.encode("unicode_escape").decode("ascii"),
        "base64": _b64(raw),
        "base64-urlsafe": base64.urlsafe_b64encode(raw).decode(),
        "base64-unpadded": _b64(raw).rstrip("="),
        "auth-plain": _b64(b"\0" + user.encode() + b"\0" + raw),
        "auth-login": _b64(raw),
    }


def _leaks(text: str, secret: str, user: str) -> list[str]:
    """Return what of the secret ``text`` shows, ignoring case: a run of it, or a base64 form."""
    runs = re.findall(r"[A-Za-z0-9]{6,}", secret)
    assert runs, "a secret for these tests needs a run of 6 letters or digits"
    b64 = [v for k, v in _echoes(secret, user).items() if k.startswith(("base64", "auth"))]
    folded = text.casefold()
    return [part for part in (*runs, *b64) if part.casefold() in folded]


@pytest.mark.parametrize(("name", "form"), _echoes(SECRET, USER).items())
def test_masking_every_echoed_form(name: str, form: str) -> None:
    secrets = secret_forms(USER, SECRET)
    for text in (f"535 5.7.8 {form} rejected", f'{{"error": "{form}"}}', f"?hash={form}&x=1"):
        masked = scrub(text, secrets)
        assert MASK in masked and _leaks(masked, SECRET, USER) == [], (name, masked)


def test_masking_the_auth_forms_without_a_user() -> None:
    for user in (None, ""):
        plain = _b64(b"\0\0" + SECRET.encode())
        assert scrub(f"AUTH PLAIN {plain}", secret_forms(user, SECRET)) == f"AUTH PLAIN {MASK}"


# (secret, text, what the text becomes): a short or one-kind secret is masked only where it
# stands alone; inside a word or host name it would garble the text and point at itself.
_READABLE = [
    ("250", "250 2.0.0 OK mx2501.example.com", f"{MASK} 2.0.0 OK mx2501.example.com"),
    ("250", "queued as 12501 on port 2525", "queued as 12501 on port 2525"),
    ("ok", "250 OK, token broken", f"250 {MASK}, token broken"),
    ("ok", "ok-2 mail.ok.test ok_", "ok-2 mail.ok.test ok_"),
    ("localhost", "cannot resolve mail.localhost.test", "cannot resolve mail.localhost.test"),
    ("localhost", "connect to localhost: refused", f"connect to {MASK}: refused"),
    ("localhost", "LOCALHOST.", f"{MASK}."),  # a sentence's full stop is no part of the word
    ("password", "wrong password: password", f"wrong {MASK}: {MASK}"),
    ("password", "mypassword passwords", "mypassword passwords"),
    # Long and of two kinds: no ordinary word holds it, so inside a word it is the secret.
    ("Smtp7Qx4", "xSmtp7Qx4y and user:smtp7qx4@host", f"x{MASK}y and user:{MASK}@host"),
    ("mail-relay.test", "smtp.mail-relay.test", f"smtp.{MASK}"),
]


@pytest.mark.parametrize(("secret", "text", "shown"), _READABLE)
def test_masking_keeps_messages_readable(secret: str, text: str, shown: str) -> None:
    assert scrub(text, [secret]) == shown


def test_masking_white_space_and_overlaps() -> None:
    assert scrub("a  b", [" "]) == "a  b"  # cannot be told from layout
    # Overlapping and touching occurrences are one mask: nothing of either is left between.
    assert scrub("abc12345-XYZ98765", ["abc12345-X", "5-XYZ98765"]) == MASK
    assert scrub("Pw7Qx4Zr9Pw7Qx4Zr9", ["Pw7Qx4Zr9"]) == MASK


def test_masking_a_json_answer_keys_and_labels() -> None:
    # The panel hash placed in a gateway's label (or anywhere in the answer) is masked.
    answer = {"own": [{"id": 1, "label": "hash 5d41402abc4b2a76b9719d911017c592 here"}]}
    answer["own"].append({"5D41402ABC4B2A76B9719D911017C592": ["x"]})
    masked = redact(answer, ["5d41402abc4b2a76b9719d911017c592"])
    assert masked == {"own": [{"id": 1, "label": f"hash {MASK} here"}, {MASK: ["x"]}]}


# --- a real server echoing what AUTH sent -----------------------------------------------------


def _echo_reply(secret: str) -> bytes:
    lines = [f"535-5.7.8 {name}: {form}" for name, form in _echoes(secret, USER).items()]
    return ("\r\n".join(lines) + "\r\n535 5.7.8 credentials rejected\r\n").encode()


def _echo_server(mechanism: str) -> RawServer:
    """Offers one AUTH mechanism and echoes the password back in every form when refusing."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.test ESMTP\r\n")
        password: str | None = None
        while line := await reader.readline():
            words = line.decode("ascii", "replace").split()
            verb = words[0].upper() if words else ""
            if verb == "EHLO":
                reply = f"250-mx.test\r\n250 AUTH {mechanism}\r\n".encode()
            elif verb == "AUTH" and mechanism == "PLAIN":
                password = base64.b64decode(words[2]).split(b"\0")[2].decode()
                reply = _echo_reply(password)
            elif verb == "AUTH":
                reply = b"334 UGFzc3dvcmQ6\r\n"  # LOGIN: the user came with the command
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                return
            elif password is None and mechanism == "LOGIN" and words:
                password = base64.b64decode(words[0]).decode()
                reply = _echo_reply(password)
            else:
                reply = b"250 OK\r\n"
            writer.write(reply)
            await writer.drain()

    return RawServer(script)


async def test_masking_what_a_server_echoes_in_every_output_format(tmp_path, smtp_server):
    servers = [await smtp_server(_echo_server(m)) for m in ("PLAIN", "LOGIN")]
    fleet = [
        gateway(s.port, gid=i, host="127.0.0.1", mode="none", password=SECRET)
        for i, s in enumerate(servers, 1)
    ]
    config = tmp_path / "fleet.json"
    config.write_text(json.dumps(fleet), encoding="utf-8")

    async def run(fmt: str) -> tuple[str, str]:
        out = tmp_path / f"report.{fmt}"
        args = ("check", str(config), "-v", "--format", fmt, "-o", str(out), "--timeout", "5")
        done = await smtpcheck_async(*args, "--ehlo", "client.test")
        assert "Traceback" not in done.stderr, done.stderr
        return fmt, done.output + out.read_text(encoding="utf-8")

    shown = dict(await asyncio.gather(*(run(fmt) for fmt in FORMATS)))
    # Both logins reached the echo (else this test could pass by never logging in).
    assert shown["text"].count("credentials rejected") >= 2, shown["text"]
    leaks = {fmt: _leaks(text, SECRET, USER) for fmt, text in shown.items()}
    assert leaks == {fmt: [] for fmt in FORMATS}


# --- the panel: echoes of its password and hash, and the hash in a label ------------------------

PANEL_PASSWORD = 'PnRw7Xy/+"\\ é=HkQz4Vb'
API_HASH = "5d41402abc4b2a76b9719d911017c592"


@pytest.fixture
def panel() -> Any:
    from tests.support.panel import READ, PanelServer

    listing = {"bound_gateway": 1, "own": [], "leasable": []}
    server = PanelServer(gateways=listing)
    server.sessions[API_HASH] = READ
    server.add_account("dealer", PANEL_PASSWORD)
    with server.running():
        yield server


_PANEL_ECHOES = {
    **{f"password-{k}": (True, v) for k, v in _echoes(PANEL_PASSWORD, "dealer").items()},
    "hash-upper": (False, API_HASH.upper()),
    "hash-base64": (False, _b64(API_HASH.encode())),
    "hash-in-word": (False, f"session{API_HASH}expired"),
}


@pytest.mark.parametrize(("by_login", "echo"), _PANEL_ECHOES.values(), ids=_PANEL_ECHOES)
def test_masking_what_the_panel_echoes_in_an_error(panel, tmp_path: Path, by_login, echo) -> None:
    from tests.support.panel import panel_error

    panel.faults.append(panel_error(7, f"bad value {echo}"))
    env = {"NAVIXY_LOGIN": "dealer", "NAVIXY_PASSWORD": PANEL_PASSWORD}
    run = smtpcheck("validate", "--api-url", panel.url, env=env if by_login else {
        "NAVIXY_HASH": API_HASH
    }, cwd=tmp_path)  # fmt: skip
    assert run.code == 2 and "(code 7)" in run.stderr, run
    secret, user = (PANEL_PASSWORD, "dealer") if by_login else (API_HASH, "")
    assert _leaks(run.output, secret, user) == [] and API_HASH not in run.output.lower(), run


@pytest.mark.parametrize("fmt", FORMATS)
def test_masking_the_hash_in_a_gateway_label(tmp_path: Path, fmt: str) -> None:
    from tests.support.panel import READ, PanelServer

    label = {"id": 1, "label": f"copy of {API_HASH}", "provider": "smtp", "leasable": False}
    listing = {"bound_gateway": 1, "own": [{**label, "params": {}}], "leasable": []}
    server = PanelServer(gateways=listing)
    server.sessions[API_HASH] = READ
    with server.running():
        run = smtpcheck(
            "validate", "--format", fmt, "--api-url", server.url,
            env={"NAVIXY_HASH": API_HASH}, cwd=tmp_path,
        )  # fmt: skip
    assert run.code in (0, 1, 2) and run.stdout, run
    assert API_HASH not in run.output.lower(), run.output
