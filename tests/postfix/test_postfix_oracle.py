"""smtpcheck against the real JavaMail on the private Postfix + Dovecot: the same verdicts.

The JavaMail oracle (tests/support/javamail.py, com.sun.mail 2.0.0) and smtpcheck's probe
with the matching profile check the same gateway on the same real server, for each way the
platform may pass the credentials; the facts both know must agree (tests/support/oracle.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from smtpcheck.probe.tls import build_tls_contexts
from tests.support.gateways import run_check
from tests.support.javamail import Harness, run_javamail
from tests.support.oracle import assert_agree, check_claims, legacy_options
from tests.support.postfix.harness import PostfixInstance

pytestmark = pytest.mark.postfix

#: name -> (Postfix service, params on top of a plain no-auth gateway, claims)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, dict[str, Any]]]] = {
    "submission-starttls-auth": ("submission", {"starttls": True, "auth": True}, {}),
    "submission-opportunistic-auth": (
        "submission",
        {"mail.smtp.starttls.enable": True, "auth": True},
        {},
    ),
    "submission-plain-auth": ("submission", {"auth": True}, {"SC701": {"works": True}}),
    "submission-wrong-password": (
        "submission",
        {"starttls": True, "auth": True, "mail.smtp.password": "not-the-password"},
        {"SC702": {"works": False, "message": "535"}},
    ),
    "smtps-implicit-auth": ("smtps", {"use_ssl": True, "auth": True}, {}),
    "smtps-with-starttls-flags": (
        "smtps",
        {"use_ssl": True, "starttls": True, "auth": True},
        {"SC201": {"works": True, "trace": "STARTTLS requested but already using SSL"}},
    ),
    "starttls-on-smtps-port": ("smtps", {"starttls": True, "mail.smtp.timeout": 2000}, {}),
    "use-ssl-on-submission-port": ("submission", {"use_ssl": True}, {}),
    "relay-plain": ("relay", {}, {}),
    "relay-with-auth": ("relay", {"auth": True}, {"SC701": {"works": True}}),
    "optional-starttls-opportunistic": (
        "starttls_optional",
        {"mail.smtp.starttls.enable": True},
        {},
    ),
    "expired-certificate": ("expired", {"use_ssl": True}, {"SC606": {"works": False}}),
    "wrong-name-certificate": ("wrong_name", {"use_ssl": True}, {"SC605": {"works": True}}),
    "credentials-with-auth-off": ("submission", {"starttls": True, "creds": True}, {}),
}


def _params(postfix: PostfixInstance, service: str, extra: dict[str, Any]) -> dict[str, Any]:
    port = getattr(postfix.ports, service)
    flags = dict(extra)
    use_ssl, starttls = flags.pop("use_ssl", False), flags.pop("starttls", False)
    auth, creds = flags.pop("auth", False), flags.pop("creds", False)
    return {
        "default_from_address": "alerts@client.test",
        "mail.smtp.user": postfix.user if auth or creds else None,
        "mail.smtp.password": postfix.password if auth or creds else None,
        "mail.smtp.host": "localhost",
        "mail.smtp.port": port,
        "mail.smtp.ssl.port": port,
        "mail.smtp.ssl.trust_all_hosts": False,
        "mail.smtp.auth": auth,
        "mail.smtp.starttls.enable": starttls,
        "mail.smtp.starttls.required": starttls,
        "mail.smtp.use_ssl": use_ssl,
        "mail.smtp.timeout": 5000,
        "mail.smtp.connectiontimeout": 5000,
        "mail.transport.protocol": "smtp",
        **flags,
    }


@pytest.mark.parametrize("credentials", ["connect", "authenticator"])
@pytest.mark.parametrize("name", CASES)
async def test_postfix_smtpcheck_agrees_with_javamail(
    name, credentials, postfix: PostfixInstance, javamail: Harness, options
):
    service, extra, claims = CASES[name]
    params = _params(postfix, service, extra)
    java = await run_javamail(
        params,
        credentials=credentials,
        cap_ms=8000,
        truststore=postfix.ca_pem,
        harness=javamail,
    )
    tls = build_tls_contexts(ca_file=str(postfix.ca_pem), check_name=False)
    probe_options = legacy_options(options, tls, credentials)
    entry = {"id": 1, "leasable": False, "label": name, "provider": "smtp", "params": params}
    (report,) = (await run_check([entry], probe_options)).gateways
    assert_agree(f"{name} under {credentials}", report, java, probed=True)
    check_claims(claims, report, java)
