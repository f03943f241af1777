"""The history of `smtpcheck serve`: changes only, failing since, restarts, pruning, bad files."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpcheck.errors import SmtpcheckError
from smtpcheck.serve.history import SCHEMA_VERSION, History, StateError
from smtpcheck.serve.view import Change
from tests.support.gate import refuse


def _rows(path: Path, where: str = "", *args: object) -> int:
    """Count the stored changes with a connection of our own, as an outside reader would."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        (count,) = db.execute(f"SELECT count(*) FROM change {where}", args).fetchone()
    return int(count)


def _sequence(history: History, key: str, statuses: str, *, start: float = 0.0) -> None:
    for i, status in enumerate(statuses.split()):
        history.observe(key, at=start + i, status=status)


# -- changes, failing since, last change -------------------------------------------------------


def test_observe_stores_only_status_changes(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history:
        seen = [
            history.observe("gw", at=float(t), status=status, code=code, message=message)
            for t, (status, code, message) in enumerate(
                [
                    ("ok", None, None),
                    ("ok", None, None),
                    ("failed", "SC201", "handshake failed"),
                    ("failed", "SC202", "another reason: not a change of status"),
                    ("ok", None, None),
                    ("ok", None, None),
                ]
            )
        ]
        assert [c is not None for c in seen] == [True, False, True, False, True, False]
        assert seen[2] == Change(
            key="gw",
            at=2.0,
            status="failed",
            previous="ok",
            code="SC201",
            message="handshake failed",
        )
        assert history.changes("gw") == [seen[4], seen[2], seen[0]]  # newest first
        assert history.changes("gw", 1) == [seen[4]]
        assert _rows(path) == 3


def test_observe_first_verdict_is_a_change_without_previous():
    with History.open(None) as history:
        first = history.observe("gw", at=5, status="warning", code="SC301", message="weak")
        assert first == Change("gw", 5.0, "warning", None, "SC301", "weak")
        assert isinstance(first.at, float)
        assert history.since("gw") == (None, None)  # a first verdict is no change of status


def test_since_unknown_gateway_and_first_verdict_failed():
    with History.open(None) as history:
        assert history.since("never-seen") == (None, None)
        assert history.changes("never-seen") == []
        history.observe("gw", at=7.0, status="failed")
        # Failing since we first saw it; it never changed.
        assert history.since("gw") == (7.0, None)


def test_since_failing_run_goes_on_across_failed_error_failed():
    with History.open(None) as history:
        _sequence(history, "gw", "ok failed error failed", start=10.0)
        # failed began the run at 11; error at 12 and failed at 13 are changes, not a new run.
        assert history.since("gw") == (11.0, 13.0)
        assert [c.previous for c in history.changes("gw")] == ["error", "failed", "ok", None]


def test_since_recovery_clears_failing_and_a_new_run_starts_afresh():
    with History.open(None) as history:
        _sequence(history, "gw", "failed error ok", start=100.0)
        assert history.since("gw") == (None, 102.0)
        _sequence(history, "gw", "warning skipped error", start=200.0)
        assert history.since("gw") == (202.0, 202.0)


def test_observe_refuses_an_unknown_status_and_bad_limits():
    with History.open(None) as history, pytest.raises(ValueError, match="broken"):
        history.observe("gw", at=1.0, status="broken")
    with pytest.raises(ValueError, match="at least 1"):
        History.open(None, keep_per_gateway=0)


def test_gateways_are_independent():
    with History.open(None) as history:
        history.observe("a", at=1.0, status="failed")
        history.observe("b", at=2.0, status="ok")
        history.observe("b", at=3.0, status="error")
        assert history.since("a") == (1.0, None)
        assert history.since("b") == (3.0, 3.0)


# -- restarts -----------------------------------------------------------------------------------


def test_history_survives_a_restart(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history:
        _sequence(history, "gw", "ok failed error", start=50.0)
        before = (history.since("gw"), history.changes("gw"))
    assert not (tmp_path / "state.db-wal").exists()  # closed cleanly: checkpointed
    with History.open(path) as history:
        assert (history.since("gw"), history.changes("gw")) == before
        assert before[0] == (51.0, 52.0)
        # The status before the restart is known: the same verdict again is no change.
        assert history.observe("gw", at=60.0, status="error") is None
        change = history.observe("gw", at=61.0, status="failed")
        assert change is not None
        assert change.previous == "error"
        assert history.since("gw") == (51.0, 61.0)


def test_a_gateway_that_leaves_and_comes_back_keeps_its_history(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history:
        _sequence(history, "gw", "ok failed")
        history.observe("other", at=5.0, status="ok")  # cycles without "gw" in the list
    with History.open(path) as history:
        assert history.observe("gw", at=9.0, status="failed") is None
        assert history.since("gw") == (1.0, 1.0)


# -- pruning ------------------------------------------------------------------------------------


def test_prune_keeps_the_newest_changes_per_gateway(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path, keep_per_gateway=5, prune_every=100) as history:
        for key in ("a", "b"):
            _sequence(history, key, "ok failed " * 20)
        # Pruning waits for 100 changes, not every write: all 80 rows are still there.
        assert _rows(path) == 80
        newest = history.changes("a", 5)
        assert history.prune() == 70
        assert _rows(path, "WHERE key = ?", "a") == 5
        assert _rows(path, "WHERE key = ?", "b") == 5
        assert history.changes("a") == newest
        assert history.prune() == 0


def test_prune_runs_by_itself_every_n_changes(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path, keep_per_gateway=3, prune_every=10) as history:
        _sequence(history, "gw", "ok failed " * 5)  # the 10th change prunes
        assert _rows(path) == 3
        _sequence(history, "gw", "ok failed ok", start=10.0)
        assert _rows(path) == 6  # 3 kept + 3 since the last prune
        # Pruning with lowered limits at open, before anything is observed.
    with History.open(path, keep_per_gateway=1) as history:
        assert _rows(path) == 1
        assert history.since("gw") == (None, 12.0)


def test_prune_bounds_the_total_but_keeps_each_current_change(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path, keep_total=10, prune_every=1000) as history:
        for key in "abcd":
            _sequence(history, key, "ok failed " * 5, start=100.0)  # 10 changes each
        assert history.prune() == 30
        assert _rows(path) == 10
        for key in "abcd":  # each gateway's newest change survived the trim of the oldest
            assert history.changes(key, 1)[0].at == 109.0
            assert history.since(key) == (109.0, 109.0)
    with History.open(path, keep_total=2) as history:
        # More gateways than the total allows: the current ones stay, nothing else.
        assert _rows(path) == 4
        assert all(len(history.changes(key)) == 1 for key in "abcd")


def test_failing_since_outlives_the_pruned_change_that_began_it(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path, keep_per_gateway=2) as history:
        _sequence(history, "gw", "ok " + "failed error " * 10, start=1000.0)
        history.prune()
        assert [c.at for c in history.changes("gw")] == [1020.0, 1019.0]
    with History.open(path) as history:
        assert history.since("gw") == (1001.0, 1020.0)


# -- bad files ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process, root included (root ignores mode bits)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        refuse("running as root, which ignores mode bits, and chattr (immutable files) is missing")
    done = subprocess.run([chattr, "+i", path], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        refuse(f"running as root, which ignores mode bits, and chattr +i failed: {done.stderr}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", path], check=True)


def _refused(path: Path, match: str) -> StateError:
    with pytest.raises(StateError, match=match) as caught:
        History.open(path)
    assert isinstance(caught.value, SmtpcheckError)
    assert caught.value.path == str(path)
    return caught.value


def test_open_refuses_a_path_in_a_missing_directory(tmp_path):
    path = tmp_path / "nowhere" / "state.db"
    _refused(path, r"cannot be created: the directory .*nowhere does not exist")
    assert not path.parent.exists()


def test_open_refuses_a_directory(tmp_path):
    _refused(tmp_path, "is a directory")


@pytest.mark.parametrize(
    "content", [b"not a database, just text\n" * 20, b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_open_refuses_a_file_that_is_not_sqlite(tmp_path, content):
    path = tmp_path / "state.db"
    path.write_bytes(content)
    _refused(path, "is not a SQLite database")
    assert path.read_bytes() == content  # untouched


def test_open_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "state.db"
    History.open(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    error = _refused(path, "written by a newer smtpcheck")
    assert f"schema version {SCHEMA_VERSION + 1}; this one knows up to {SCHEMA_VERSION}" in str(
        error
    )


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        ("CREATE TABLE invoices (id INTEGER)", "holds another program's tables"),
        ("PRAGMA application_id = 42", "belongs to another program"),
    ],
)
def test_open_refuses_another_programs_database(tmp_path, setup, match):
    path = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(setup)
        db.commit()
    _refused(path, match)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'change'").fetchone() is None


def test_open_refuses_a_read_only_file(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history:
        history.observe("gw", at=1.0, status="ok")
    with _read_only(path):
        _refused(path, "is read-only")
    with History.open(path) as history:  # writable again: nothing was lost
        assert history.since("gw") == (None, None)
        assert len(history.changes("gw")) == 1


def test_open_refuses_a_read_only_directory(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "state.db"
    History.open(path).close()
    with _read_only(folder):
        _refused(path, r"directory .*ro is read-only")


def test_open_refuses_when_the_lock_file_cannot_be_opened(tmp_path):
    path = tmp_path / "state.db"
    (tmp_path / "state.db.lock").mkdir()
    _refused(path, r"cannot open its lock file .*state\.db\.lock: Is a directory")
    assert not path.exists()


def test_an_empty_file_becomes_a_new_history(tmp_path):
    path = tmp_path / "state.db"
    path.touch()
    with History.open(path) as history:
        assert history.observe("gw", at=1.0, status="ok") is not None
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_a_failed_write_is_a_state_error_and_leaves_the_history_usable(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history:
        history.observe("gw", at=1.0, status="ok")
        # A real SQLITE_FULL: cap this connection's file at its current size (a full disk).
        (pages,) = history._db.execute("PRAGMA page_count").fetchone()
        history._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StateError, match="disk is full") as caught:
            history.observe("gw", at=2.0, status="failed", message="x" * 100_000)
        assert caught.value.path == str(path)
        assert history.since("gw") == (None, None)  # nothing half-recorded
        history._db.execute(f"PRAGMA max_page_count = {pages * 100}")
        change = history.observe("gw", at=3.0, status="failed")  # no transaction left open
        assert change is not None
        assert change.previous == "ok"
    assert _rows(path) == 2


# -- one writer, many readers -------------------------------------------------------------------

_HOLDER = """
import sys
from smtpcheck.serve.history import History
with History.open(sys.argv[1]) as history:
    history.observe("held", at=1.0, status="failed")
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or kills us)
"""

_OPENER = """
import sys
from smtpcheck.serve.history import History, StateError
try:
    History.open(sys.argv[1]).close()
except StateError as error:
    print(error)
    sys.exit(3)
print("opened")
"""


def _python(code: str, path: Path, *, stdin: int | None = None) -> subprocess.Popen[str]:
    """Start another Python process running ``code`` on the state file ``path``."""
    command = [sys.executable, "-c", code, str(path)]
    return subprocess.Popen(command, text=True, stdin=stdin, stdout=subprocess.PIPE)


def test_a_second_process_is_refused_while_one_holds_the_file(tmp_path):
    path = tmp_path / "state.db"
    holder = _python(_HOLDER, path, stdin=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        error = _refused(path, f"in use by pid {holder.pid} on ")
        assert "two serve processes cannot share one --state file" in str(error)
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
    with History.open(path) as history:  # released on exit, and what it wrote is there
        assert history.since("held") == (1.0, None)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "state.db"
    holder = _python(_HOLDER, path, stdin=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "holding\n"
    holder.kill()
    holder.communicate(timeout=30)
    with History.open(path) as history:
        assert history.since("held") == (1.0, None)


def test_this_process_holding_the_file_refuses_another_process(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path):
        opener = _python(_OPENER, path)
        out, _ = opener.communicate(timeout=30)
        assert opener.returncode == 3, out
        assert f"is in use by pid {os.getpid()} on " in out
    opener = _python(_OPENER, path)
    out, _ = opener.communicate(timeout=30)
    assert (opener.returncode, out) == (0, "opened\n")


def test_a_second_open_in_the_same_process_is_refused(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path):
        _refused(path, "is in use by")


def test_outside_readers_do_not_block_the_writer(tmp_path):
    path = tmp_path / "state.db"
    with History.open(path) as history, contextlib.closing(sqlite3.connect(path)) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM change").fetchone() == (0,)
        # Under a rollback journal this write would wait on the reader's lock and fail.
        assert history.observe("gw", at=1.0, status="ok") is not None
        assert reader.execute("SELECT count(*) FROM change").fetchone() == (0,)  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM change").fetchone() == (1,)


# -- in memory ----------------------------------------------------------------------------------


def test_in_memory_history_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with History.open(None) as first, History.open(None) as second:
        assert first.path is None
        _sequence(first, "gw", "ok failed")
        assert first.since("gw") == (1.0, 1.0)
        assert second.since("gw") == (None, None)  # each in-memory history is its own
    assert list(tmp_path.iterdir()) == []


# -- hostile text -------------------------------------------------------------------------------

_HOSTILE = [
    "quotes ' \" `; DROP TABLE change; --",
    "NUL \x00 inside, and at the end\x00",
    "x" * 100_000 + "\N{PILE OF POO}",
    "lone surrogate \udcff from a server's undecodable byte",
    "",
]


@pytest.mark.parametrize("message", _HOSTILE, ids=["quotes", "nul", "100kB", "surrogate", "empty"])
def test_hostile_messages_are_stored_and_read_back_intact(tmp_path, message):
    path = tmp_path / "state.db"
    key = "gw'\"\x00#2"
    with History.open(path) as history:
        change = history.observe(key, at=1.0, status="failed", code="SC'1", message=message)
        assert change is not None
        assert change.message == message
    with History.open(path) as history:
        (stored,) = history.changes(key)
        assert stored.message == message
        assert (stored.key, stored.code) == (key, "SC'1")
        assert _rows(path) == 1
