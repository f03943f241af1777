"""Ask the real JavaMail what it does with a gateway config: the oracle harness's Python side.

`run_javamail` writes one case (a gateway's ``params`` with their JSON types, and how to connect)
to a private file, runs ``tests/oracle/JavaMailOracle.java`` (com.sun.mail jakarta.mail 2.0.0,
Debian's ``libjakarta-mail-java``) on it in a JVM, and returns what happened as a `JavaOutcome`:
the result JavaMail reported, plus the host, port and TLS/AUTH steps read back from its debug
trace. The JVM is started with ``asyncio.create_subprocess_exec`` so that servers running in the
test's own event loop can answer it.

The JVM is a separate process, out of reach of the suite's network guard, so the harness keeps
it on this machine itself: a hosts file that names loopback only (``jdk.net.hosts.file``: no DNS
at all), a fixed EHLO name, and a refusal of any case naming a host that is not loopback.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn, cast

from smtpcheck.redaction import scrub, secret_forms
from tests.support import gate

__all__ = [
    "CAP_MS",
    "HARNESS_SOURCE",
    "JAVAMAIL_JARS",
    "JVM_USER_NAME",
    "LOOPBACK_NAMES",
    "Harness",
    "JavaOutcome",
    "LoopbackRefused",
    "OracleError",
    "available",
    "build_harness",
    "encode_case",
    "parse_output",
    "refuse",
    "run_javamail",
]

JAVAMAIL_JARS = (
    Path("/usr/share/java/jakarta-mail-2.0.0.jar"),
    Path("/usr/share/java/jakarta-activation-2.0.0.jar"),
)
HARNESS_SOURCE = Path(__file__).resolve().parent.parent / "oracle" / "JavaMailOracle.java"
_MAIN_CLASS = "JavaMailOracle"

#: How long the harness lets connect/send run before it reports ``hung`` (ms).
CAP_MS = 8000
# On top of the cap: JVM start-up (about 0.3 s idle, several seconds on a loaded CI machine).
_JVM_MARGIN_S = 30.0

#: The names the JVM can resolve, all to loopback; every other name is unknown to it.
#: ``mail.test`` is one of the names on the test servers' good certificate.
LOOPBACK_NAMES = {"localhost": ("127.0.0.1", "::1"), "mail.test": ("127.0.0.1",)}

#: ``user.name`` in the JVM: JavaMail logs in as this user when a case gives none.
JVM_USER_NAME = "jvm-os-user"

# The truststore only holds a public test CA; its password protects nothing.
_TRUSTSTORE_PASSWORD = "oracle-truststore"

# Java is faster to start without its optimising compiler, and the harness runs for a second.
_JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


class OracleError(RuntimeError):
    """The harness did not produce a result (bad case, JVM crash, JVM past its deadline)."""


class LoopbackRefused(OracleError):
    """The case names a host beyond loopback; the harness refused to run it."""


# --- availability ----------------------------------------------------------------------------


def available() -> str | None:
    """None when the oracle can run here, else why not."""
    for tool in ("java", "javac", "keytool"):
        if shutil.which(tool) is None:
            return f"{tool} not on PATH (apt-get install default-jdk-headless)"
    for jar in JAVAMAIL_JARS:
        if not jar.is_file():
            return f"{jar} missing (apt-get install libjakarta-mail-java)"
    if not HARNESS_SOURCE.is_file():
        return f"{HARNESS_SOURCE} missing"
    return None


def refuse(reason: str, env: Mapping[str, str] = os.environ) -> NoReturn:
    """Skip with ``reason``, or fail under ``CI=true`` (see `tests.support.gate.refuse`)."""
    gate.refuse(f"real JavaMail unavailable: {reason}", env)


# --- the compiled harness --------------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    """The compiled harness in ``directory``, with its hosts file and truststores."""

    directory: Path
    _truststores: dict[str, Path] = field(default_factory=dict, compare=False, repr=False)

    @property
    def classpath(self) -> str:
        return os.pathsep.join([*(str(jar) for jar in JAVAMAIL_JARS), str(self.directory)])

    @property
    def hosts_file(self) -> Path:
        return self.directory / "hosts"

    async def truststore(self, ca_file: str | os.PathLike[str]) -> Path:
        """A PKCS12 truststore holding the CA(s) of the PEM ``ca_file``, made once per content."""
        pem = await asyncio.to_thread(Path(ca_file).read_bytes)
        digest = hashlib.sha256(pem).hexdigest()[:16]
        if digest not in self._truststores:
            store = self.directory / f"truststore-{digest}.p12"
            await asyncio.to_thread(_import_ca, Path(ca_file), store)
            self._truststores[digest] = store
        return self._truststores[digest]


def _run_tool(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise OracleError(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")


def _import_ca(ca_file: Path, store: Path) -> None:
    # Into a name of its own, then renamed: two cases started together may both make the store,
    # and keytool refuses to import into a store that already holds the alias.
    partial = store.with_name(f"{store.stem}-{os.getpid()}-{threading.get_ident()}.p12")
    partial.unlink(missing_ok=True)
    # keytool imports one certificate per call; the test CA files hold one.
    _run_tool(
        "keytool", "-importcert", "-noprompt", "-storetype", "PKCS12",
        "-keystore", str(partial), "-storepass", _TRUSTSTORE_PASSWORD,
        "-alias", "ca", "-file", str(ca_file),
    )  # fmt: skip
    partial.replace(store)


def build_harness(directory: str | os.PathLike[str]) -> Harness:
    """Compile the harness into ``directory`` (blocking: call it outside an event loop).

    Raises:
        OracleError: javac failed.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    classpath = os.pathsep.join(str(jar) for jar in JAVAMAIL_JARS)
    # -Xlint:-path: the Debian jar's manifest names a Class-Path jar that does not exist.
    _run_tool("javac", "-Xlint:-path", "-cp", classpath, "-d", str(target), str(HARNESS_SOURCE))
    lines = [f"{ip} {name}" for name, ips in LOOPBACK_NAMES.items() for ip in ips]
    (target / "hosts").write_text("\n".join(lines) + "\n", encoding="ascii")
    return Harness(target)


