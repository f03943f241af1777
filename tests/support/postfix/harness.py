"""Start and stop a private Postfix + Dovecot SASL instance on loopback, all inside one directory.

Root only. Everything (configs, queue, certificates, logs, the Maildir) lives under the given
directory, ports are picked free at start, and every name is derived from the directory, so two
instances (the test suite and a benchmark, say) run side by side. Used by tests/postfix/conftest.py
and by scripts/postfix-instance. ``start(root, imap=True)`` adds Dovecot IMAP and a Maildir that
Postfix fills for one address (mailbox.py), for tests/delivery.
"""

from __future__ import annotations

import dataclasses
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certs import CertPaths, make_certificates
from .config import (
    IMPLICIT_TLS,
    Ports,
    Users,
    render_dovecot_conf,
    render_main_cf,
    render_master_cf,
)
from .layout import Layout
from .mailbox import ImapAccess, configure_imap, imap_from_json

__all__ = [
    "HarnessError",
    "ImapAccess",
    "PostfixInstance",
    "add_users",
    "log_tail",
    "missing_requirements",
    "start",
    "stop",
]

HOST = "127.0.0.1"
USER = "tester@smtpcheck.test"
_SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_READY_TIMEOUT = 20.0  # seconds; start-up takes about 1 s here, this only bounds a broken start
_POLL = 0.02
_BIND_ATTEMPTS = 3
# Debian's dovecot-core has no IMAP server; dovecot-imapd ships this.
_IMAP_BINARY = "/usr/lib/dovecot/imap"


class HarnessError(RuntimeError):
    """The instance could not be started or stopped; the message carries the log tails."""


