"""Property tests: no hostile field or option stops a run, breaks a format or shows a secret.

Hypothesis draws gateway documents whose every field (id, label, provider, leasable, each param)
comes from a hostile mix (tests/hostile/strategies.py), and command lines whose every option
value does. Whatever it draws: no SC901, no traceback or "internal error", an exit code from the
documented set, the known-good gateway of the fleet still reported with its own findings, every
format still readable, and no password or session hash in any output in any encoding.

Under ``CI=true`` the examples are drawn the same way on every run (``derandomize``), so a CI
failure reproduces; elsewhere each run draws new ones. ``SMTPCHECK_PROPERTY_SCALE=N`` (not under
CI) draws N times as many, for a longer hunt. No example database is kept.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import socket
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from smtpcheck.defaults import FORMATS
from smtpcheck.rules.base import EXAMPLE_GATEWAY
from tests.hostile.strategies import (
    GOOD_ID,
    GOOD_LABEL,
    PASSWORD_VARIABLE,
    SET_VALUE,
    SET_VARIABLE,
    Fleet,
    Node,
    Obj,
    Raw,
    Text,
    fleets,
    hostile_text,
    params_objects,
    passwords,
    render,
    strings_of,
)
from tests.support.panel import PanelServer, raw
from tests.test_secrets import API_HASH, PANEL_PASSWORD, SMTP_PASSWORD, Outputs, run_cli

__all__: list[str] = []

# A failing example holding a string of 70 000 characters is still worth printing.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_SCALE = 1 if _CI else max(1, int(os.environ.get("SMTPCHECK_PROPERTY_SCALE", "1") or 1))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples * _SCALE,
        deadline=None,
        database=None,
        derandomize=_CI,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# --- What every run must not do --------------------------------------------------------------

_ABORT = re.compile(r"Traceback \(most recent call last\)|internal error", re.IGNORECASE)


def _assert_no_abort(out: Outputs, *, echoed: Sequence[str] = ()) -> None:
    """Fail on a traceback, an internal error or SC901 in any output of the run."""
    files = [data.decode("utf-8", "replace") for data in out.files.values()]
    sc901_said = any("SC901" in arg for arg in echoed)  # an option may name it: it is echoed
    for text in (out.stdout, out.stderr, *files):
        assert not _ABORT.search(text), out
        assert sc901_said or "SC901" not in text, out


def _strong(secret: str) -> bool:
    """Return True for a secret that no output can spell by chance: 8+ chars, a letter, a digit."""
    return (
        len(secret) >= 8 and any(c.isalpha() for c in secret) and any(c.isdigit() for c in secret)
    )


def _encodings(secret: str) -> set[str]:
    """Return the secret as each encoding an output might carry it."""
    data = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        secret.lower(),
        secret.upper(),
        quote(data, safe=""),
        quote(data),
        quote_plus(data),
        base64.b64encode(data).decode().rstrip("="),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        repr(secret)[1:-1],
    }
    writable = set()
    for form in forms:
        try:
            form.encode("utf-8")
        except UnicodeEncodeError:
            continue  # a lone surrogate: no output written as UTF-8 can hold this form
        writable.add(form)
    return writable


def _assert_no_leak(out: Outputs, secrets: Sequence[str]) -> None:
    forms = sorted({form for secret in secrets if _strong(secret) for form in _encodings(secret)})
    assert out.leaks(forms) == [], out


#: Stands in for the password in a second run: what that run shows too is no leak.
_STAND_IN = "StandIn0Password"


def _passwords_to_find(password: str, run: Callable[[str], Outputs]) -> list[str]:
    """Return ``[password]`` if no output may show it: strong, and not in what ``run`` shows
    when the very same fleet carries a stand-in password (``LE.COM:5`` is in every report on
    ``SMTP.EXAMPLE.COM:587``)."""
    if not _strong(password):
        return []
    stand_in = run(_STAND_IN)
    files = [data.decode("utf-8", "replace") for data in stand_in.files.values()]
    shown = "\0".join([stand_in.stdout, stand_in.stderr, *files])
    return [] if _collides(password, shown) else [password]


def _collides(secret: str, written: str) -> bool:
    """Return True when the input spells the secret elsewhere: it may then show legitimately."""
    lowered = written.lower()
    return any(form.lower() in lowered for form in _encodings(secret))


# --- Every format must stay readable ---------------------------------------------------------

_NAGIOS_STATUS = re.compile(r"SMTPCHECK (OK|WARNING|CRITICAL|UNKNOWN) - ")
_NAGIOS_EXIT = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
_PROMETHEUS_SAMPLE = re.compile(
    r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,(?=[a-zA-Z_])|(?=\})))*\})?'
    r" (?:[-+]?[0-9.]+(?:e[-+]?[0-9]+)?|NaN|[-+]Inf)"
)
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def _assert_readable(fmt: str, report: str, code: int) -> None:
    """Fail unless ``report`` is well-formed in ``fmt`` (and, for nagios, agrees with the code)."""
    assert report, f"{fmt}: empty report"
    if fmt == "json":
        json.loads(report)
    elif fmt == "junit":
        ET.fromstring(report)
    elif fmt == "nagios":
        lines = report.split("\n")
        status = _NAGIOS_STATUS.match(lines[0])
        assert status is not None, lines[0]
        assert _NAGIOS_EXIT[status.group(1)] == code, (code, lines[0])
        assert not any(_NAGIOS_STATUS.match(line) for line in lines[1:]), report
        assert not _RAW_CONTROL.search(report), report
    elif fmt == "prometheus":
        for line in report.rstrip("\n").split("\n"):
            if line.startswith(("# HELP ", "# TYPE ")):
                continue
            assert _PROMETHEUS_SAMPLE.fullmatch(line), line
    else:
        assert not _RAW_CONTROL.search(report), report


@pytest.mark.parametrize(
    "shown",
    [
        'Pw0rd+/"x<',  # as is
        'pw0rd+/"x<',
        'PW0RD+/"X<',
        "Pw0rd%2B%2F%22x%3C",  # URL-encoded
        "Pw0rd%2B/%22x%3C",
        "UHcwcmQrLyJ4PA",  # base64, unpadded
        'Pw0rd+/\\"x<',  # JSON
        "Pw0rd+/&quot;x&lt;",  # XML
    ],
)
def test_leak_check_finds_each_encoding(shown):
    # The checks above must be able to fail: each form of the password is found.
    with pytest.raises(AssertionError):
        _assert_no_leak(Outputs(0, f"report: {shown}.", ""), ['Pw0rd+/"x<'])


def test_leak_check_leaves_short_secrets_alone():
    _assert_no_leak(Outputs(0, "250 ok localhost", ""), ["250", "ok", "localhost"])


@pytest.mark.parametrize(
    ("fmt", "report", "code"),
    [
        ("json", '{"gateways": [}', 1),
        ("junit", "<testsuite><testcase></testsuite>", 1),
        ("nagios", "SMTPCHECK OK - fine\nSMTPCHECK CRITICAL - injected\n", 0),
        ("nagios", "SMTPCHECK OK - fine\n", 2),
        ("prometheus", 'smtpcheck_gateway_works{label="a\nb"} 1\n', 0),
        ("text", "gateway 1 'a\rb'\n", 0),
    ],
)
def test_readability_check_finds_a_broken_report(fmt, report, code):
    with pytest.raises((AssertionError, ValueError, ET.ParseError)):
        _assert_readable(fmt, report, code)


# --- Fixtures shared by every example --------------------------------------------------------


def _good_gateway(port: int | None = None) -> dict[str, Any]:
    params = dict(EXAMPLE_GATEWAY["params"])  # type: ignore[call-overload]
    params["mail.smtp.password"] = SMTP_PASSWORD
    if port is not None:
        params.update({"mail.smtp.host": "127.0.0.1", "mail.smtp.port": port})
        params["mail.smtp.ssl.port"] = port
    return {**EXAMPLE_GATEWAY, "id": GOOD_ID, "label": GOOD_LABEL, "params": params}


_GOOD = Raw(json.dumps(_good_gateway()))


@pytest.fixture(scope="module")
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses at once: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def panel(refusing_port: int) -> Iterator[PanelServer]:
    """The local panel API: session `API_HASH`, account ``dealer``, the good gateway listed."""
    server = PanelServer(gateways={"own": [_good_gateway(refusing_port)], "leasable": []})
    server.sessions[API_HASH] = {"email_gateways": ["read"]}
    server.add_account("dealer", PANEL_PASSWORD)
    with server.running():
        yield server


def _environment(password: str) -> dict[str, str]:
    env = {
        "NAVIXY_HASH": API_HASH,
        "NAVIXY_LOGIN": "",
        "NAVIXY_PASSWORD": PANEL_PASSWORD,
        SET_VARIABLE: SET_VALUE,
    }
    if "\0" not in password and not any("\ud800" <= c <= "\udfff" for c in password):
        env[PASSWORD_VARIABLE] = password  # else the variable stays unset: SC008
    return env


@contextmanager
def _workdirs() -> Iterator[tuple[Path, Path]]:
    """An input directory and an empty directory to run in, both new for each example."""
    with tempfile.TemporaryDirectory(prefix="smtpcheck-prop-") as top:
        inputs, run_dir = Path(top, "in"), Path(top, "run")
        inputs.mkdir()
        run_dir.mkdir()
        yield inputs, run_dir


def _write_fleet(fleet: Fleet, password: str, inputs: Path) -> list[str]:
    paths = []
    for name, node in fleet.files:
        path = inputs / name
        path.write_text(render(node, password), encoding="utf-8")
        paths.append(str(path))
    if fleet.garbage is not None:
        path = inputs / "c-not-json.json"
        path.write_bytes(fleet.garbage)
        paths.append(str(path))
    return paths


def _fleet_args(fleet: Fleet, password: str, inputs: Path, panel: PanelServer) -> list[str]:
    """Write the fleet out; return the sources to name (and have the panel serve its part)."""
    args = _write_fleet(fleet, password, inputs)
    panel.faults.clear()
    if fleet.api is not None:
        body = render(fleet.api, password).encode()
        panel.faults.append(raw(200, body, ("Content-Type", "application/json")))
        args += ["--api-url", panel.url, "--api-timeout", "5"]
    return args


def _written(fleet: Fleet) -> str:
    texts = [text for node in fleet.nodes() for text in strings_of(node)]
    if fleet.garbage is not None:
        texts.append(fleet.garbage.decode("utf-8", "replace"))
    return "\0".join([*texts, SET_VALUE])


def _gateways_named(report: dict[str, Any], label: str) -> list[dict[str, Any]]:
    return [g for g in report["gateways"] if g["label"] == label and g["id"] == GOOD_ID]


@cache
def _good_alone() -> tuple[str, frozenset[str]]:
    """Return the status and finding codes of the good gateway checked on its own."""
    with _workdirs() as (inputs, run_dir):
        path = inputs / "good.json"
        path.write_text(render(_GOOD, ""), encoding="utf-8")
        out = run_cli(["validate", "--format", "json", str(path)], cwd=run_dir, env={})
    (gateway,) = json.loads(out.stdout)["gateways"]
    return gateway["status"], frozenset(f["code"] for f in gateway["findings"])


# --- 1. A hostile gateway beside a good one --------------------------------------------------


@_settings(150)
@given(fleet=fleets(_GOOD), password=passwords())
def test_hostile_gateway_is_reported_and_the_good_one_still_is(panel, fleet, password):
    with _workdirs() as (inputs, run_dir):
        sources = _fleet_args(fleet, password, inputs, panel)
        out = run_cli(
            ["validate", "--format", "json", *sources], cwd=run_dir, env=_environment(password)
        )
    note(f"exit {out.exit_code}\nstderr: {out.stderr}")
    event(f"exit {out.exit_code}")
    _assert_no_abort(out)
    # A malformed gateway or file is a finding (exit 1), never "the run could not happen" (2).
    assert out.exit_code in (0, 1), out
    report = json.loads(out.stdout)
    good = _gateways_named(report, GOOD_LABEL)
    assert good, f"the good gateway is missing from the report: {out.stdout}"
    status, codes = _good_alone()
    for gateway in good:
        found = {f["code"] for f in gateway["findings"]}
        assert found - {"SC005"} == codes, gateway  # SC005: the hostile id may be the same
        assert gateway["status"] == status or "SC005" in found, gateway
    every = [*report["findings"], *(f for g in report["gateways"] for f in g["findings"])]
    assert "SC901" not in {f["code"] for f in every}
    assert report["summary"]["gateways"] == len(report["gateways"])


# --- 2. Every format, and no password in any of them -----------------------------------------


@_settings(60)
@given(
    fleet=fleets(_GOOD),
    password=passwords(),
    verbose=st.booleans(),
    to_file=st.booleans(),
)
def test_hostile_fleet_in_every_format_keeps_the_password(panel, fleet, password, verbose, to_file):
    assume(not _strong(password) or not _collides(password, _written(fleet)))
    extra = [*(["-v"] if verbose else []), *(["-o", "report.out"] if to_file else [])]
    for fmt in FORMATS:

        def run(secret: str, fmt: str = fmt) -> Outputs:
            with _workdirs() as (inputs, run_dir):
                sources = _fleet_args(fleet, secret, inputs, panel)
                argv = ["validate", "--format", fmt, *extra, *sources]
                return run_cli(argv, cwd=run_dir, env=_environment(secret))

        out = run(password)
        note(f"{fmt}: exit {out.exit_code}\nstderr: {out.stderr}")
        _assert_no_abort(out)
        assert out.exit_code in ((0, 1, 2) if fmt == "nagios" else (0, 1)), out
        rendered = out.files["report.out"].decode() if to_file else out.stdout
        _assert_readable(fmt, rendered, out.exit_code)
        secrets = [*_passwords_to_find(password, run), SMTP_PASSWORD, API_HASH, PANEL_PASSWORD]
        _assert_no_leak(out, secrets)


# --- 3. Hostile command lines ----------------------------------------------------------------


def _api_urls(panel_url: str, refusing: int) -> tuple[list[str], list[str]]:
    """Return base URLs that work and ones that must be refused: loopback only, and never a
    port that something else on this machine may listen on."""
    base = panel_url.removesuffix("/v2")
    valid = [panel_url, panel_url + "/", panel_url + "/panel/", f"http://127.0.0.1:{refusing}/v2"]
    hostile = [
        base,
        "http://[::1]:0/v2",
        "http://localhost:0/v2",
        "http://127.0.0.1:0/v2",
        "http://127.0.0.1:65536/v2",
        "http://127.0.0.1:abc/v2",
        "http://127.0.0.1:-1/v2",
        "http://127.0.0.1:/v2",
        f"ftp://127.0.0.1:{refusing}/",
        f"http://user:pw@127.0.0.1:{refusing}/v2",
        f"{panel_url}?hash={API_HASH}",
        f"{panel_url}#fragment",
        f"127.0.0.1:{refusing}",
        "http://",
        "http://[::1",
        "",
        " ",
        f"{panel_url}/\r\nX-Injected: 1",
        f"{panel_url}/\ud800",
        f"{panel_url}/%00",
        f"{panel_url}/{'x' * 10_000}",
    ]
    return valid, hostile


class _Options:
    """The option groups of one command line, drawn one by one; a group stays together.

    Most values are valid, so that the run gets far; a few (``budget``) come from the hostile
    mix: fixed awkward values for the option, or any hostile text.
    """

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.groups: list[list[str]] = []
        self.budget = draw(st.integers(0, 3), label="hostile options")

    def add(self, *args: str) -> None:
        self.groups.append(list(args))

    def value(self, valid: Sequence[str], hostile: Sequence[str] = ()) -> str:
        if self.budget and self.draw(st.integers(0, 3)) == 0:
            self.budget -= 1
            text = hostile_text()
            return self.draw(st.sampled_from(hostile) | text if hostile else text)
        return self.draw(st.sampled_from(valid))

    def maybe(
        self,
        option: str,
        valid: Sequence[str],
        hostile: Sequence[str] = (),
        *,
        most: int = 1,
    ) -> None:
        for _ in range(self.draw(st.integers(0, most))):
            self.add(option, self.value(valid, hostile))


_BAD_NUMBERS = [
    "", " ", "nan", "NaN", "inf", "-inf", "Infinity", "-1", "0", "-0", "0.0", "1e309", "1e-400",
    "9" * 5000, "-" + "9" * 5000, "0x10", "\u0663", "1,5", "\r\n", "1\n", "\ud800", "\x00",
    "1e-300", "65536", "2147483648", "9" * 4000, "1" * 4301,
]  # fmt: skip
_SMALL_SECONDS = ["0.05", "0.1", "1e-3", "0.2"]
_ADDRESSES = ["ops@dealer.test", "a@localhost", "\u00fc@\u00fc.test", "a@[127.0.0.1]"]
_BAD_ADDRESSES = [
    "", " ", "@", "a@", "@b.test", "a@b", "a" * 300 + "@x.test", "ops@dealer.test\r\nRSET",
    "ops@dealer.test\n", "\udcffops@dealer.test", "<a@b.test>", '"q uoted"@x.test',
    "a@b.test,c@d.test", "[email\u00a0protected]", "a\x00@x.test",
]  # fmt: skip
_SELECTORS = ["SC101", "SC1", "SC4", "missing-host", "SC1,SC2", " SC101 "]
_BAD_SELECTORS = ["SC", "sc101", "SC9999", "SC0", "", ",", ",,,", "SC1\nSC2", "S", "*", "SC1*"]


@st.composite
def _command_lines(draw: st.DrawFn, *, config: str, refusing: int, panel_url: str) -> list[str]:
    """A `validate` or `check` command line: options present or not, a few values hostile."""
    command = draw(st.sampled_from(["validate", "check"]))
    options = _Options(draw)
    options.maybe("--format", FORMATS, ["", "yaml", "JSON", "nagios\n"])
    options.maybe("--select", _SELECTORS, _BAD_SELECTORS, most=2)
    options.maybe("--ignore", _SELECTORS, _BAD_SELECTORS, most=2)
    options.maybe("--fail-on", ["error", "warning"], ["ERROR", "info", ""])
    options.maybe("--gateway", [str(GOOD_ID)], ["7", "-1", "9" * 5000, "abc", "\u0663"], most=2)
    options.maybe("-o", ["report.out", "-"], ["", ".", config, "no/dir/report.out"])
    for flag in ("--no-color", "-v"):
        if draw(st.booleans()):
            options.add(flag)
    _api_options(options, refusing=refusing, panel_url=panel_url)
    if command == "check":
        _check_options(options, config=config, refusing=refusing)
    groups = draw(st.permutations(options.groups))
    sources = [[config], ["-"], [config, config]]
    if options.value(["ok"], ["bad"]) == "ok":
        chosen = draw(st.sampled_from(sources))
    else:
        chosen = draw(
            st.sampled_from([[], [config + ".missing"], [str(Path(config).parent)]])
            | st.lists(hostile_text(), min_size=1, max_size=1)
        )
    return [command, *(part for group in groups for part in group), *chosen]


def _api_options(options: _Options, *, refusing: int, panel_url: str) -> None:
    draw = options.draw
    if draw(st.integers(0, 2)) == 0:
        valid, hostile = _api_urls(panel_url, refusing)
        options.add("--api-url", options.value(valid, hostile))
        # A refused or unanswered API is retried: small timeouts keep each example short.
        options.add("--api-timeout", options.value(_SMALL_SECONDS, ["nan", "", "-1", "inf"]))
        if draw(st.integers(0, 9)) == 0:  # a clash with --api-url: refused before any traffic
            options.add("--region", options.value(["eu", "us"], ["EU", "xx", "eu\n"]))
        login = options.value([""], ["dealer", "nobody"])  # a login the panel knows, or not
        if login:
            options.add("--login", login)
        options.maybe("--hash", [API_HASH], ["0" * 32, "f" * 31, "", "Hash0f" * 6, "x" * 10_000])
    else:
        options.maybe("--api-timeout", ["20"], _BAD_NUMBERS)
        # Without --api-url these are refused; a real --region would look a real name up.
        if options.budget and draw(st.integers(0, 9)) == 0:
            region = options.value(["EU"], ["xx", "eu\n", ""])
            options.add("--region", "xx" if region in ("eu", "us", "me") else region)


def _check_options(options: _Options, *, config: str, refusing: int) -> None:
    draw = options.draw
    # --ehlo always: without it the run looks the machine's name up (a DNS query).
    options.add("--ehlo", options.value(["client.test"], ["", " ", "a b", "[127.0.0.1]", "-"]))
    options.maybe("--timeout", ["0.5", "2", "1e-300", "1e300"], _BAD_NUMBERS)
    options.maybe("--per-host", ["1", "8", "9" * 4000], _BAD_NUMBERS)
    options.maybe("--concurrency", ["1", "256", "9" * 4000], _BAD_NUMBERS)
    options.maybe("--cert-warn-days", ["0", "21", "9" * 4000], _BAD_NUMBERS)
    options.maybe("--send-to", _ADDRESSES, _BAD_ADDRESSES)
    options.maybe("--from", _ADDRESSES, _BAD_ADDRESSES)
    options.maybe("--ca-file", [config], ["", "no-such-ca.pem", "."])
    options.maybe("--javamail", ["angus", "legacy"], ["ANGUS", ""])
    options.maybe("--credentials", ["connect", "authenticator"], ["", "both"])
    options.maybe("--transport", ["send", "session"], ["", "smtps"])
    suggest = draw(st.integers(0, 3))
    if suggest:
        # Only the refusing port may be tried: any other could be some local service.
        options.add("--suggest")
        options.add("--try-port", str(refusing))
        not_ports = ["0", "65536", "-1", "abc", "", "1.5", "99999999", "\ud800"]
        options.maybe("--try-port", [str(refusing)], not_ports)
        if suggest == 3:
            options.add("--write-fixed", options.value(["fixed"], ["", ".", config]))


def _usage_error_lines(stderr: str) -> list[str]:
    """Return what a usage error says beyond click's usage lines and our warnings."""
    boiler = ("Usage: ", "Try '", "smtpcheck: warning: ")
    return [line for line in stderr.split("\n") if line.strip() and not line.startswith(boiler)]


