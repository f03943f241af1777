"""Every file smtpcheck writes: checked before the run, replaced whole or not at all.

Once, ``-o`` was written in place (a full disk left truncated JSON), followed a symlink onto the
command's own input, blocked for ever on a FIFO, replaced a device node, and a missing
directory was noticed only after every probe had run and the test mail was sent (issue 10,
class 5).
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Run, environment, smtpcheck, smtpcheck_process
from tests.support.gateways import gateway
from tests.support.panel import PanelServer, slow
from tests.support.report_schema import parse_report
from tests.support.servers import HOST

__all__: list[str] = []

_HASH = "0123456789abcdef0123456789abcdef"
_GATEWAY = {
    "id": 7,
    "leasable": False,
    "label": "relay",
    "provider": "smtp",
    "params": {"mail.smtp.host": "smtp.example.com", "mail.smtp.port": 587},
}
_OLD = '{"the previous": "report"}\n'
_AS_ROOT = os.geteuid() == 0


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "gw.json"
    path.write_text(json.dumps(_GATEWAY), encoding="utf-8")
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that accepts nothing itself: a connection to it stays queued, for all to see."""
    server = socket.socket()
    server.bind((HOST, 0))
    server.listen(8)
    yield server
    server.close()


def _refused(run: Run, path: Path | str, reason: str) -> None:
    assert run.code == 2, run
    assert "Traceback" not in run.output and run.stdout == "", run
    assert run.stderr.splitlines() == [f"smtpcheck: error: cannot write {path}: {reason}"], (
        run.stderr
    )


def _connected(server: socket.socket) -> bool:
    return bool(select.select([server], [], [], 0)[0])


def _left(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- the output is one of the inputs --------------------------------------------------------


def test_output_onto_its_own_source_is_refused(source: Path) -> None:
    before = source.read_bytes()
    _refused(
        smtpcheck("check", "-o", str(source), str(source)), source, f"it is the input {source}"
    )
    assert source.read_bytes() == before


def test_output_through_a_symlink_onto_the_source_is_refused(tmp_path, source) -> None:
    link = tmp_path / "report.json"
    link.symlink_to(source.name)
    run = smtpcheck("validate", "-o", str(link), str(source))
    _refused(run, link, f"it is the input {source}")
    assert json.loads(source.read_text()) == _GATEWAY


def test_output_onto_a_hard_link_of_the_source_is_refused(tmp_path, source) -> None:
    twin = tmp_path / "twin.json"
    os.link(source, twin)
    _refused(smtpcheck("validate", "-o", str(twin), str(source)), twin, f"it is the input {source}")


def test_output_onto_the_source_a_symlink_names_is_refused(tmp_path, source) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(source)
    _refused(smtpcheck("validate", "-o", str(source), str(link)), source, f"it is the input {link}")


def test_output_inside_a_source_directory_is_refused(tmp_path, source) -> None:
    alias = tmp_path.parent / f"{tmp_path.name}-alias"
    alias.symlink_to(tmp_path, target_is_directory=True)
    for output in (tmp_path / "report.json", alias / "sub" / ".." / "report.json"):
        run = smtpcheck("validate", "-o", str(output), str(tmp_path))
        _refused(run, output, f"it lies inside the input directory {tmp_path}")
    alias.unlink()
    assert _left(tmp_path) == ["gw.json"]


def test_output_onto_the_file_standard_input_reads_is_refused(source) -> None:
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "smtpcheck", "validate", "-o", str(source), "-"],
            stdin=stdin, capture_output=True, env=environment(), timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"smtpcheck: error: cannot write {source}: it is the file standard input is read from\n"
    )
    assert json.loads(source.read_text()) == _GATEWAY


def test_output_onto_the_ca_file_is_refused(tmp_path, source) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    run = smtpcheck("check", "--ca-file", str(ca), "-o", str(ca), str(source))
    _refused(run, ca, f"it is the input {ca}")
    run = smtpcheck("discover", "localhost", "--ca-file", str(ca), "-o", str(ca))
    _refused(run, ca, f"it is the input {ca}")


def test_write_fixed_inside_a_source_directory_is_refused(tmp_path, source) -> None:
    fixed = tmp_path / "fixed"
    run = smtpcheck("check", "--write-fixed", str(fixed), str(tmp_path))
    assert run.code == 2, run
    assert (
        run.stderr
        == f"smtpcheck: error: cannot create {fixed}: it lies inside the input directory "
        f"{tmp_path}\n"
    )
    assert not fixed.exists()


# --- what is there is not a regular file ----------------------------------------------------


