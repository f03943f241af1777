"""The status page as a person sees it: served on loopback, loaded in a real headless Chromium.

The DOM Chromium built is read back and checked: row order, badges, hostile text shown as
text, the refresh, nothing fetched from anywhere. The screenshot in docs/ comes from here
(``SMTPCHECK_UPDATE_SCREENSHOT=1`` retakes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import shutil
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from smtpcheck.results import (
    CertInfo,
    Endpoint,
    FailureKind,
    Finding,
    GatewayKind,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    Severity,
    Status,
    TlsInfo,
    TlsMode,
)
from smtpcheck.serve.page import render_page
from smtpcheck.serve.view import CycleStats, FleetView, GatewayState
from tests.reporters.sample import gateway
from tests.support import chromium
from tests.support.chromium import Node, parse_html
from tests.support.gate import refuse

NOW = 1_772_444_460.0  # 2026-03-02 09:41:00 UTC: the screenshot shows the same times each take
SCREENSHOT = Path(__file__).parents[2] / "docs" / "serve-status-page.png"
_PNG = b"\x89PNG\r\n\x1a\n"
_SIZE = (1280, 880)  # the whole realistic page, header to footer

Serve = Callable[[str], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve a page at ``/`` of 127.0.0.1 on a free port; ``requests`` lists each path asked."""
    chromium.browser()  # skip (fail under CI) before any server starts
    runners: list[web.AppRunner] = []

    async def start(page: str) -> str:
        async def index(request: web.Request) -> web.Response:
            seen.append(request.path_qs)
            if request.path != "/":
                raise web.HTTPNotFound()
            return web.Response(text=page, content_type="text/html", charset="utf-8")

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", index)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/"

    seen: list[str] = []
    start.requests = seen  # type: ignore[attr-defined]
    yield start
    for runner in runners:
        await runner.cleanup()


# --- a realistic fleet -------------------------------------------------------------------------


def _tls_probe(days: float, *, ok: bool = True) -> ProbeResult:
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + days * 86400 + 3600))
    cert = CertInfo("CN=mail", "CN=R11,O=Let's Encrypt", ("mail",), expires, int(days))
    steps = (ProbeStep("connect", True, 0.8), ProbeStep("starttls", True, 6.0))
    failure = None if ok else ProbeFailure(FailureKind.AUTH_FAILED, "535 5.7.8 rejected")
    tls = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", verified=True, cert=cert)
    return ProbeResult(steps=steps, ms=12.0, tls=tls, failure=failure)


def _finding(code: str, slug: str, severity: Severity, message: str, fix: str) -> Finding:
    return Finding(code, slug, severity, message, fix=fix)


_NO_GREETING = _finding(
    "SC504",
    "no-greeting",
    Severity.ERROR,
    "connected to mx.dealer-west.example:465 but no greeting came: this port speaks implicit TLS",
    "set mail.smtp.use_ssl=true",
)
_AUTH = _finding(
    "SC702",
    "auth-failed",
    Severity.ERROR,
    "the server refused the login: 535 5.7.8 Username and Password not accepted",
    "check mail.smtp.user and the password in the panel",
)
_EXPIRING = _finding(
    "SC607",
    "certificate-expires-soon",
    Severity.WARNING,
    "the certificate of smtp.fleet-east.example expires in 6 days",
    "renew the server's certificate",
)
_CLEAR_AUTH = _finding(
    "SC301",
    "auth-without-tls",
    Severity.WARNING,
    "the password is sent in clear text: the connection has no TLS",
    "set mail.smtp.starttls.enable=true and mail.smtp.starttls.required=true",
)
_INTERNAL = _finding(
    "SC901",
    "internal-error",
    Severity.ERROR,
    "smtpcheck failed while checking this gateway: TimeoutError()",
    "report this with the gateway's config (secrets masked)",
)


def _state(
    report_args: tuple[int, str, Status],
    *,
    host: str | None,
    port: int = 587,
    mode: TlsMode = TlsMode.STARTTLS,
    findings: tuple[Finding, ...] = (),
    probe: ProbeResult | None = None,
    ago: float = 75,
    failing_for: float | None = None,
    failures: int = 0,
    kind: GatewayKind = GatewayKind.OWN,
) -> GatewayState:
    gw_id, label, status = report_args
    endpoint = Endpoint(host, port, mode) if host is not None else None
    report = gateway(
        gw_id, label, status, findings=findings, endpoint=endpoint, probe=probe, kind=kind
    )
    return GatewayState(
        key=str(gw_id),
        report=report,
        checked_at=NOW - ago,
        duration_s=1.2,
        consecutive_failures=failures,
        failing_since=None if failing_for is None else NOW - failing_for,
        last_change=None if failing_for is None else NOW - failing_for,
    )