def _values_of(argv: Sequence[str], option: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == option]


def _given_hashes(argv: Sequence[str]) -> list[str]:
    """Return each --hash value that is a secret no output may show, and said nowhere else."""
    secrets = []
    for value in _values_of(argv, "--hash"):
        elsewhere = [a for a in argv if a != value]
        if _strong(value) and not _collides(value, "\0".join(elsewhere)):
            secrets.append(value)
    return secrets


@_settings(200)
@given(data=st.data())
def test_hostile_command_line_is_a_report_or_a_one_line_usage_error(panel, refusing_port, data):
    with _workdirs() as (inputs, run_dir):
        config = inputs / "gateways.json"
        config.write_text(json.dumps([_good_gateway(refusing_port)]), encoding="utf-8")
        argv = data.draw(
            _command_lines(config=str(config), refusing=refusing_port, panel_url=panel.url),
            label="argv",
        )
        panel.faults.clear()
        stdin = json.dumps(_good_gateway(refusing_port)).encode()
        out = run_cli(argv, cwd=run_dir, env=_environment(""), stdin=stdin)
    note(f"exit {out.exit_code}\nstdout: {out.stdout[:2000]}\nstderr: {out.stderr[:2000]}")
    event(f"{argv[0]} exit {out.exit_code}")
    _assert_no_abort(out, echoed=argv)
    formats = _values_of(argv, "--format")
    nagios = bool(formats) and formats[-1] == "nagios"  # click keeps the last one given
    assert out.exit_code in ((0, 1, 2, 3) if nagios else (0, 1, 2)), out
    # Under nagios a status line may go to -o's file rather than to standard output.
    rendered = [out.stdout, *(raw.decode("utf-8", "replace") for raw in out.files.values())]
    if out.exit_code in (0, 1) or (nagios and any(_NAGIOS_STATUS.match(t) for t in rendered)):
        assert out.stdout or out.files, out
    else:
        # The run could not happen: one line says why. Under nagios that line is the status
        # line on standard output, so this branch is never reached (DESIGN §11).
        assert not nagios, out
        said = _usage_error_lines(out.stderr)
        assert len(said) == 1 and said[0].startswith("smtpcheck: error: "), out
    _assert_no_leak(out, [SMTP_PASSWORD, API_HASH, PANEL_PASSWORD, *_given_hashes(argv)])