_default_harness: Harness | None = None


async def _default() -> Harness:
    global _default_harness
    if _default_harness is None:
        # Compiled once per process (two first calls at once may both compile: harmless).
        directory = tempfile.mkdtemp(prefix="javamail-oracle-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        _default_harness = await asyncio.to_thread(build_harness, directory)
    return _default_harness


# --- the case file ---------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Plain ASCII, one line: backslash escapes, anything else as UTF-16 ``\\uXXXX`` units."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == "\t":
            out.append("\\t")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code > 0xFFFF:  # Java strings are UTF-16: a surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


_INT = (-(2**31), 2**31 - 1)
_LONG = (-(2**63), 2**63 - 1)


def _typed(value: object) -> tuple[str, str]:
    """The Java type a JSON value of this Python type is read as (Jackson's untyped mapping)."""
    if value is None:
        return "null", ""
    if isinstance(value, bool):  # before int: bool is an int
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        if _INT[0] <= value <= _INT[1]:
            return "int", str(value)
        if _LONG[0] <= value <= _LONG[1]:
            return "long", str(value)
        return "bigint", str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is no JSON number")
        return "double", repr(value)
    if isinstance(value, str):
        return "str", value
    raise TypeError(f"the oracle takes JSON scalars only, not {type(value).__name__}")


Credentials = Literal["connect", "authenticator"]
TransportChoice = Literal["send", "session"]
Outcome = Literal["ok", "failed", "hung"]


def encode_case(
    params: Mapping[str, object],
    *,
    credentials: Credentials = "connect",
    transport: TransportChoice = "send",
    send_from: str | None = None,
    send_to: str | None = None,
    cap_ms: int = CAP_MS,
) -> str:
    """The case file's text (see JavaMailOracle.java): one param or option a line."""
    if credentials not in ("connect", "authenticator"):
        raise ValueError(f"credentials={credentials!r}")
    if transport not in ("send", "session"):
        raise ValueError(f"transport={transport!r}")
    lines = []
    for key, value in params.items():
        kind, text = _typed(value)
        lines.append(f"param\t{_escape(key)}\t{kind}\t{_escape(text)}")
    options: dict[str, str | None] = {
        "credentials": credentials,
        "transport": transport,
        "send_from": send_from,
        "send_to": send_to,
        "cap_ms": str(int(cap_ms)),
    }
    lines += [f"option\t{k}\t{_escape(v)}" for k, v in options.items() if v is not None]
    return "\n".join(lines) + "\n"


# --- the outcome -----------------------------------------------------------------------------

# The trace lines of com.sun.mail 2.0.0 that are parsed (copied from real runs):
#   DEBUG SMTP: trying to connect to host "127.0.0.1", port 2525, isSSL false
#   DEBUG SMTP: connected to host "127.0.0.1", port: 2525
#   STARTTLS / 220 Ready to start TLS / EHLO client.test
#   DEBUG SMTP: Attempt to authenticate using mechanisms: LOGIN PLAIN DIGEST-MD5 NTLM XOAUTH2
#   DEBUG SMTP: Using mechanism LOGIN
#   DEBUG SMTP: AUTH LOGIN succeeded      (or: DEBUG SMTP: AUTH LOGIN failed)
_TRYING = re.compile(
    r'^DEBUG SMTP: trying to connect to host "(?P<host>.*)", port (?P<port>-?\d+), '
    r"isSSL (?P<ssl>true|false)$"
)
_CONNECTED = re.compile(r'^DEBUG SMTP: connected to host "')
_ATTEMPT = re.compile(r"^DEBUG SMTP: Attempt to authenticate using mechanisms:")
_MECHANISM = re.compile(r"^DEBUG SMTP: Using mechanism (?P<mech>\S+)")
_AUTH_RESULT = re.compile(r"^DEBUG SMTP: AUTH (?P<mech>\S+) (?P<result>succeeded|failed)$")
_COMMAND = re.compile(r"^(EHLO|HELO|STARTTLS|AUTH|MAIL FROM:|RCPT TO:|DATA|BDAT|RSET|NOOP|QUIT)")
_REPLY = re.compile(r"^\d{3}[ -]")


@dataclass(frozen=True)
class JavaOutcome:
    """What JavaMail did with one case."""

    outcome: Outcome
    exception: str  # class name of the exception thrown, "" when ok or hung
    message: str  # its getMessage(), stripped
    cause: str  # the chain below it, "Class: message <- Class: message", "" when none
    root_cause: str  # the innermost cause, "" when none
    elapsed_ms: int  # connect (and send) only, not JVM start-up
    stage: str  # where it ended: session, transport, connect, send, done
    transport: str  # the Transport class JavaMail chose, "" when it chose none
    host: str | None  # from "trying to connect": what JavaMail really used
    port: int | None
    ssl_from_start: bool | None  # implicit TLS (isSSL in that line)
    connected: bool  # "connected to host": logged once the greeting is read (TLS done if implicit)
    starttls_attempted: bool  # the STARTTLS command was sent
    starttls: bool  # ... answered 220 and the TLS handshake done (EHLO followed on it)
    tls: bool | None  # SMTPTransport.isSSL() after connect: TLS either way; None: no connect
    auth_attempted: bool
    mechanism: str | None
    authenticated: bool
    sent: bool  # the message was accepted (send_from/send_to given)
    commands: tuple[str, ...]  # the client's command lines, in order (no message text)
    extensions: tuple[str, ...]  # those the harness asks about that the server offered
    auth_mechanisms: tuple[str, ...]  # the server's AUTH parameter
    last_response: str
    javamail_version: str
    trace: tuple[str, ...]  # every debug line, password-free
    stderr: str

    @property
    def works(self) -> bool:
        return self.outcome == "ok"

    @property
    def hung(self) -> bool:
        return self.outcome == "hung"

    def explain(self) -> str:
        """A few lines for an assertion message: the outcome, then the whole trace."""
        head = f"JavaMail {self.outcome}"
        if self.exception:
            head += f": {self.exception}: {self.message}"
        if self.cause:
            head += f" (cause: {self.cause})"
        return "\n".join([head, *self.trace, *([self.stderr] if self.stderr else [])])


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), text)


