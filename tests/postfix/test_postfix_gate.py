"""Where Postfix cannot run, the postfix tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import pytest

from tests.support.postfix.gate import refuse


def test_postfix_gate_skips_outside_ci():
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        refuse("needs root", env={})


@pytest.mark.parametrize("value", ["true", "TRUE"])
def test_postfix_gate_fails_under_ci(value):
    with pytest.raises(pytest.fail.Exception, match="postfix not found"):
        refuse("postfix not found", env={"CI": value})


def test_postfix_gate_skips_when_ci_is_not_true():
    with pytest.raises(pytest.skip.Exception):
        refuse("needs root", env={"CI": "false"})