def test_nagios_refused_option_is_unknown(tmp_path):
    config = tmp_path / "gateways.json"
    config.write_text(json.dumps([_good_gateway()]), encoding="utf-8")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    out = run_cli(
        ["validate", "--format", "nagios", "--api-timeout", "nan", str(config)],
        cwd=run_dir,
        env={},
    )
    assert out.exit_code == 3 and out.stdout.startswith("SMTPCHECK UNKNOWN - "), out


@pytest.mark.parametrize(
    "args", [["validate"], ["check", "--ehlo", "client.test"]], ids=["validate", "check"]
)
def test_source_name_too_long_is_a_one_line_error(tmp_path, args):
    out = run_cli([*args, "a" * 256], cwd=tmp_path, env={})
    assert not _ABORT.search(out.stderr), out
    assert out.exit_code == 2 and len(_usage_error_lines(out.stderr)) == 1, out


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "no\nsuch.json"],
        ["validate", "-o", "no\nsuch/report.out", "{config}"],
        ["check", "--write-fixed", "no\nsuch\x00", "{config}"],
    ],
    ids=["source", "output", "write-fixed"],
)
def test_path_with_a_line_break_is_a_one_line_error(tmp_path, args):
    config = tmp_path / "gateways.json"
    config.write_text(json.dumps([_good_gateway()]), encoding="utf-8")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    argv = [a.replace("{config}", str(config)) for a in args]
    out = run_cli(argv, cwd=run_dir, env={})
    assert out.exit_code == 2 and len(_usage_error_lines(out.stderr)) == 1, out


