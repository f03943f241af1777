"""Which combinations discovery tries, how working ones rank, and the params patch of the best."""

from __future__ import annotations

from typing import Any

import pytest

from smtpcheck.config.javamail import settings_of
from smtpcheck.config.models import SmtpParams
from smtpcheck.discovery.candidates import DEFAULT_CANDIDATES, candidate, candidates, rank
from smtpcheck.discovery.suggest import patch_for, suggestion_from
from smtpcheck.results import (
    Attempt,
    Discovery,
    Endpoint,
    FailureKind,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    TlsInfo,
    TlsMode,
)

IMPLICIT, STARTTLS, NONE = TlsMode.IMPLICIT, TlsMode.STARTTLS, TlsMode.NONE


def _attempt(
    port: int, mode: TlsMode, *, verified: bool | None = True, required: bool = True
) -> Attempt:
    tls = None if verified is None or mode is NONE else TlsInfo("TLSv1.3", "X", verified)
    probe = ProbeResult((ProbeStep("connect", True, 1.0),), 1.0, tls=tls)
    return Attempt(Endpoint(None, port, mode, required), probe, works=True)


def _failed(port: int, mode: TlsMode, kind: FailureKind, detail: str) -> Attempt:
    probe = ProbeResult((), 1.0, failure=ProbeFailure(kind, detail))
    return Attempt(candidate(port, mode), probe, problem=detail)


def _order(attempts: list[Attempt], configured: int | None = None) -> list[tuple[int, str]]:
    return [
        (a.candidate.port, str(a.candidate.mode)) for a in rank(attempts, configured=configured)
    ]


def test_candidates_default_list_adds_the_configured_port_in_every_mode():
    assert candidates() == DEFAULT_CANDIDATES
    found = candidates(configured=2587)
    assert found[: len(DEFAULT_CANDIDATES)] == DEFAULT_CANDIDATES
    assert found[len(DEFAULT_CANDIDATES) :] == tuple(
        candidate(2587, mode) for mode in (IMPLICIT, STARTTLS, NONE)
    )


def test_candidates_configured_standard_port_is_not_tried_twice():
    found = candidates(configured=25)
    assert len(found) == len(set(found)) == len(DEFAULT_CANDIDATES) + 1  # 25 implicit is new


def test_candidates_try_ports_replace_the_list_each_in_every_mode():
    found = candidates(ports=(2465, 2587, 2465), configured=25)
    assert [(c.port, c.mode) for c in found] == [
        (2465, IMPLICIT),
        (2465, STARTTLS),
        (2465, NONE),
        (2587, IMPLICIT),
        (2587, STARTTLS),
        (2587, NONE),
    ]


def test_rank_mode_order_implicit_required_opportunistic_plain():
    attempts = [
        _attempt(25, NONE),
        _attempt(2525, STARTTLS, required=False),
        _attempt(587, STARTTLS),
        _attempt(465, IMPLICIT),
    ]
    assert _order(attempts) == [
        (465, "implicit"),
        (587, "starttls"),
        (2525, "starttls"),
        (25, "none"),
    ]


def test_rank_configured_port_beats_implicit_tls_elsewhere_when_secure():
    attempts = [_attempt(465, IMPLICIT), _attempt(587, STARTTLS)]
    assert _order(attempts, configured=587)[0] == (587, "starttls")


def test_rank_configured_port_does_not_beat_security():
    attempts = [_attempt(465, IMPLICIT), _attempt(25, NONE)]
    assert _order(attempts, configured=25)[0] == (465, "implicit")


def test_rank_unverified_certificate_ranks_below_a_verified_one():
    attempts = [_attempt(465, IMPLICIT, verified=False), _attempt(2525, STARTTLS, required=False)]
    assert _order(attempts, configured=465) == [(2525, "starttls"), (465, "implicit")]


def test_rank_unverified_tls_still_beats_plain():
    attempts = [_attempt(25, NONE), _attempt(465, IMPLICIT, verified=False)]
    assert _order(attempts)[0] == (465, "implicit")


