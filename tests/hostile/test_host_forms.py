"""Every form of a host is read as Java reads it (issue 10, class 9).

`mail.smtp.host` goes to Java's ``InetAddress.getByName``, not to the C library: Java takes
``127.1``, ``2130706433`` and ``127.0.0.01`` for 127.0.0.1 and ``0177.0.0.1`` for 177.0.0.1,
refuses ``0x7f000001`` without a look-up (glibc's getaddrinfo reads 127.0.0.1), and takes
``[::1]`` and ``::1`` for the same IPv6 address. `JAVA_READS` records what OpenJDK 17.0.15
answered, found with a throwaway program calling ``InetAddress.getAllByName`` on each form under
``java -Djdk.net.hosts.file=FILE`` (a hosts file naming localhost only: no DNS query at all);
`test_java_reads_hosts_as_recorded` asks the JDK again on every run where Java is installed,
for the table and for a grid of over 6,000 IPv4 forms (1 to 4 parts, decimal, octal, hex).

Servers listen on 127.0.0.1 and ::1, port 0; the system resolver is used, so a literal must be
connected to without any look-up, and a name is asked of getaddrinfo (which the suite's guard
answers for localhost only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import itertools
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smtpcheck.config.address import host_problem, java_ip_literal, java_literal_refusal
from smtpcheck.probe.network import system_resolver
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.reporters import render
from smtpcheck.results import FailureKind
from tests.support import servers
from tests.support.gateways import gateway, probe_of, run_check
from tests.support.servers import Certs, Smtpd

__all__: list[str] = []

# What Java 17.0.15 did with each host: an address ("L <what getHostAddress said>", IPv6 in
# Java's long form), "R" refused without a look-up (UnknownHostException naming the host or
# "invalid IPv6 address literal"), or "N" looked up as a name ("Unable to resolve host ... in
# hosts file"). Observed with the program in `_JAVA_SOURCE`, and by the JavaMail harness for the
# ones `test_javamail_connects_where_smtpcheck_does` runs.
JAVA_READS = {
    "127.0.0.1": "L 127.0.0.1",
    "127.1": "L 127.0.0.1",
    "127.0.1": "L 127.0.0.1",
    "2130706433": "L 127.0.0.1",
    "127.0.0.01": "L 127.0.0.1",
    "127.0.0.0001": "L 127.0.0.1",
    "0177.0.0.1": "L 177.0.0.1",  # decimal with a leading zero; glibc: octal, 127.0.0.1
    "010.0.0.1": "L 10.0.0.1",
    "08.0.0.1": "L 8.0.0.1",  # glibc: no octal digit 8, a name
    "127.65536": "L 127.1.0.0",
    "127.16777215": "L 127.255.255.255",
    "4294967295": "L 255.255.255.255",
    "1.2.3": "L 1.2.0.3",
    "0": "L 0.0.0.0",
    "0x7f000001": "R",  # glibc: 127.0.0.1
    "0X7F000001": "R",
    "0x7f.1": "R",
    "1.2.3.0x4": "R",
    "017700000001": "R",  # octal 127.0.0.1, past 32 bits as decimal
    "127.16777216": "N",
    "4294967296": "N",
    "1.2.3.4.5": "N",
    "127.0.0.256": "N",
    "127.0.0.1.": "N",
    "127..1": "N",
    "0x": "N",
    "0xg": "N",
    "1e3": "N",
    "\uff12": "N",  # a fullwidth digit: Java's parser takes ASCII digits only
    "[::1]": "L 0:0:0:0:0:0:0:1",
    "::1": "L 0:0:0:0:0:0:0:1",
    "[0:0:0:0:0:0:0:1]": "L 0:0:0:0:0:0:0:1",
    "0000:0000:0000:0000:0000:0000:0000:00001": "L 0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1": "L 127.0.0.1",  # IPv4-mapped: an Inet4Address
    "[::ffff:127.0.0.1]": "L 127.0.0.1",
    "::ffff:127.0.0.01": "L 127.0.0.1",
    "::ffff:7f00:1": "L 127.0.0.1",
    "::127.0.0.1": "L 0:0:0:0:0:0:7f00:1",
    "1:2:3:4:5:6:1.2.3.4": "L 1:2:3:4:5:6:102:304",
    "[fe80::1%1]": "L fe80:0:0:0:0:0:0:1%1",
    "::1:25": "L 0:0:0:0:0:0:1:25",
    "::ffff:127.1": "R",
    "1::2::3": "R",
    "::1:": "R",
    "[127.0.0.1]": "R",
    "[127.1]": "R",
    "[mail.test]": "R",
    "[deadbeef]": "R",
    "[::1]:25": "R",
    "[::1": "R",
    "::1]": "R",
    "::1%": "R",
    "[[::1]]": "R",
    "x[::1]": "N",
    "g::1": "N",
    "localhost": "L 127.0.0.1",  # from the hosts file: a name
}


def _ours(host: str) -> str:
    """What smtpcheck says Java does with ``host``, in the table's terms."""
    literal = java_ip_literal(host)
    if literal is not None:
        return f"L {literal}"
    return "R" if java_literal_refusal(host) is not None else "N"


