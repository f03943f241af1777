"""The JavaMail profile (--javamail, --credentials) makes the probe do what that library does.

Debian packages only com.sun.mail 2.0.0, so the legacy behaviour is also checked against the real
library in tests/oracle; the Angus behaviour here rests on the facts in the reference (Angus Mail
2.0.5 checks the certificate's name even with ssl.trust="*").
"""

from __future__ import annotations

import dataclasses

import click
import pytest

from smtpcheck.cli.check_cmd import check
from smtpcheck.config.profile import Credentials, JavaMailProfile, Library, TransportChoice
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.probe.tls import build_tls_contexts
from smtpcheck.results import FailureKind
from tests.support.gateways import codes, gateway, probe_of, run_check
from tests.support.servers import Certs, Smtpd

__all__: list[str] = []


def _legacy(options: ProbeOptions, certs: Certs) -> ProbeOptions:
    return dataclasses.replace(
        options,
        tls=build_tls_contexts(ca_file=certs.ca_file, check_name=False),
        profile=JavaMailProfile(library=Library.LEGACY),
    )


async def test_angus_trusting_all_still_checks_the_name(smtp_server, options, certs):
    server = await smtp_server(Smtpd(implicit=certs.mismatch, auth=True))
    config = gateway(server.port, mode="implicit", params={"mail.smtp.ssl.trust_all_hosts": True})
    (report,) = (await run_check([config], options)).gateways
    assert report.works is False
    assert probe_of(report).failure_kind is FailureKind.CERT_INVALID
    assert (
        "checks the name even when it trusts every certificate" in probe_of(report).failure.detail
    )
    assert codes(report)["SC605"].severity == "error"


async def test_angus_trusting_all_accepts_an_unknown_chain_with_the_right_name(
    smtp_server, options, certs
):
    server = await smtp_server(Smtpd(implicit=certs.untrusted, auth=True))
    config = gateway(server.port, mode="implicit", params={"mail.smtp.ssl.trust_all_hosts": True})
    (report,) = (await run_check([config], options)).gateways
    assert report.works, probe_of(report).failure
    assert codes(report)["SC604"].severity == "warning"
    assert "SC605" not in codes(report)


async def test_legacy_checks_no_name(smtp_server, options, certs):
    server = await smtp_server(Smtpd(implicit=certs.mismatch, auth=True))
    config = gateway(server.port, mode="implicit")
    (report,) = (await run_check([config], _legacy(options, certs))).gateways
    assert report.works, probe_of(report).failure
    finding = codes(report)["SC605"]
    assert finding.severity == "warning" and "Angus Mail" in finding.message
    assert probe_of(report).tls.verified and probe_of(report).tls.name_matches is False


def test_contexts_built_for_another_library_are_refused(options):
    with pytest.raises(ValueError, match="another JavaMail library"):
        dataclasses.replace(options, profile=JavaMailProfile(library=Library.LEGACY))


@pytest.mark.parametrize(
    ("name", "enum"),
    [("javamail", Library), ("credentials", Credentials), ("transport", TransportChoice)],
)
def test_cli_profile_choices_are_the_enum_values(name, enum):
    (option,) = [p for p in check.params if p.name == name]
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == [member.value for member in enum]