def test_output_onto_a_fifo_is_refused_without_blocking(tmp_path, source) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # A fresh interpreter with a deadline: opening the FIFO would wait for a reader for ever.
    run = smtpcheck_process("validate", "-o", str(fifo), str(source), timeout=30)
    _refused(run, fifo, "it is a FIFO, not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fetch_onto_a_fifo_or_a_socket_leaves_them_alone(tmp_path) -> None:
    fifo, sock_path = tmp_path / "fifo", tmp_path / "sock"
    os.mkfifo(fifo)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(sock_path))
    try:
        with PanelServer(gateways={"own": [], "leasable": []}).running() as panel:
            panel.sessions[_HASH] = {"email_gateways": ["read"]}
            for target, kind in ((fifo, "a FIFO"), (sock_path, "a socket")):
                run = smtpcheck("fetch", "--api-url", panel.url, "--hash", _HASH, "-o", str(target))
                _refused(run, target, f"it is {kind}, not a regular file")
            assert panel.requests == []
    finally:
        unix.close()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISSOCK(os.lstat(sock_path).st_mode)


def test_output_onto_a_device_is_refused_but_dev_null_is_a_sink(source) -> None:
    _refused(smtpcheck("validate", "-o", "/dev/full", str(source)), "/dev/full",
             "it is a character device, not a regular file")  # fmt: skip
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    run = smtpcheck("validate", "-o", os.devnull, str(source))
    assert run.code == 0 and run.stdout == "", run
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_output_onto_a_descriptor_link_is_refused(tmp_path, source, name) -> None:
    # Under pytest's capture fd 1 is a regular file: following the link would replace that
    # file (and `-o /dev/stdout >> log` would lose the log).
    run = smtpcheck("validate", "-o", name, str(source))
    _refused(run, name, "it is a link to an open file descriptor, not to a file")
    link = tmp_path / "out"
    link.symlink_to("/dev/stdout")
    run = smtpcheck("validate", "-o", str(link), str(source))
    _refused(run, link, "it is a link to an open file descriptor, not to a file")
    assert link.is_symlink()


def test_output_onto_a_symlink_to_a_fifo_or_to_nothing_is_refused(tmp_path, source) -> None:
    os.mkfifo(tmp_path / "fifo")
    to_fifo, dangling = tmp_path / "to-fifo", tmp_path / "dangling"
    to_fifo.symlink_to("fifo")
    dangling.symlink_to("nowhere.json")
    run = smtpcheck("validate", "-o", str(to_fifo), str(source))
    _refused(run, to_fifo, "it is a symlink to a FIFO, not a regular file")
    run = smtpcheck("validate", "-o", str(dangling), str(source))
    _refused(run, dangling, f"it is a symlink to nothing ({tmp_path / 'nowhere.json'})")
    assert not (tmp_path / "nowhere.json").exists()


def test_output_into_a_missing_directory_or_through_a_file_is_refused(tmp_path, source) -> None:
    missing = tmp_path / "no" / "r.json"
    _refused(smtpcheck("validate", "-o", str(missing), str(source)), missing,
             f"the directory {tmp_path / 'no'} does not exist")  # fmt: skip
    through = source / "r.json"
    _refused(smtpcheck("validate", "-o", str(through), str(source)), through,
             f"the directory {source} is not a directory")  # fmt: skip


@pytest.mark.skipif(not _AS_ROOT, reason="lchown to another user needs root")
def test_output_through_another_users_symlink_in_a_sticky_directory_is_refused(
    tmp_path, source
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    planted = shared / "report.json"
    planted.symlink_to(victim)
    os.lchown(planted, 54321, 54321)
    run = smtpcheck("validate", "-o", str(planted), str(source))
    _refused(run, planted, "it is a symlink another user made in a shared directory")
    assert victim.read_text() == "keep me"


def test_output_into_a_read_only_directory_is_refused(tmp_path, source) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        target = locked / "r.json"
        run = smtpcheck("validate", "-o", str(target), str(source))
        if _AS_ROOT:
            # The kernel lets root write there, so the check does too: the report is written.
            assert run.code in (0, 1) and target.exists(), run
        else:
            _refused(run, target, f"the directory {locked} is not writable")
    finally:
        locked.chmod(0o755)


# --- refused before any connection ---------------------------------------------------------


def test_check_refuses_the_output_before_any_probe_or_mail(tmp_path, listener) -> None:
    port = listener.getsockname()[1]
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps([gateway(port, host=HOST, mode="none", auth=False)]))
    missing = tmp_path / "no" / "report.json"
    started = time.monotonic()
    run = smtpcheck(
        "check", str(fleet), "-o", str(missing), "--send-to", "ops@dealer.test",
        "--timeout", "5", "--ehlo", "client.test",
    )  # fmt: skip
    _refused(run, missing, f"the directory {tmp_path / 'no'} does not exist")
    assert not _connected(listener), "a probe connected before the output was checked"
    assert time.monotonic() - started < 4


def test_discover_refuses_the_output_before_any_probe(tmp_path, listener) -> None:
    port = str(listener.getsockname()[1])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    run = smtpcheck("discover", "localhost", "--try-port", port, "-o", str(fifo), "--ehlo", "c.t")
    _refused(run, fifo, "it is a FIFO, not a regular file")
    assert not _connected(listener)


def test_fetch_refuses_the_output_before_logging_in(tmp_path) -> None:
    with PanelServer(gateways={"own": []}).running() as panel:
        panel.add_account("dealer", "pw")
        missing = tmp_path / "no" / "list.json"
        run = smtpcheck(
            "fetch", "--api-url", panel.url, "--login", "dealer", "-o", str(missing),
            env={"NAVIXY_PASSWORD": "pw"},
        )  # fmt: skip
        _refused(run, missing, f"the directory {tmp_path / 'no'} does not exist")
        assert panel.requests == [] and panel.connections == 0


