"""`check --suggest` turns each TLS-mode mistake of sample_configs/mistakes/ into a verified fix.

The sample files are used as written, with only what points them at this machine changed: the
host becomes mail.test (resolved to 127.0.0.1 by the injected resolver, so it is not loopback by
name), port 465 becomes the local implicit-TLS server's port and 587 the STARTTLS server's, and
the credentials become the test servers'. The patch found must make the gateway pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.results import Status
from tests.support.gateways import run_check
from tests.support.servers import PASSWORD, USER, Smtpd

MISTAKES = Path(__file__).parent.parent.parent / "sample_configs" / "mistakes"

#: sample file -> the params the fix must set (on top of the local port it keeps or moves to).
CASES: dict[str, dict[str, Any]] = {
    "starttls-on-465.json": {
        "mail.smtp.use_ssl": True,
        "mail.smtp.starttls.enable": False,
        "mail.smtp.starttls.required": False,
    },
    "use-ssl-on-587.json": {
        "mail.smtp.use_ssl": False,
        "mail.smtp.starttls.enable": True,
        "mail.smtp.starttls.required": True,
    },
}


def _localised(sample: dict[str, Any], ports: dict[int, int]) -> dict[str, Any]:
    params = dict(sample["params"])
    for key in ("mail.smtp.port", "mail.smtp.ssl.port"):
        params[key] = ports[params[key]]
    params |= {
        "mail.smtp.host": "mail.test",
        "mail.smtp.user": USER,
        "mail.smtp.password": PASSWORD,
    }
    return {**sample, "params": params}


@pytest.mark.parametrize("name", CASES)
async def test_sample_mistake_gets_a_verified_fix(name, smtp_server, certs, options):
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    starttls = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    ports = {465: implicit.port, 587: starttls.port}
    broken = _localised(json.loads((MISTAKES / name).read_text()), ports)

    report = await run_check([broken], options, suggest=(implicit.port, starttls.port))
    (gateway,) = report.gateways
    assert gateway.status is Status.FAILED
    assert gateway.suggestion is not None, gateway.findings
    assert gateway.suggestion.params.items() >= CASES[name].items()

    fixed = {**broken, "params": {**broken["params"], **gateway.suggestion.params}}
    (rechecked,) = (await run_check([fixed], options)).gateways
    assert rechecked.status is Status.OK, rechecked.findings


async def test_sample_ssl_and_starttls_works_as_javamail_skips_starttls(
    smtp_server, certs, options
):
    # JavaMail logs "STARTTLS requested but already using SSL" and goes on: the flags mislead
    # (SC201, a warning), the gateway works, and there is nothing to suggest.
    implicit = await smtp_server(Smtpd(implicit=certs.good, auth=True))
    sample = json.loads((MISTAKES / "ssl-and-starttls.json").read_text())
    broken = _localised(sample, {465: implicit.port})
    report = await run_check([broken], options, suggest=(implicit.port,))
    (gateway,) = report.gateways
    assert gateway.works, gateway.probe
    assert gateway.status is Status.WARNING
    assert {f.code for f in gateway.findings if f.severity != "info"} == {"SC201"}
    assert gateway.suggestion is None
