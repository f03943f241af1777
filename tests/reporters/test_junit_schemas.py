"""The JUnit report against its consumers' own schemas, both at once.

Jenkins' xunit plugin validates input against its ``junit-10.xsd``; the Ant JUnit schema
(windyroad/JUnit-Schema) is the strict one: required ``properties``, ``system-out`` and
``system-err`` in each suite, ``timestamp``/``hostname``/``package``/``id`` on it, a ``type`` on
each failure, no output inside a case, no attribute on ``<testsuites>``. Both are vendored
unmodified in tests/data/schemas/. Every report here comes from the real pipeline: files read
from disk, `validate`, and `check` probing servers started in this process.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import xmlschema

from smtpcheck.config.loading import load_paths
from smtpcheck.delivery.inbox import parse_place
from smtpcheck.delivery.polling import DeliveryOptions
from smtpcheck.demo.inbox import Inbox
from smtpcheck.demo.servers import start_servers
from smtpcheck.demo.web import start_web
from smtpcheck.panel.credentials import Credentials
from smtpcheck.pipeline.check import CheckOptions, check_async
from smtpcheck.pipeline.inventory import LintOptions
from smtpcheck.pipeline.sources import PanelSource, Sources
from smtpcheck.pipeline.validate import validate
from smtpcheck.probe.session import ProbeOptions
from smtpcheck.reporters import RenderOptions, render
from smtpcheck.results import Report, Severity
from tests.support.gateways import gateway
from tests.support.panel import READ, PanelServer
from tests.support.servers import HOST, RawServer, Smtpd, resolver, scripted

REPO = Path(__file__).parent.parent.parent
SCHEMAS = Path(__file__).parent.parent / "data" / "schemas"
NAMES = ("jenkins-xunit-junit-10.xsd", "ant-junit.xsd")
#: Labels and replies that XML, a schema's whitespace rules or a CI page could trip on.
HOSTILE = [
    "nul\x00 esc\x1b[31m del\x7f c1\x85 bell\x07",
    "quotes \"double\" 'single' & <tag> ]]> &amp;",
    "tab\tline\nreturn\r\nend",
    "non-BMP \U0001f4e7 \U0001d11e \U00010348, BMP edge \ufffd",
    "lone surrogate \ud800 and not-a-char \ufffe\uffff",
    "bidi \u202egnp.exe\u202c, line sep \u2028 para \u2029",
    "   ",
]


@cache
def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / name))


def _assert_valid(text: str) -> None:
    refusals = {name: next(_schema(name).iter_errors(text), None) for name in NAMES}
    refused = {name: error for name, error in refusals.items() if error is not None}
    assert not refused, "\n".join(f"{name}: {error}" for name, error in refused.items())


def _renderings(report: Report) -> Iterator[str]:
    for fail_on in (None, Severity.WARNING, Severity.INFO):
        for verbose in (False, True):
            yield render(report, "junit", RenderOptions(fail_on=fail_on, verbose=verbose))


def _valid_report(report: Report) -> ET.Element:
    assert report.started is not None and report.host, "the pipeline stamps every report"
    for text in _renderings(report):
        _assert_valid(text)
    return ET.fromstring(render(report, "junit", RenderOptions()))


def _failing(root: ET.Element) -> int:
    return sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in root)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("PWD", raising=False)
    return REPO


def test_validate_of_the_sample_configs_is_valid(in_repo):
    report = validate(load_paths(["sample_configs"], environ={}), LintOptions())
    root = _valid_report(report)
    files = sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("sample_configs/**/*.json"))
    assert sorted(s.get("name", "") for s in root) == files  # a suite per file, as named
    assert (_failing(root) > 0) is report.fails(Severity.ERROR)


async def test_check_of_the_sample_configs_is_valid(in_repo, options):
    # No name resolves (nothing leaves the machine): each gateway fails at its DNS step.
    probe = ProbeOptions(ehlo_name="client.test", tls=options.tls, resolver=resolver({}))
    documents = load_paths(["sample_configs"], environ={})
    report = await check_async(documents, LintOptions(), CheckOptions(probe=probe))
    root = _valid_report(report)
    assert "SC501" in {c.get("type") for c in root.iter("failure")}


async def test_check_of_the_demo_configs_against_their_servers_is_valid(in_repo, certs, options):
    password = "demo-Pa55"
    inbox = Inbox()
    servers = await start_servers(
        context=certs.good, user="alerts@demo.test", password=password, inbox=inbox
    )
    web = await start_web(inbox)
    try:
        environ = {
            "SMTPCHECK_DEMO_PASSWORD": password,
            **{f"SMTPCHECK_DEMO_{s.name.upper()}_PORT": str(s.port) for s in servers.values()},
        }
        probe = ProbeOptions(
            ehlo_name="client.test",
            tls=options.tls,
            resolver=resolver({"localhost": HOST}),
            send_to="ops@demo.test",
        )
        ports = tuple(s.port for s in servers.values())
        catcher = f"mailpit+http://{HOST}:{web.sockets[0].getsockname()[1]}"
        delivery = DeliveryOptions(place=parse_place(catcher))
        documents = load_paths(["sample_configs/demo"], environ=environ)
        report = await check_async(
            documents, LintOptions(), CheckOptions(probe=probe, suggest=ports, delivery=delivery)
        )
    finally:
        for server in (*(s.server for s in servers.values()), web):
            server.close()
            await server.wait_closed()
    root = _valid_report(report)
    assert {g.status.value for g in report.gateways} == {"ok", "failed"}
    assert "delivery   ok" in "".join(root.itertext())  # the delivery step, in a valid file
    out = "\n".join(s.findtext("system-out") or "" for s in root)
    assert "    starttls   ok" in out and "suggested change:" in out


async def test_live_check_with_hostile_labels_and_replies_is_valid(
    tmp_path, smtp_server, certs, options
):
    good = await smtp_server(Smtpd(tls_context=certs.good, auth=True))
    reply = b'554 no \x00\x07\x1b[0m \xff\xfe \xf0\x9f\x98\x80 "quoted" <&> ]]>\r\n'
    rude = await smtp_server(RawServer(scripted(greeting=reply)))
    gateways = [
        {**gateway(rude.port if i % 2 else good.port, gid=i + 1), "label": label}
        for i, label in enumerate(HOSTILE)
    ]
    gateways.append(gateway(good.port, gid=99, password="wrong"))
    source = tmp_path / 'fleet "\U0001f4e7" & <x>.json'
    source.write_text(json.dumps(gateways), encoding="utf-8")
    documents = load_paths([str(source)], environ={})
    report = await check_async(documents, LintOptions(), CheckOptions(probe=options))
    root = _valid_report(report)
    (suite,) = root
    assert suite.get("name") == source.as_posix()
    assert suite.get("hostname") == report.host and suite.get("timestamp")
    # Labels survive, escaped as the text format escapes them; nothing is lost or merged.
    names = [c.get("name", "") for c in suite.iter("testcase")]
    assert len(names) == len(gateways) and "\U0001f4e7" in names[3]
    out = suite.findtext("system-out") or ""
    assert "probe ok in" in out and "    starttls   ok" in out and "tls TLSv1." in out
    # The reply as the probe kept it (undecodable bytes as surrogates), what XML cannot hold
    # escaped, the rest as is.
    assert '554 no \\x00\\x07\\x1b[0m \\udcff\\udcfe \U0001f600 "quoted" <&> ]]>' in out
    assert (_failing(root) > 0) is report.fails(Severity.ERROR)


def test_panel_source_suite_is_valid():
    panel = PanelServer(gateways={"bound_gateway": 1, "own": [gateway(2525)], "leasable": []})
    panel.sessions["0123456789abcdef0123456789abcdef"] = READ
    with panel.running():
        source = PanelSource(
            panel.url, Credentials(session_hash="0123456789abcdef0123456789abcdef")
        )
        report = validate(Sources(panel=source), LintOptions())
    root = _valid_report(report)
    assert [s.get("name") for s in root] == [f"{panel.url}/panel/gateways/email/list"]


def _broken(text: str, how: str) -> str:
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    assert suite is not None
    if how == "no suite name":
        del suite.attrib["name"]
    elif how == "no test count":
        del suite.attrib["tests"]
    elif how == "a time that is not a number":
        suite.set("time", "1.5s")
    return ET.tostring(root, encoding="unicode")


def _ant_only(text: str, how: str) -> str:
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    case = root.find("testsuite/testcase")
    assert suite is not None and case is not None
    if how == "totals on testsuites":
        root.set("tests", suite.get("tests", ""))
    elif how == "output inside a case":
        ET.SubElement(case, "system-out").text = "timings"
    elif how == "a timestamp with a zone":
        suite.set("timestamp", suite.get("timestamp", "") + "+00:00")
    elif how == "no system-err":
        suite.remove(suite.findall("system-err")[0])
    return ET.tostring(root, encoding="unicode")


@pytest.fixture(scope="module")
def good_text() -> str:
    document = json.dumps([gateway(25, gid=1), {"id": 2, "label": "broken"}])
    (doc,) = load_paths(["-"], environ={}, stdin=io.BytesIO(document.encode()))
    text = render(validate([doc], LintOptions()), "junit", RenderOptions())
    _assert_valid(text)
    return text


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("how", ["no suite name", "no test count", "a time that is not a number"])
def test_schema_check_refuses_a_broken_report(good_text, name, how):
    assert _schema(name).is_valid(good_text)
    assert not _schema(name).is_valid(_broken(good_text, how)), (name, how)
    with pytest.raises(AssertionError, match=name.replace(".", r"\.")):
        _assert_valid(_broken(good_text, how))


@pytest.mark.parametrize(
    "how",
    ["totals on testsuites", "output inside a case", "a timestamp with a zone", "no system-err"],
)
def test_ant_schema_refuses_what_the_report_leaves_out(good_text, how):
    # Why the report has no totals on its root and no output inside a case: Ant refuses them.
    assert not _schema("ant-junit.xsd").is_valid(_ant_only(good_text, how)), how
