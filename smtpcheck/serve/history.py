"""The history of `smtpcheck serve`: each gateway's state changes, kept in SQLite (``--state``).

Only changes are stored, never every check, so "failing since" and the last change survive a
restart; old changes are pruned so that the file stays bounded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from smtpcheck.errors import ServeError
from smtpcheck.results import Status
from smtpcheck.serve.view import Change

__all__ = ["SCHEMA_VERSION", "History", "StateError"]

#: The layout this code writes, kept in ``PRAGMA user_version``; a file with a higher one was
#: written by a newer smtpcheck and is refused rather than misread.
SCHEMA_VERSION = 1
# "SMTC" in ``PRAGMA application_id``: tells our state files from other programs' databases.
_APPLICATION_ID = 0x534D5443
_FAILING = frozenset({Status.FAILED.value, Status.ERROR.value})
# Short: an outside writer (someone's sqlite3 shell) must not stall serve's event loop for long.
_BUSY_TIMEOUT_S = 0.5

_SCHEMA = f"""
CREATE TABLE change (
    id INTEGER PRIMARY KEY,  -- insertion order: "newest" never depends on the clock
    key TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    previous TEXT,
    code TEXT,
    message TEXT,            -- TEXT, or a BLOB of UTF-8 with surrogates (see _to_sql)
    failing_since REAL       -- carried on every row, so pruning old rows never loses it
);
CREATE INDEX change_by_key ON change (key, id);
PRAGMA application_id = {_APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
_INSERT = (
    "INSERT INTO change (key, at, status, previous, code, message, failing_since)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_CURRENT = (
    "SELECT status, at, previous, failing_since FROM change WHERE key = ? ORDER BY id DESC LIMIT 1"
)
_CHANGES = (
    "SELECT at, status, previous, code, message FROM change WHERE key = ? ORDER BY id DESC LIMIT ?"
)
_CROWDED = "SELECT key FROM change GROUP BY key HAVING count(*) > ?"
_TRIM_GATEWAY = (
    "DELETE FROM change WHERE key = ? AND id <= "
    "(SELECT id FROM change WHERE key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)"
)
# Oldest first, but never a gateway's current change: `since` is read from it.
_TRIM_OLDEST = (
    "DELETE FROM change WHERE id IN (SELECT id FROM change WHERE id NOT IN"
    " (SELECT max(id) FROM change GROUP BY key) ORDER BY id LIMIT ?)"
)


class StateError(ServeError):
    """The state file cannot be used: missing directory, not ours, newer, read-only, in use.

    ``path`` is the file as given (None for the in-memory history).
    """

    def __init__(self, message: str, *, path: str | None) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class _Current:
    """The newest change of one gateway: its status now and what `since` needs."""

    status: str
    at: float
    previous: str | None
    failing_since: float | None


@dataclass(frozen=True, slots=True)
class _Limits:
    keep_per_gateway: int
    keep_total: int
    prune_every: int  # recorded changes between two prunes


class History:
    """State changes per gateway, from one thread (serve's event loop), on one connection.

    Open it with `History.open`; it is a context manager. A file is locked for this process
    alone, so two serve replicas never write one file; outside readers (a sqlite3 shell) are
    not blocked, the file being in WAL mode.
    """

    def __init__(
        self, db: sqlite3.Connection, path: Path | None, lock_fd: int | None, limits: _Limits
    ) -> None:
        self._db, self._path, self._lock_fd, self._limits = db, path, lock_fd, limits
        self._writes = 0  # changes recorded since the last prune
        # Nobody else writes the file (it is locked), so the newest row per key can be cached.
        self._current_by_key: dict[str, _Current | None] = {}

    @classmethod
    def open(
        cls,
        path: str | Path | None,
        *,
        keep_per_gateway: int = 50,
        keep_total: int = 100_000,
        prune_every: int = 1000,
    ) -> History:
        """Open the history in ``path`` (created if missing), or in memory when None.

        Each gateway keeps its newest ``keep_per_gateway`` changes and the file at most
        ``keep_total`` (every gateway's current one is always kept), pruned after every
        ``prune_every`` recorded changes.

        Raises:
            StateError: the file cannot be used (the message says why).
            ValueError: a limit is below 1.
        """
        limits = _Limits(keep_per_gateway, keep_total, prune_every)
        if min(keep_per_gateway, keep_total, prune_every) < 1:
            raise ValueError(f"every limit must be at least 1: {limits}")
        if path is None:
            with _translated(None):
                db = sqlite3.connect(":memory:", isolation_level=None)
                _prepare(db, None)
            return cls(db, None, None, limits)
        file = Path(path)
        with contextlib.ExitStack() as undo:
            db, lock_fd = _open_file(file, undo)
            history = cls(db, file, lock_fd, limits)
            history.prune()  # limits lowered since the last run take effect at once
            undo.pop_all()
        return history

    @property
    def path(self) -> Path | None:
        """Return the state file, or None for the in-memory history."""
        return self._path

    def close(self) -> None:
        """Close the database and release the file's lock; closing twice is harmless."""
        self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def observe(
        self,
        key: str,
        *,
        at: float,
        status: str,
        code: str | None = None,
        message: str | None = None,
    ) -> Change | None:
        """Record the gateway's verdict at ``at``; return the `Change` when its status changed.

        The first verdict ever on ``key`` is a change with ``previous=None``. A verdict with
        the status already recorded stores nothing and returns None (``code`` and ``message``
        are the first finding of the new status, kept only with a change).

        Raises:
            StateError: the database could not be written.
            ValueError: ``status`` is not a `Status`.
        """
        status, at = Status(status).value, float(at)
        current = self._current(key)
        if current is not None and current.status == status:
            return None
        previous = None if current is None else current.status
        failing_since = _failing_since(status, at, current)
        row = (key, at, status, previous, code, _to_sql(message), failing_since)
        with self._translated(), self._transaction():
            self._db.execute(_INSERT, row)
        self._current_by_key[key] = _Current(status, at, previous, failing_since)
        self._writes += 1
        if self._writes >= self._limits.prune_every:
            self.prune()
        return Change(key=key, at=at, status=status, previous=previous, code=code, message=message)

    def since(self, key: str) -> tuple[float | None, float | None]:
        """Return (failing since, last change) of ``key``, as `GatewayState` takes them.

        Failing since: when the current run of failed/error statuses began, None when the
        gateway is not failing. Last change: when its status last changed; None when only its
        first verdict is known (or none at all).

        Raises:
            StateError: the database could not be read.
        """
        current = self._current(key)
        if current is None:
            return None, None
        return current.failing_since, None if current.previous is None else current.at

    def changes(self, key: str, limit: int = 50) -> list[Change]:
        """Return the newest ``limit`` changes of ``key``, newest first.

        Raises:
            StateError: the database could not be read.
        """
        with self._translated():
            rows = self._db.execute(_CHANGES, (key, limit)).fetchall()
        return [
            Change(key=key, at=at, status=status, previous=prev, code=code, message=_from_sql(msg))
            for at, status, prev, code, msg in rows
        ]

    def prune(self) -> int:
        """Drop the changes beyond the limits now, and return how many went.

        Raises:
            StateError: the database could not be written.
        """
        self._writes = 0
        with self._translated(), self._transaction():
            removed = 0
            keep = self._limits.keep_per_gateway
            for (key,) in self._db.execute(_CROWDED, (keep,)).fetchall():
                removed += self._db.execute(_TRIM_GATEWAY, (key, key, keep)).rowcount
            (total,) = self._db.execute("SELECT count(*) FROM change").fetchone()
            if total > self._limits.keep_total:
                excess = total - self._limits.keep_total
                removed += self._db.execute(_TRIM_OLDEST, (excess,)).rowcount
        return removed

    def _current(self, key: str) -> _Current | None:
        if key not in self._current_by_key:
            with self._translated():
                row = self._db.execute(_CURRENT, (key,)).fetchone()
            self._current_by_key[key] = None if row is None else _Current(*row)
        return self._current_by_key[key]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT (disk full) may leave it open
                self._db.execute("ROLLBACK")
            raise

    def _translated(self) -> contextlib.AbstractContextManager[None]:
        return _translated(_label(self._path))


@contextlib.contextmanager
def _translated(path: str | None) -> Iterator[None]:
    """Turn sqlite3's errors into a `StateError` that names the file and says what is wrong."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StateError(_describe(exc, path), path=path) from exc


def _describe(exc: sqlite3.Error, path: str | None) -> str:
    name = str(getattr(exc, "sqlite_errorname", ""))
    where = _where(path)
    for prefix, what in (
        ("SQLITE_NOTADB", "is not a SQLite database"),
        ("SQLITE_READONLY", "is read-only"),
        ("SQLITE_CANTOPEN", "cannot be opened"),
        ("SQLITE_CORRUPT", "is damaged"),
        ("SQLITE_FULL", "cannot grow: the disk is full"),
    ):
        if name.startswith(prefix):
            return f"{where} {what} ({exc})"
    return f"{where}: {exc}"


def _open_file(file: Path, undo: contextlib.ExitStack) -> tuple[sqlite3.Connection, int]:
    """Check, lock and open the state file; ``undo`` closes what is open if a later step fails."""
    _check_path(file)
    lock_fd = _lock(file)
    undo.callback(os.close, lock_fd)
    with _translated(str(file)):
        db = sqlite3.connect(
            file.absolute().as_uri() + "?mode=rwc",
            uri=True,
            isolation_level=None,  # transactions are begun and committed explicitly
            timeout=_BUSY_TIMEOUT_S,
        )
        undo.callback(db.close)
        _prepare(db, file)
    return db, lock_fd


def _check_path(file: Path) -> None:
    """Refuse, with a sentence, the paths SQLite would refuse with a bare "unable to open"."""
    problem = None
    if file.is_dir():
        problem = "is a directory"
    elif not file.parent.is_dir():
        problem = f"cannot be created: the directory {file.parent} does not exist"
    elif file.exists() and not os.access(file, os.W_OK):
        problem = "is read-only"
    elif not os.access(file.parent, os.W_OK):
        # SQLite creates the -wal and -shm files (and we the lock file) beside the database.
        problem = f"cannot be used: the directory {file.parent} is read-only"
    if problem is not None:
        raise StateError(f"state file {file} {problem}", path=str(file))


def _lock(file: Path) -> int:
    """Take the file's lock (a flock on ``<file>.lock``) for this process, or refuse.

    A separate lock file, because SQLite's own POSIX locks on the database must never mix
    with ours (closing any descriptor of that file drops all of a process's POSIX locks).
    """
    lock_path = file.with_name(file.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        message = f"state file {file}: cannot open its lock file {lock_path}: {exc.strerror}"
        raise StateError(message, path=str(file)) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        message = (
            f"state file {file} is in use by {holder} (lock file {lock_path}):"
            " two serve processes cannot share one --state file"
        )
        raise StateError(message, path=str(file)) from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    return fd


def _prepare(db: sqlite3.Connection, file: Path | None) -> None:
    """Check that the database is ours and not newer, create the schema, set the journal."""
    path = _label(file)
    where = _where(path)
    (version,) = db.execute("PRAGMA user_version").fetchone()  # SQLITE_NOTADB shows here
    (application_id,) = db.execute("PRAGMA application_id").fetchone()
    if application_id not in (0, _APPLICATION_ID):
        raise StateError(f"{where} belongs to another program", path=path)
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{where} was written by a newer smtpcheck (schema version {version};"
            f" this one knows up to {SCHEMA_VERSION})",
            path=path,
        )
    if version == 0:
        if db.execute("SELECT 1 FROM sqlite_master").fetchone() is not None:
            raise StateError(f"{where} holds another program's tables", path=path)
        db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
    if file is not None:
        # WAL: outside readers never block serve's writes; NORMAL is durable enough in WAL
        # (a power cut loses at most the last changes, never the file).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")


def _failing_since(status: str, at: float, current: _Current | None) -> float | None:
    """Return when the run of failures that ``status`` is part of began (None: not failing)."""
    if status not in _FAILING:
        return None
    if current is not None and current.status in _FAILING:
        return current.failing_since  # failed <-> error goes on with the same run
    return at


def _label(file: Path | None) -> str | None:
    return None if file is None else str(file)


def _where(path: str | None) -> str:
    return "the in-memory state" if path is None else f"state file {path}"


def _to_sql(text: str | None) -> str | bytes | None:
    """Return ``text`` as SQLite takes it: text with a lone surrogate cannot be TEXT: a BLOB."""
    if text is None:
        return None
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode(errors="surrogatepass")
    return text


def _from_sql(value: str | bytes | None) -> str | None:
    return value.decode(errors="surrogatepass") if isinstance(value, bytes) else value