def realistic_view() -> FleetView:
    """Return a dozen gateways: each status, one failing for an hour, a certificate near its end."""
    states = (
        _state((101, "Head office", Status.OK), host="smtp.fleet.example", probe=_tls_probe(83)),
        _state(
            (102, "Dealer North", Status.OK),
            host="mail.dealer-north.example",
            ago=140,
            probe=_tls_probe(61),
        ),
        _state(
            (103, "Dealer West", Status.FAILED),
            host="mx.dealer-west.example",
            port=465,
            mode=TlsMode.NONE,
            findings=(_NO_GREETING,),
            ago=30,
            failing_for=3600,
            failures=12,
        ),
        _state(
            (104, "Fleet East", Status.WARNING),
            host="smtp.fleet-east.example",
            findings=(_EXPIRING,),
            probe=_tls_probe(6),
        ),
        _state(
            (105, "Rental pool", Status.OK),
            host="smtp.rental.example",
            port=465,
            mode=TlsMode.IMPLICIT,
            probe=_tls_probe(200),
            ago=20,
        ),
        _state(
            (106, "Old depot", Status.WARNING),
            host="10.20.0.25",
            port=25,
            mode=TlsMode.NONE,
            findings=(_CLEAR_AUTH,),
            ago=95,
        ),
        _state(
            (107, "Workshop", Status.FAILED),
            host="smtp.workshop.example",
            findings=(_AUTH,),
            probe=_tls_probe(45, ok=False),
            ago=60,
            failing_for=420,
            failures=2,
        ),
        _state(
            (108, "Night shift", Status.ERROR),
            host="relay.nightshift.example",
            findings=(_INTERNAL,),
            ago=65,
            failing_for=900,
            failures=3,
        ),
        _state(
            (109, "Zürich office", Status.OK), host="mx.example.ch", probe=_tls_probe(120), ago=45
        ),
        _state((110, "Default", Status.SKIPPED), host=None, kind=GatewayKind.LEASABLE, ago=80),
        _state(
            (111, "Dealer South", Status.OK),
            host="mail.dealer-south.example",
            probe=_tls_probe(33),
            ago=110,
        ),
        _state(
            (112, "Backup relay", Status.OK),
            host="2001:db8::25",
            port=587,
            probe=_tls_probe(90),
            ago=130,
        ),
    )
    cycle = CycleStats(number=48, started=NOW - 160, finished=NOW - 18, lag_s=0.0)
    return FleetView(gateways=states, cycle=cycle, interval_s=300, list_loaded_at=NOW - 1500)


# --- what Chromium shows -----------------------------------------------------------------------


async def _dom(url: str) -> Node:
    # The browser blocks; the test's loop must keep serving the page meanwhile.
    return parse_html(await asyncio.to_thread(chromium.dump_dom, url))


def _rows(doc: Node) -> list[Node]:
    return list(doc.iter("tr", "gateway"))


async def test_chromium_shows_rows_failures_first_with_badges(serve: Serve) -> None:
    url = await serve(render_page(realistic_view(), now=NOW, refresh_s=30))
    doc = await _dom(url)
    shown = [
        (r.attrs["data-gateway"], r.find("span", "badge").text().split()[-1]) for r in _rows(doc)
    ]
    assert shown == [
        ("103", "failed"),
        ("107", "failed"),
        ("108", "error"),
        ("104", "warning"),
        ("106", "warning"),
        ("101", "ok"),
        ("102", "ok"),
        ("105", "ok"),
        ("109", "ok"),
        ("111", "ok"),
        ("112", "ok"),
        ("110", "skipped"),
    ]
    assert all(r.attrs["data-status"] == b for r, (_, b) in zip(_rows(doc), shown, strict=True))
    west = _rows(doc)[0]
    assert west.find("td", "col-failing").text() == "1 h ago 12 checks in a row"
    assert west.find("td", "col-label").text() == "Dealer West"
    assert _rows(doc)[3].find("td", "col-cert").text() == "6 days"


