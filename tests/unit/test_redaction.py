"""The one secret scrubber: one mask, longest secret first, every form AUTH sends."""

from __future__ import annotations

import base64

from pydantic import SecretStr

from smtpcheck.redaction import MASK, reveal, scrub, secret_forms


def test_scrub_masks_a_secret_that_contains_another_completely():
    # The short one first would leave "hash-" and "-tail" of the long one visible.
    text = "hash=abc123-tail and abc123"
    assert scrub(text, ["abc123", "hash=abc123-tail"]) == f"{MASK} and {MASK}"
    assert scrub(text, ["hash=abc123-tail", "abc123"]) == f"{MASK} and {MASK}"


def test_scrub_ignores_empty_secrets():
    # "x" is short and common: masked as a whole token only, never inside a word.
    assert scrub("text", ["", "x"]) == "text"
    assert scrub("a x", ["", "x"]) == f"a {MASK}"


def test_secret_forms_cover_the_base64_of_auth_plain():
    plain = base64.b64encode(b"\0user\0pw").decode()
    assert secret_forms("user", "pw") == ("pw", base64.b64encode(b"pw").decode(), plain)
    assert scrub(f"AUTH PLAIN {plain}", secret_forms("user", "pw")) == f"AUTH PLAIN {MASK}"


def test_reveal_reads_a_secret_or_none():
    assert reveal(SecretStr("pw")) == "pw"
    assert reveal(None) is None


def test_panel_messages_use_the_same_mask():
    from smtpcheck.panel.answers import quoted as _quoted

    assert _quoted("echo abc123-long", ["abc123", "abc123-long"]) == f"echo {MASK}"