def _short_form(answer: str) -> str:
    """Java's answer with an IPv6 address in the short form smtpcheck writes."""
    if not answer.startswith("L ") or ":" not in answer:
        return answer
    address, percent, zone = answer[2:].partition("%")
    return f"L {ipaddress.ip_address(address)}{percent}{zone}"


@pytest.mark.parametrize(("host", "java"), JAVA_READS.items())
def test_smtpcheck_reads_hosts_as_java_does(host: str, java: str) -> None:
    if host == "localhost":
        assert _ours(host) == "N"  # a name smtpcheck leaves to the resolver
        return
    assert _ours(host) == _short_form(java), host


def _grid() -> list[str]:
    """IPv4 forms of 1 to 4 parts: decimal, leading zeros, octal, hex, past each part's range."""
    parts = ["0", "1", "00", "01", "08", "0x", "0x1", "0X1f", "0xg", "255", "256", "0377"]
    parts += ["0400", "0xff", "0x100", "65535", "65536", "16777215", "16777216"]
    parts += ["4294967295", "4294967296", "1e1", "a", "0008"]
    forms = set()
    for count in range(1, 5):
        for combo in itertools.product(parts, repeat=count):
            if count < 3 or len(set(combo)) <= 2:
                forms.add(".".join(combo))
    return sorted(forms)


_JAVA_SOURCE = """
import java.net.*;
import java.nio.file.*;

public class HostForms {
    public static void main(String[] args) throws Exception {
        for (String host : Files.readAllLines(Paths.get(args[0]))) {
            String answer;
            try {
                answer = "L " + InetAddress.getByName(host).getHostAddress();
            } catch (UnknownHostException e) {
                String m = String.valueOf(e.getMessage());
                answer = m.startsWith("Unable to resolve host") ? "N" : "R";
            }
            System.out.println(answer);
        }
    }
}
"""