# --- what is written, and how --------------------------------------------------------------


def test_a_symlink_to_a_regular_file_is_written_through(tmp_path, source) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    real = reports / "latest.json"
    real.write_text(_OLD)
    real.chmod(0o640)
    link = tmp_path / "report.json"
    link.symlink_to(real)
    run = smtpcheck("validate", "--format", "json", "-o", str(link), str(source))
    assert run.code == 0 and run.stdout == "", run
    assert link.is_symlink() and link.resolve() == real  # the link is kept
    assert json.loads(real.read_text())["tool"] == "smtpcheck"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the mode of the file it replaced
    assert _left(reports) == ["latest.json"]


def test_a_new_report_follows_the_umask_and_a_fetched_list_is_private(tmp_path, source) -> None:
    report = tmp_path / "report.txt"
    old_umask = os.umask(0o022)
    try:
        assert smtpcheck("validate", "-o", str(report), str(source)).code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(report.stat().st_mode) == 0o644  # node_exporter may read a report
    with PanelServer(gateways={"own": [_GATEWAY]}).running() as panel:
        panel.sessions[_HASH] = {"email_gateways": ["read"]}
        saved = tmp_path / "list.json"
        saved.write_text(_OLD)
        saved.chmod(0o644)
        run = smtpcheck("fetch", "--api-url", panel.url, "--hash", _HASH, "-o", str(saved))
        assert run.code == 0, run
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["own"][0]["id"] == 7


def test_fetch_dash_is_standard_output(tmp_path) -> None:
    with PanelServer(gateways={"own": [_GATEWAY]}).running() as panel:
        panel.sessions[_HASH] = {"email_gateways": ["read"]}
        run = smtpcheck("fetch", "--api-url", panel.url, "--hash", _HASH, "-o", "-", cwd=tmp_path)
    assert run.code == 0 and json.loads(run.stdout)["own"][0]["id"] == 7
    assert _left(tmp_path) == []


def test_a_full_disk_leaves_the_previous_report_and_no_temporary(
    tmp_path, source, monkeypatch
) -> None:
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    report.write_text(_OLD)

    def full(descriptor: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("smtpcheck.config.destination.os.write", full)
    run = smtpcheck("validate", "--format", "json", "-o", str(report), str(source))
    _refused(run, report, os.strerror(errno.ENOSPC))
    assert report.read_text() == _OLD
    assert _left(report.parent) == ["report.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_ctrl_c_while_writing_removes_the_temporary(tmp_path, source, monkeypatch, failing):
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    report.write_text(_OLD)

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(f"smtpcheck.config.destination.os.{failing}", interrupt)
    run = smtpcheck("validate", "-o", str(report), str(source))
    assert run.code == 130 and "Traceback" not in run.output, run
    assert report.read_text() == _OLD
    assert _left(report.parent) == ["report.json"]


#: Runs validate in a fresh interpreter whose first fsync says so on stdout and then dawdles,
#: so that the test can send SIGTERM while the temporary file exists.
_SLOW_FSYNC = """
import os, sys, time
from smtpcheck.cli import main
real, calls = os.fsync, []
def fsync(fd):
    calls.append(fd)
    if len(calls) == 1:
        print("writing", flush=True)
        time.sleep(1.0)
    real(fd)
os.fsync = fsync
main(sys.argv[1:])
"""


def test_sigterm_while_writing_leaves_a_whole_file_and_no_temporary(tmp_path, source) -> None:
    out = tmp_path / "out"
    out.mkdir()
    report = out / "report.json"
    report.write_text(_OLD)
    argv = ["validate", "--format", "json", "-o", str(report), str(source)]
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_FSYNC, *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"writing\n"
        assert len(_left(out)) == 2  # the temporary file, beside the report
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    # The signal waits until the file is whole, then stops the run as it would have.
    assert process.returncode in (128 + signal.SIGTERM, -signal.SIGTERM), stderr
    assert parse_report(report.read_text())["tool"] == "smtpcheck"
    assert _left(out) == ["report.json"]


def test_sigterm_during_a_slow_fetch_keeps_the_previous_list(tmp_path) -> None:
    saved = tmp_path / "list.json"
    saved.write_text(_OLD)
    with PanelServer(gateways={"own": [_GATEWAY]}).running() as panel:
        panel.sessions[_HASH] = {"email_gateways": ["read"]}
        panel.faults.append(slow(30))
        process = subprocess.Popen(
            [sys.executable, "-m", "smtpcheck", "fetch", "--api-url", panel.url, "--hash", _HASH,
             "-o", str(saved), "--api-timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not panel.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert panel.requests, "the fetch never reached the panel"
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode in (128 + signal.SIGTERM, -signal.SIGTERM), stderr
    assert saved.read_text() == _OLD
    assert _left(tmp_path) == ["list.json"]