# --- 4. Hostile params through a live check --------------------------------------------------


@st.composite
def _probed_gateways(draw: st.DrawFn, *, port: int) -> Obj:
    """A gateway whose every param but host and port is hostile, aimed at a refusing port."""
    params = draw(params_objects())
    # Where it connects stays fixed: a hostile port could reach some service on this machine.
    kept = tuple(
        (k, v) for k, v in params.items if "host" not in k.lower() and "port" not in k.lower()
    )
    fixed: tuple[tuple[str, Node], ...] = (
        ("mail.smtp.host", Text("127.0.0.1")),
        ("mail.smtp.port", Raw(str(port))),
        ("mail.smtp.ssl.port", Raw(str(port))),
    )
    return Obj(
        (
            ("id", Raw("1")),
            ("leasable", Raw("false")),
            ("label", Text(draw(hostile_text()))),
            ("provider", Text("smtp")),
            ("params", Obj((*kept, *fixed))),
        )
    )


@_settings(40)
@given(data=st.data(), password=passwords(), fmt=st.sampled_from(FORMATS))
def test_hostile_params_through_a_live_check(refusing_port, data, password, fmt):
    gateway = data.draw(_probed_gateways(port=refusing_port), label="gateway")
    good = Raw(json.dumps(_good_gateway(refusing_port)))
    assume(
        not _strong(password)
        or not _collides(password, "\0".join([*strings_of(gateway), SET_VALUE]))
    )
    sending = data.draw(st.sampled_from([[], ["--send-to", "ops@dealer.test"]]), label="send")

    def run(secret: str) -> Outputs:
        with _workdirs() as (inputs, run_dir):
            path = inputs / "fleet.json"
            document = "[" + render(gateway, secret) + ", " + render(good, secret) + "]"
            path.write_text(document, encoding="utf-8")
            argv = ["check", "--ehlo", "client.test", "--timeout", "2", "-v", "--format", fmt]
            return run_cli([*argv, *sending, str(path)], cwd=run_dir, env=_environment(secret))

    out = run(password)
    note(f"exit {out.exit_code}\nstderr: {out.stderr}")
    _assert_no_abort(out)
    assert out.exit_code in ((0, 1, 2) if fmt == "nagios" else (0, 1)), out
    _assert_readable(fmt, out.stdout, out.exit_code)
    secrets = [*_passwords_to_find(password, run), SMTP_PASSWORD, API_HASH, PANEL_PASSWORD]
    _assert_no_leak(out, secrets)