@pytest.fixture(scope="module")
def java_answers() -> Iterator[Any]:
    """Ask the real JDK about hosts: ``java_answers(hosts) -> answers``, no DNS at all."""
    from tests.support.javamail import available, refuse

    reason = available()
    if reason is not None:
        refuse(reason)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "HostForms.java").write_text(_JAVA_SOURCE, encoding="ascii")
        (folder / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n", encoding="ascii")
        subprocess.run(["javac", "HostForms.java"], cwd=folder, check=True, timeout=120)

        def ask(hosts: list[str]) -> list[str]:
            (folder / "in.txt").write_text("\n".join(hosts) + "\n", encoding="utf-8")
            hosts_file, cases = folder / "hosts", folder / "in.txt"
            command = ["java", f"-Djdk.net.hosts.file={hosts_file}", "-cp", str(folder)]
            done = subprocess.run(
                [*command, "HostForms", str(cases)],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            return done.stdout.splitlines()

        yield ask


def test_java_reads_hosts_as_recorded(java_answers: Any) -> None:
    table = list(JAVA_READS)
    assert dict(zip(table, java_answers(table), strict=True)) == JAVA_READS


def test_java_reads_every_ipv4_form_as_smtpcheck_does(java_answers: Any) -> None:
    grid = _grid()
    disagree = {
        host: (java, _ours(host))
        for host, java in zip(grid, java_answers(grid), strict=True)
        if _short_form(java) != _ours(host)
    }
    assert len(grid) > 6000 and disagree == {}


# --- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.1", "2130706433", "127.0.0.01", "0177.0.0.1", "[::1]"])
def test_host_forms_java_connects_to_are_no_sc102(host: str) -> None:
    assert host_problem(host) is None


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("0x7f000001", "the C library would read it as 127.0.0.1"),
        ("017700000001", "hex or octal"),
        ("[127.0.0.1]", "brackets"),
        ("1::2::3", "nor an IPv6 address"),
        ("4294967296", "neither an IPv4 address nor a host name"),
    ],
)
def test_host_forms_java_refuses_are_sc102(host: str, words: str) -> None:
    problem = host_problem(host)
    assert problem is not None and words in problem, (host, problem)


# --- the probe --------------------------------------------------------------------------------


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hosts given to getaddrinfo (the guard still answers them)."""
    hosts: list[str] = []
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        hosts.append(host)
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return hosts


@pytest.fixture
def system(options: ProbeOptions) -> ProbeOptions:
    return dataclasses.replace(options, resolver=system_resolver)


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "127.0.0.01", "127.0.1", "::ffff:127.0.0.1", "[::ffff:7f00:1]"]
)
async def test_probe_connects_to_what_java_connects_to(host, smtp_server, system, asked):
    server = await smtp_server(Smtpd())
    report = (await run_check([gateway(server.port, host=host, mode="none")], system)).gateways[0]
    probe = probe_of(report)
    assert probe.ok, probe.failure
    resolve = next(step for step in probe.steps if step.name == "resolve")
    assert resolve.detail == "127.0.0.1" and asked == [], (resolve, asked)
    assert server.counter.accepted == 1


async def test_probe_reads_leading_zeros_as_decimal(asked):
    # Java connects to 177.0.0.1, where glibc would connect to 127.0.0.1 (no connection here).
    assert await system_resolver("0177.0.0.1", 25) == [(socket.AF_INET, ("177.0.0.1", 25))]
    assert await system_resolver("08", 25) == [(socket.AF_INET, ("0.0.0.8", 25))]  # glibc: a name
    assert await system_resolver("[::1]", 25) == [(socket.AF_INET6, ("::1", 25, 0, 0))]
    assert asked == []


@pytest.mark.parametrize("host", ["0x7f000001", "017700000001", "[127.0.0.1]", "1::2::3"])
async def test_probe_refuses_what_java_refuses_without_a_look_up(host, asked):
    with pytest.raises(socket.gaierror) as caught:
        await system_resolver(host, 25)
    assert caught.value.errno == socket.EAI_NONAME and asked == []


@pytest.mark.parametrize("host", ["127.0.0.1.", "4294967296", "127.16777216", "1.2.3.4.5"])
async def test_probe_looks_up_what_java_looks_up(host, asked):
    with pytest.raises(socket.gaierror):
        await system_resolver(host, 25)  # the guard answers the name: it does not exist
    assert asked == [host]


async def test_check_does_not_probe_a_host_java_refuses(system, asked):
    report = (await run_check([gateway(25, host="0x7f000001", mode="none")], system)).gateways[0]
    assert report.probe is None and "SC102" in {f.code for f in report.findings}
    assert asked == []


@pytest.fixture
def ipv6_server(monkeypatch: pytest.MonkeyPatch, smtp_server: Any) -> Any:
    """Start a server on ::1 instead of 127.0.0.1: ``await ipv6_server(Smtpd(...))``."""

    async def start(server: Any) -> Any:
        with monkeypatch.context() as patch:
            patch.setattr(servers, "HOST", "::1")
            return await smtp_server(server)

    return start


@pytest.mark.parametrize("host", ["[::1]", "::1", "[0:0:0:0:0:0:0:1]"])
async def test_probe_and_report_of_an_ipv6_host(host, ipv6_server, system, asked):
    server = await ipv6_server(Smtpd())
    report = await run_check([gateway(server.port, host=host, mode="none")], system)
    probe = probe_of(report.gateways[0])
    assert probe.ok, probe.failure
    assert server.counter.accepted == 1 and asked == []
    text = render(report, "text")
    assert f"{host if host.startswith('[') else f'[{host}]'}:{server.port}" in text, text
    assert "[[" not in text, text


def _ip_certs(certs: Certs) -> ssl.SSLContext:
    """A server context whose certificate names the IP addresses 127.0.0.1 and ::1 only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certs.ca.issue_cert("127.0.0.1", "::1").configure_cert(context)
    return context