def _bool(text: str | None) -> bool | None:
    return None if text is None else text == "true"


def parse_output(stdout: str, stderr: str = "") -> JavaOutcome:
    """Read the harness's ``key<TAB>value`` lines and its debug trace into a `JavaOutcome`.

    Raises:
        OracleError: the output has no outcome.
    """
    fields: dict[str, str] = {}
    trace: list[str] = []
    # split("\n"), not splitlines(): a value may hold \x0b, \x1c or \u2028, which are no lines.
    for line in stdout.split("\n"):
        key, _, value = line.partition("\t")
        if key == "debug":
            trace.append(_unescape(value))
        elif key:
            fields[key] = _unescape(value)
    outcome = fields.get("outcome", "")
    if outcome not in ("ok", "failed", "hung"):
        raise OracleError(f"harness output has no outcome:\n{stdout}\n{stderr}")

    host = port = ssl_from_start = None
    connected = starttls_attempted = starttls = auth_attempted = authenticated = False
    mechanism: str | None = None
    commands: list[str] = []
    in_data = False
    for index, line in enumerate(trace):
        if in_data:
            in_data = line != "."  # the message text is no command
            continue
        if (match := _TRYING.match(line)) and host is None:
            host, port, ssl_from_start = match["host"], int(match["port"]), match["ssl"] == "true"
        elif _CONNECTED.match(line):
            connected = True
        elif _ATTEMPT.match(line):
            auth_attempted = True
        elif match := _MECHANISM.match(line):
            mechanism = match["mech"]
        elif match := _AUTH_RESULT.match(line):
            mechanism = match["mech"]
            authenticated = match["result"] == "succeeded"
        elif _COMMAND.match(line):
            commands.append(line)
            if line == "STARTTLS":
                starttls_attempted = True
                rest = trace[index + 1 :]
                # JavaMail says EHLO again only once the handshake after "220" is done.
                starttls = (
                    bool(rest)
                    and rest[0].startswith("220")
                    and any(r.startswith(("EHLO ", "HELO ")) for r in rest)
                )
            elif line == "DATA" and index + 1 < len(trace) and trace[index + 1].startswith("354"):
                in_data = True

    def words(key: str) -> tuple[str, ...]:
        return tuple(fields.get(key, "").split())

    return JavaOutcome(
        outcome=cast(Outcome, outcome),
        exception=fields.get("exception", ""),
        message=fields.get("message", "").strip(),
        cause=fields.get("cause", ""),
        root_cause=fields.get("root_cause", ""),
        elapsed_ms=int(fields.get("elapsed_ms", "0")),
        stage=fields.get("stage", ""),
        transport=fields.get("transport", ""),
        host=host,
        port=port,
        ssl_from_start=ssl_from_start,
        connected=connected,
        starttls_attempted=starttls_attempted,
        starttls=starttls,
        tls=_bool(fields.get("ssl")),
        auth_attempted=auth_attempted,
        mechanism=mechanism,
        authenticated=authenticated,
        sent=fields.get("sent") == "true",
        commands=tuple(commands),
        extensions=words("extensions"),
        auth_mechanisms=words("auth_mechanisms"),
        last_response=fields.get("last_response", ""),
        javamail_version=fields.get("javamail_version", ""),
        trace=tuple(trace),
        stderr=stderr.strip(),
    )