async def test_chromium_shows_hostile_label_as_text(serve: Serve) -> None:
    label = '<img src=x onerror="document.title=1"><script>document.title="pwned"</script>\x00'
    reply = "</table><h1>served</h1>\u202etxt.exe"
    bad = Finding("SC504", "no-greeting", Severity.ERROR, f"server said {reply}")
    state = _state((1, label, Status.FAILED), host="mx.example", findings=(bad,))
    view = FleetView(gateways=(state,), cycle=realistic_view().cycle, list_error=reply)
    doc = await _dom(await serve(render_page(view, now=NOW, refresh_s=30, title="fleet")))
    assert not list(doc.iter("script")) and not list(doc.iter("img"))
    assert [h.text() for h in doc.iter("h1")] == ["fleet"]
    assert doc.find("title").text() == "fleet — 1 failed"  # no script ran to change it
    (row,) = _rows(doc)
    assert row.find("td", "col-label").text() == (
        '<img src=x onerror="document.title=1"><script>document.title="pwned"</script>\\x00'
    )
    assert row.find(cls="message").text() == "server said </table><h1>served</h1>\\u202etxt.exe"
    assert len(list(doc.iter("td"))) == 8


async def test_chromium_page_refreshes_and_references_nothing(serve: Serve) -> None:
    url = await serve(render_page(realistic_view(), now=NOW, refresh_s=45))
    doc = await _dom(url)
    refresh = [m.attrs["content"] for m in doc.iter("meta") if m.attrs.get("http-equiv")]
    assert refresh == ["45"]
    links = {
        (n.tag, name, value)
        for n in doc.iter()
        for name, value in n.attrs.items()
        if name in ("src", "href", "srcset", "action", "poster", "data", "background")
    }
    assert links <= {("a", "href", url)}, links
    assert not list(doc.iter("script")) and not list(doc.iter("link"))
    assert serve.requests == ["/"]  # type: ignore[attr-defined]


async def test_chromium_reports_how_long_it_takes_to_start(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await serve("<!DOCTYPE html><title>t</title><p>up")
    started = time.perf_counter()
    doc = await _dom(url)
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nChromium: start, load and dump a page in {took * 1000:.0f} ms")
    assert doc.find("p").text() == "up"


async def test_chromium_killed_with_its_helpers_at_the_timeout() -> None:
    chromium.browser()
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepted, and never answered

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}/hang"
    try:
        run = asyncio.create_task(asyncio.to_thread(chromium.dump_dom, url, timeout=4))
        group = await _group_of(url)
        with pytest.raises(chromium.ChromiumError, match="did not finish within 4 s"):
            await run
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
    for _ in range(50):  # the killed helpers are reaped by whoever inherited them
        if not _alive_in(group):
            break
        await asyncio.sleep(0.1)
    assert _alive_in(group) == [], f"process group {group} outlived its timeout"


async def _group_of(url: str) -> int:
    """Return the process group of the browser whose command line names ``url``."""
    for _ in range(100):
        group = _find_group(url)
        if group is not None:
            return group
        await asyncio.sleep(0.05)
    raise AssertionError(f"no browser for {url} started")