# Java's endpoint identification (what Angus Mail's checkserveridentity uses since 2.0.3: an
# SSLSocket with an identification algorithm, HTTPS or LDAPS alike) strips the brackets of
# "[::1]" and matches "127.1" by the address it names: both verify against a certificate for
# the IP addresses 127.0.0.1 and ::1 (observed with OpenJDK 17.0.15). com.sun.mail 2.0.0's own
# check (checkserveridentity=true, off by default) fails for every IP address host, even
# "127.0.0.1" against a certificate for 127.0.0.1.
# The probe gives TLS the address an IP literal names (config.address.tls_name), as Java does.
_TLS_NAMES = [("127.0.0.1", False), ("::1", True), ("127.1", False), ("[::1]", True)]


@pytest.mark.parametrize(("host", "ipv6"), _TLS_NAMES)
async def test_certificate_names_an_ip_host_as_java_checks_it(
    host, ipv6, certs, smtp_server, ipv6_server, system
):
    start = ipv6_server if ipv6 else smtp_server
    server = await start(Smtpd(tls_context=_ip_certs(certs)))
    # The default profile, Angus Mail, checks the certificate's name.
    report = await run_check([gateway(server.port, host=host, auth=False)], system)
    probe = probe_of(report.gateways[0])
    assert probe.failure_kind is not FailureKind.CERT_INVALID, probe.failure
    assert probe.ok, probe.failure


# --- the real JavaMail ---------------------------------------------------------------------------


async def test_javamail_connects_where_smtpcheck_does(javamail, smtp_server, ipv6_server, system):
    from tests.support.javamail import run_javamail

    v4 = await smtp_server(Smtpd())
    v6 = await ipv6_server(Smtpd())
    cases = {"127.1": v4, "2130706433": v4, "127.0.0.01": v4, "0x7f000001": v4}
    cases |= {"[::1]": v6, "::1": v6}

    async def both(host: str, server: Smtpd) -> tuple[str, bool, bool]:
        params = gateway(server.port, host=host, mode="none", auth=False)["params"]
        java = await run_javamail(params, harness=javamail)
        report = await run_check([gateway(server.port, host=host, mode="none", auth=False)], system)
        probe = report.gateways[0].probe
        return host, java.works, probe is not None and probe.ok

    seen = await asyncio.gather(*(both(host, server) for host, server in cases.items()))
    expected = {host: host != "0x7f000001" for host in cases}
    assert {host: java for host, java, _ in seen} == expected
    assert {host: ours for host, _, ours in seen} == expected