# --- running one case ------------------------------------------------------------------------


def _secrets(params: Mapping[str, object]) -> list[str]:
    """The password in every form a trace with mail.debug.auth=true would show it in."""
    user = params.get("mail.smtp.user")
    found: list[str] = []
    for key in ("mail.smtp.password", "mail.smtps.password"):
        password = params.get(key)
        if isinstance(password, str):
            found += secret_forms(user if isinstance(user, str) else None, password)
    return found


async def run_javamail(
    params: Mapping[str, object],
    *,
    credentials: Credentials = "connect",
    transport: TransportChoice = "send",
    send_from: str | None = None,
    send_to: str | None = None,
    cap_ms: int = CAP_MS,
    truststore: str | os.PathLike[str] | None = None,
    harness: Harness | None = None,
) -> JavaOutcome:
    """Run JavaMail on one gateway's ``params`` (JSON-typed values) and say what it did.

    ``credentials``: ``connect`` calls ``transport.connect(user, password)``, ``authenticator``
    gives them to the Session's Authenticator and calls ``connect()``. ``transport``: ``send``
    takes the transport ``Transport.send`` would (by address type: always SMTP), ``session``
    takes ``session.getTransport()`` (follows ``mail.transport.protocol``). With ``send_from``
    and ``send_to`` a short message is sent after connecting. Past ``cap_ms`` the outcome is
    ``hung``. ``truststore``: a PEM CA file the JVM trusts (else the JDK's own CAs).
    ``harness``: a compiled harness (by default one compiled on first use).

    Raises:
        LoopbackRefused: the params name a host that is not loopback.
        OracleError: the harness gave no result.
    """
    harness = harness or await _default()
    flags = [*_JVM_FLAGS, f"-Djdk.net.hosts.file={harness.hosts_file}"]
    flags.append(f"-Duser.name={JVM_USER_NAME}")
    if truststore is not None:
        store = await harness.truststore(truststore)
        flags += [
            f"-Djavax.net.ssl.trustStore={store}",
            f"-Djavax.net.ssl.trustStorePassword={_TRUSTSTORE_PASSWORD}",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
        ]
    text = encode_case(
        params,
        credentials=credentials,
        transport=transport,
        send_from=send_from,
        send_to=send_to,
        cap_ms=cap_ms,
    )
    secrets = _secrets(params)
    # The case holds the password: a 0700 directory, a 0600 file, gone after the run.
    private = Path(tempfile.mkdtemp(prefix="javamail-case-"))
    try:
        case_file = private / "case.tsv"
        fd = os.open(case_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        # A clean environment: JAVA_TOOL_OPTIONS and the like would change the JVM and its stderr.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        process = await asyncio.create_subprocess_exec(
            "java", *flags, "-cp", harness.classpath, _MAIN_CLASS, str(case_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(
                process.communicate(), timeout=cap_ms / 1000 + _JVM_MARGIN_S
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise OracleError(f"the JVM ran past {cap_ms} ms + {_JVM_MARGIN_S} s; killed") from None
    finally:
        shutil.rmtree(private, ignore_errors=True)
    stdout = scrub(out.decode("utf-8", "replace"), secrets)
    stderr = scrub(err.decode("utf-8", "replace"), secrets)
    if process.returncode == 3:
        raise LoopbackRefused(stderr.strip())
    if process.returncode != 0:
        raise OracleError(f"harness exited {process.returncode}: {stderr.strip()}\n{stdout}")
    return parse_output(stdout, stderr)