def _find_group(url: str) -> int | None:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if url.encode() in cmdline.read_bytes().split(b"\0"):
                return int((cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[2])
    return None


def _alive_in(group: int) -> list[int]:
    """Return the processes, zombies aside, still in process group ``group``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                alive.append(int(stat.parent.name))
    return alive


# --- the browser itself stays on loopback ------------------------------------------------------

#: One traced call on an inet socket, as ``strace -yy`` shows it: ``connect(22<TCP:[…]>, …``.
_CALL = re.compile(r"(connect|sendto|sendmsg|sendmmsg|write)\(\d+<(TCP|UDP)(?:v6)?:\[(.*?)\]>")
_ADDRESS = re.compile(r'inet_(?:addr\(|pton\(AF_INET6, )"([^"]+)"')


def outside_traffic(trace: str) -> list[str]:
    """Return each connect or send of a trace (``strace -f -yy``) that leaves this machine.

    A UDP connect() sends nothing: Chromium connects one to 2001:4860:4860::8888 to learn
    whether IPv6 is routable and never writes to it. A TCP connect, or a send on any socket,
    to an address beyond loopback counts.
    """
    found = []
    for line in trace.splitlines():
        call = _CALL.search(line)
        if call is None:
            continue
        name, protocol, ends = call.groups()
        explicit = _ADDRESS.search(line, call.end())
        if explicit is not None:
            host = explicit.group(1)
        elif "->" in ends:  # a connected socket: local->remote
            host = ends.split("->")[1].rsplit(":", 1)[0].strip("[]")
        else:
            continue
        if _is_loopback(host) or (name == "connect" and protocol == "UDP"):
            continue
        found.append(line.strip())
    return found


def _is_loopback(host: str) -> bool:
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def test_outside_traffic_finds_a_connection_beyond_loopback() -> None:
    # Lines as strace -f -yy writes them; the first four stay on this machine.
    harmless = (
        "7 connect(22<UDPv6:[120743]>, {sa_family=AF_INET6, sin6_port=htons(443), "
        'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), '
        "sin6_scope_id=0}, 28) = 0",
        "7 connect(22<TCP:[121172]>, {sa_family=AF_INET, sin_port=htons(8766), "
        'sin_addr=inet_addr("127.0.0.1")}, 16 <unfinished ...>',
        '7 sendto(22<TCP:[127.0.0.1:57440->127.0.0.1:8766]>, "GET / HTTP/1.1", 14, 0, NULL, 0)',
        '7 sendto(9<UNIX-STREAM:[1->2]>, "x", 1, MSG_NOSIGNAL, NULL, 0) = 1',
    )
    leaving = (
        "8 connect(24<TCP:[99]>, {sa_family=AF_INET, sin_port=htons(443), "
        'sin_addr=inet_addr("93.184.215.14")}, 16) = -1 EINPROGRESS',
        '8 sendto(25<UDP:[98]>, "\\1\\2", 2, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.255.255.53")}, 16) = 2',
        '8 write(22<UDPv6:[[::]:40000->[2001:4860:4860::8888]:443]>, "\\1", 1) = 1',
        "8 sendmsg(26<TCPv6:[[::1]:1->[2001:db8::1]:25]>, {msg_name=NULL}, 0) = 5",
    )
    assert outside_traffic("\n".join(harmless)) == []
    assert outside_traffic("\n".join(harmless + leaving)) == list(leaving)


async def test_chromium_opens_no_connection_beyond_loopback(serve: Serve, tmp_path: Path) -> None:
    strace = shutil.which("strace")
    if strace is None:
        refuse("strace is not installed (Debian: apt-get install strace)")
    # The page names outside hosts on purpose: with the resolver rules none is even looked up.
    page = render_page(realistic_view(), now=NOW, refresh_s=30).replace(
        "</body>",
        '<img src="http://example.com/x.png"><a href="https://cdn.example.net/">x</a></body>',
    )
    url = await serve(page)
    log = tmp_path / "trace"
    calls = "trace=connect,sendto,sendmsg,sendmmsg,write"
    prefix = (strace, "-f", "-qq", "-yy", "-e", calls, "-o", str(log))
    try:
        await asyncio.to_thread(chromium.dump_dom, url, prefix=prefix)
    except chromium.ChromiumError as exc:
        if "ptrace" in exc.stderr or "Operation not permitted" in exc.stderr:
            refuse(f"strace cannot trace here: {exc.stderr.strip().splitlines()[0]}")
        raise
    trace = log.read_text(errors="replace")
    assert "127.0.0.1" in trace  # the trace saw the browser's own connection to the page
    assert outside_traffic(trace) == []
    assert serve.requests == ["/"]  # type: ignore[attr-defined]


# --- the screenshot in docs/ -------------------------------------------------------------------


async def test_screenshot_of_the_status_page(serve: Serve) -> None:
    if os.environ.get("SMTPCHECK_UPDATE_SCREENSHOT") == "1":
        url = await serve(render_page(realistic_view(), now=NOW, refresh_s=30))
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await asyncio.to_thread(chromium.screenshot, url, SCREENSHOT, *_SIZE)
    assert SCREENSHOT.is_file(), f"no {SCREENSHOT}: take it with SMTPCHECK_UPDATE_SCREENSHOT=1"
    data = SCREENSHOT.read_bytes()
    assert data[:8] == _PNG, f"{SCREENSHOT} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR, the first chunk
    assert (width, height) == _SIZE
    assert len(data) > 20_000, "a blank page compresses to almost nothing"