@dataclass(frozen=True, slots=True)
class PostfixInstance:
    """What a client needs to talk to a running instance."""

    root: Path
    host: str
    ports: Ports
    ca_pem: Path
    user: str
    password: str
    maildir: Path
    imap: ImapAccess | None = None

    def to_json(self) -> str:
        """Return the instance as JSON (paths as strings), as scripts/postfix-instance prints it."""
        data = dataclasses.asdict(self)
        data |= {k: str(v) for k, v in data.items() if isinstance(v, Path)}
        layout = Layout(self.root)
        data |= {"postfix_log": str(layout.postfix_log), "dovecot_log": str(layout.dovecot_log)}
        # default=str: the IMAP side's Path, one level down.
        return json.dumps(data, indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> PostfixInstance:
        """Read back what to_json wrote."""
        data: dict[str, Any] = json.loads(text)
        imap = data.get("imap")
        return cls(
            root=Path(data["root"]),
            host=data["host"],
            ports=Ports(**data["ports"]),
            ca_pem=Path(data["ca_pem"]),
            user=data["user"],
            password=data["password"],
            maildir=Path(data["maildir"]),
            imap=None if imap is None else imap_from_json(imap),
        )


def missing_requirements(*, imap: bool = False) -> str | None:
    """Return why an instance (with IMAP: ``imap``) cannot run here, or None when it can."""
    if imap and not Path(_IMAP_BINARY).is_file():
        return f"{_IMAP_BINARY} missing (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "needs root (Postfix's master and Dovecot start as root and drop privileges)"
    for program, package in (("postfix", "postfix"), ("dovecot", "dovecot-core")):
        if shutil.which(program, path=_SBIN_PATH) is None:
            return f"{program} not found in {_SBIN_PATH} (apt-get install {package})"
    for user in ("postfix", "dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"system user {user!r} missing (installed by the postfix/dovecot-core packages)"
    try:
        grp.getgrnam("postdrop")
    except KeyError:
        return "system group 'postdrop' missing (installed by the postfix package)"
    return None


def start(root: Path, *, imap: bool = False) -> PostfixInstance:
    """Configure and start an instance in the empty directory ``root``; return how to reach it.

    With ``imap``, Dovecot also serves IMAP, and mail for IMAP_ADDRESS is delivered to a
    Maildir it serves (see `ImapAccess`); everything else is the same.

    Raises:
        HarnessError: a daemon did not start or a port did not answer; the message carries
            the tail of both logs. Whatever had started is stopped again.
    """
    layout = _prepare(root)
    certs = make_certificates(layout.certs)
    ipv6 = _has_ipv6()
    # Random per instance: a test can only pass by using the fixture's value.
    password = secrets.token_urlsafe(12)
    _write_configs(layout, certs, password, ipv6=ipv6)
    access = configure_imap(layout, certs, HOST, ipv6=ipv6) if imap else None
    with ExitStack() as undo:
        undo.callback(_quiet_stop, layout)
        _start_dovecot(layout)
        if access is not None:
            _wait_for_imap(layout, access, certs)
        ports = _start_postfix_on_free_ports(layout, certs, ipv6=ipv6)
        undo.pop_all()
    instance = PostfixInstance(
        root=root,
        host=HOST,
        ports=ports,
        ca_pem=certs.ca,
        user=USER,
        password=password,
        maildir=layout.maildir,
        imap=access,
    )
    layout.state.write_text(instance.to_json())
    return instance


def stop(root: Path) -> None:
    """Stop the instance in ``root`` (both daemons); files stay for inspection.

    Raises:
        HarnessError: a daemon would not stop.
    """
    layout = Layout(root)
    problems = [p for p in (_stop_postfix(layout), _stop_dovecot(layout)) if p]
    if problems:
        raise HarnessError("; ".join(problems) + "\n" + log_tail(root))


def add_users(root: Path, users: Mapping[str, str]) -> None:
    """Let more SASL users log in to the instance in ``root``: user name → password.

    For benchmarks that need one account per gateway (smtpcheck probes identical credentials
    only once). Works on a running instance: Dovecot re-reads its passwd-file when the file's
    mtime (whole seconds) or size changes, so the mtime is always moved forward; it looks at
    most once a second, so logins may see the old users for up to a second after this returns.
    A name already there gets the new password; the instance's own user is kept.

    Raises:
        ValueError: a name or password that would break the passwd-file line.
    """
    for name, password in users.items():
        if not name or ":" in name + password or not (name + password).isprintable():
            raise ValueError(f"user {name!r}: no ':', line breaks or control characters")
    layout = Layout(root)
    path = layout.dovecot_passwd
    kept = [
        line
        for line in path.read_text().splitlines()
        if line and line.partition(":")[0] not in users
    ]
    added = [f"{name}:{{PLAIN}}{password}" for name, password in users.items()]
    temporary = path.with_name(path.name + ".new")
    temporary.write_text("\n".join(kept + added) + "\n")
    temporary.chmod(0o640)
    os.chown(temporary, 0, grp.getgrnam("dovecot").gr_gid)
    # A rewrite within the same second must still look new to Dovecot.
    stamp = max(time.time(), path.stat().st_mtime + 1)
    os.utime(temporary, (stamp, stamp))
    temporary.replace(path)


def log_tail(root: Path, lines: int = 25) -> str:
    """Return the last lines of the Postfix and Dovecot logs of the instance in ``root``."""
    layout = Layout(root)
    parts = []
    for path in (layout.postfix_log, layout.dovecot_log):
        try:
            text = path.read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            text = ["(no log written)"]
        parts.append(f"--- tail of {path} ---\n" + "\n".join(text))
    return "\n".join(parts)


def _prepare(root: Path) -> Layout:
    if any(root.iterdir()):
        raise HarnessError(f"{root} is not empty: one instance per fresh directory")
    # The daemons drop to the postfix/dovecot users, which must be able to walk this far.
    root.chmod(0o755)
    layout = Layout(root)
    postfix = pwd.getpwnam("postfix")
    for path in (layout.postfix_config, layout.queue, layout.dovecot_config.parent):
        path.mkdir(mode=0o755)
    layout.dovecot_state.mkdir(mode=0o750)
    for path in (layout.data, layout.mail):
        path.mkdir(mode=0o700)
        os.chown(path, postfix.pw_uid, postfix.pw_gid)
    return layout


def _write_configs(layout: Layout, certs: CertPaths, password: str, *, ipv6: bool) -> None:
    """Write everything but master.cf, which depends on the ports (_start_postfix_on_free_ports)."""
    postfix = pwd.getpwnam("postfix")
    users = Users(postfix_uid=postfix.pw_uid, postfix_gid=postfix.pw_gid)
    main_cf = layout.postfix_config / "main.cf"
    main_cf.write_text(render_main_cf(layout, certs, users, ipv6=ipv6))
    # Postfix re-reads a main.cf modified within the last second or so until it "settles"
    # (about 1.5 s of every fresh start here); a backdated mtime skips that wait.
    settled = time.time() - 60
    os.utime(main_cf, (settled, settled))
    layout.dovecot_config.write_text(render_dovecot_conf(layout))
    layout.dovecot_passwd.write_text(f"{USER}:{{PLAIN}}{password}\n")
    # Readable by Dovecot's auth process, by nobody else.
    layout.dovecot_passwd.chmod(0o640)
    os.chown(layout.dovecot_passwd, 0, grp.getgrnam("dovecot").gr_gid)


def _wait_for_imap(layout: Layout, access: ImapAccess, certs: CertPaths) -> None:
    verified = ssl.create_default_context(cafile=str(certs.ca))
    for host, port, context in (
        (access.host, access.ports.starttls, None),
        (access.host, access.ports.imaps, verified),
        (access.plain_only_host, access.ports.plain_only, None),
    ):
        _wait_until(
            lambda host=host, port=port, context=context: _greets(host, port, context, b"* OK "),
            f"an IMAP greeting on {host}:{port}",
            layout,
        )


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _free_ports(*, ipv6: bool) -> Ports:
    """Pick one port per service that is free on 127.0.0.1 (and ::1 when Postfix listens there).

    The sockets stay bound until every port is chosen, so no two services get the same one.
    A port can still be taken between here and Postfix's bind; the readiness check reports that.
    """
    count = len(dataclasses.fields(Ports))
    with ExitStack() as held:
        chosen: list[int] = []
        while len(chosen) < count:
            sock = held.enter_context(socket.socket())
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
            if ipv6 and not _bindable_v6(port, held):
                continue
            chosen.append(port)
    return Ports(*chosen)


def _bindable_v6(port: int, held: ExitStack) -> bool:
    sock = held.enter_context(socket.socket(socket.AF_INET6))
    try:
        sock.bind(("::1", port))
    except OSError:
        return False
    return True


def _run(command: list[str], layout: Layout, what: str) -> None:
    """Run a daemon's control command; on failure raise with its output and the log tails."""
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"} | {"LANG": "C"}
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{what} hung for 60 s\n" + log_tail(layout.root)) from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise HarnessError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{output}\n"
            + log_tail(layout.root)
        )


def _start_dovecot(layout: Layout) -> None:
    # A stale penalty socket from an earlier run would cost the first login 5 s.
    (layout.dovecot_run / "anvil-auth-penalty").unlink(missing_ok=True)
    dovecot = shutil.which("dovecot", path=_SBIN_PATH) or "dovecot"
    # Dovecot daemonizes and keeps stderr open for life: give it the log file, never a pipe,
    # or anything reading its output waits for an EOF that never comes.
    with layout.dovecot_log.open("ab") as log:
        result = subprocess.run(
            [dovecot, "-c", str(layout.dovecot_config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            timeout=60,
            check=False,
        )
    if result.returncode != 0:
        raise HarnessError(f"dovecot exited with {result.returncode}\n" + log_tail(layout.root))
    _wait_until(
        lambda: layout.auth_socket.is_socket(),
        f"Dovecot's auth socket {layout.auth_socket}",
        layout,
    )


def _start_postfix_on_free_ports(layout: Layout, certs: CertPaths, *, ipv6: bool) -> Ports:
    """Start Postfix on fresh free ports and wait until each answers; return the ports.

    A port chosen free can be taken by another program before Postfix binds it (another
    instance starting at the same moment, say): then pick new ports and start again.
    """
    postfix = shutil.which("postfix", path=_SBIN_PATH) or "postfix"
    for attempt in range(1, _BIND_ATTEMPTS + 1):
        ports = _free_ports(ipv6=ipv6)
        (layout.postfix_config / "master.cf").write_text(render_master_cf(ports, certs, ipv6=ipv6))
        try:
            _run([postfix, "-c", str(layout.postfix_config), "start"], layout, "postfix start")
        except HarnessError as exc:
            if attempt == _BIND_ATTEMPTS or "Address already in use" not in str(exc):
                raise
            continue
        _wait_for_ports(layout, ports, certs)
        return ports
    raise AssertionError("unreachable: the last attempt returns or raises")


def _wait_for_ports(layout: Layout, ports: Ports, certs: CertPaths) -> None:
    verified = ssl.create_default_context(cafile=str(certs.ca))
    # The broken-certificate ports only have to answer; their certificates fail on purpose.
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    for field in dataclasses.fields(ports):
        port = getattr(ports, field.name)
        context = None
        if field.name in IMPLICIT_TLS:
            context = verified if field.name == "smtps" else unverified
        _wait_until(
            lambda port=port, context=context: _greets(HOST, port, context),
            f"a 220 greeting on {field.name} port {HOST}:{port}",
            layout,
        )


def _greets(
    host: str, port: int, context: ssl.SSLContext | None, greeting: bytes = b"220 "
) -> bool:
    """Return True once ``port`` completes the TLS handshake (if any) and sends ``greeting``."""
    try:
        with socket.create_connection((host, port), timeout=2) as raw:
            if context is None:
                return _read_greeting(raw, greeting)
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return _read_greeting(tls, greeting)
    except OSError:  # refused while master binds, reset, ssl.SSLError, timeout
        return False


def _read_greeting(sock: socket.socket, expected: bytes) -> bool:
    greeting = sock.recv(512)
    # QUIT ends an SMTP session; to IMAP it is a bad command, and the close ends it anyway.
    sock.sendall(b"QUIT\r\n")
    return greeting.startswith(expected)


def _wait_until(ready: Any, what: str, layout: Layout) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise HarnessError(
                f"gave up after {_READY_TIMEOUT:.0f} s waiting for {what}\n" + log_tail(layout.root)
            )
        time.sleep(_POLL)


def _quiet_stop(layout: Layout) -> None:
    """Undo a failed start without hiding the error that caused it."""
    _stop_postfix(layout)
    _stop_dovecot(layout)


def _stop_postfix(layout: Layout) -> str | None:
    """Stop Postfix's master if it runs; return a problem description or None."""
    postfix = shutil.which("postfix", path=_SBIN_PATH) or "postfix"
    config = str(layout.postfix_config)
    status = subprocess.run(
        [postfix, "-c", config, "status"], capture_output=True, timeout=60, check=False
    )
    if status.returncode != 0:  # not running: nothing to stop
        return None
    # "postfix stop" waits for the master to exit (and kills it after 5 s).
    stopped = subprocess.run(
        [postfix, "-c", config, "stop"], capture_output=True, text=True, timeout=60, check=False
    )
    if stopped.returncode != 0:
        return f"postfix stop failed: {(stopped.stdout + stopped.stderr).strip()}"
    return None


def _stop_dovecot(layout: Layout) -> str | None:
    """Stop Dovecot's master by the PID it wrote; return a problem description or None."""
    try:
        pid = int(layout.dovecot_pid.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None  # never started
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + 10
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return f"dovecot (pid {pid}) ignored SIGTERM for 10 s; killed"
        time.sleep(_POLL)
    return None


def _alive(pid: int) -> bool:
    """Return True while ``pid`` runs; a zombie (not reaped by our init) counts as gone."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state letter follows the parenthesised command name.
    return status.rpartition(")")[2].split()[0] != "Z"