def test_rank_failures_follow_in_the_order_tried():
    broken = [_failed(p, IMPLICIT, FailureKind.CONNECT_REFUSED, "refused") for p in (2, 1)]
    ranked = rank([broken[0], _attempt(3, STARTTLS), broken[1]])
    assert [a.candidate.port for a in ranked] == [3, 2, 1]


def test_discovery_verdicts():
    refused = [_failed(p, NONE, FailureKind.CONNECT_REFUSED, "refused") for p in (2525, 2526)]
    assert Discovery("h", tuple(refused), False).verdict() == (
        "nothing works: nothing is listening on ports 2525, 2526 (refused or no answer)"
    )
    dns = _failed(25, NONE, FailureKind.DNS, "cannot resolve h: no such name")
    assert (
        Discovery("h", (dns,), False).verdict() == "nothing works: cannot resolve h: no such name"
    )
    connected = (ProbeStep("connect", True, 1),)
    dropped = ProbeFailure(FailureKind.PROTOCOL, "")
    reached = Attempt(candidate(25, NONE), ProbeResult(connected, 1, failure=dropped))
    assert Discovery("h", (reached,), False).verdict().startswith("nothing works: none of the 1")
    working = Discovery("h", (_attempt(465, IMPLICIT), reached), False)
    assert working.verdict() == "1 of 2 combinations work"
    assert working.best is working.attempts[0]


def _params(**values: Any) -> SmtpParams:
    base: dict[str, Any] = {
        "mail.smtp.host": "smtp.example.com",
        "mail.smtp.port": 587,
        "mail.smtp.ssl.port": 587,
        "mail.smtp.use_ssl": False,
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
        "mail.smtp.auth": True,
        "mail.smtp.user": "u",
        "mail.smtp.password": "p",
    }
    return SmtpParams.model_validate({**base, **values})


def test_patch_changes_only_what_javamail_reads_differently():
    params = _params(**{"mail.smtp.starttls.required": "true", "mail.smtp.port": "587"})
    assert patch_for(params, candidate(587, STARTTLS)) == ({}, {})  # SC004's business, not ours


def test_patch_writes_a_missing_port_and_keeps_previous_values_as_written():
    params = _params(**{"mail.smtp.port": None, "mail.smtp.use_ssl": "false"})
    patch, previous = patch_for(params, candidate(465, IMPLICIT))
    assert patch == {
        "mail.smtp.port": 465,
        "mail.smtp.ssl.port": 465,
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    }
    assert previous == {
        "mail.smtp.ssl.port": 587,
        "mail.smtp.use_ssl": "false",
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
    }


def test_patch_leaves_a_missing_ssl_port_out_without_use_ssl():
    params = _params(**{"mail.smtp.ssl.port": None, "mail.smtp.port": 25})
    patch, _ = patch_for(params, candidate(587, STARTTLS))
    assert patch == {"mail.smtp.port": 587}


@pytest.mark.parametrize("host", ["smtp.example.com", "localhost"])
def test_suggestion_never_plain_text_auth_to_another_machine(host):
    params = _params(**{"mail.smtp.host": host})
    discovery = Discovery(host, (_attempt(25, NONE),), True)
    suggestion = suggestion_from(params, settings_of(params), discovery)
    if host == "localhost":
        assert suggestion is not None and suggestion.params["mail.smtp.starttls.enable"] is False
    else:
        assert suggestion is None


def test_suggestion_none_when_nothing_works_or_nothing_changes():
    params = _params()
    settings = settings_of(params)
    nothing = Discovery(
        "h", (_failed(587, STARTTLS, FailureKind.CONNECT_REFUSED, "refused"),), True
    )
    assert suggestion_from(params, settings, nothing) is None
    same = Discovery("h", (_attempt(587, STARTTLS),), True)
    assert suggestion_from(params, settings, same) is None
