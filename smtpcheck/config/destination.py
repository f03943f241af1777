"""Whether smtpcheck may write a file at a path, and writing it so that no reader sees half of it.

Gateway lists, corrected gateways and reports all go through here. Nothing here prints or
raises on purpose: a check returns the problem as text, a write raises the `OSError` it met.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["destination_problem", "directory_problem", "write_atomically"]

#: Signals whose default action would kill the process between creating the temporary file and
#: renaming it: they wait until the write is done (SIGINT raises KeyboardInterrupt, which the
#: write cleans up after like any other exception).
_HELD = (signal.SIGTERM, signal.SIGHUP)
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def destination_problem(
    path: Path, *, inputs: Sequence[str] = (), stdin: int | None = None
) -> str | None:
    """Return why the file ``path`` must not be written, or None when it may be.

    ``inputs`` are the files and directories the run reads, ``stdin`` the descriptor a ``-``
    source reads. Nothing is opened, so a FIFO cannot block the check.
    """
    try:
        info = _followed(path)
    except _RefusedError as exc:
        return str(exc)
    if info is not None and not stat.S_ISREG(info.st_mode):
        if _is_null(info):
            return None  # `-o /dev/null`: the sink everyone means by it, never replaced
        link = "a symlink to " if path.is_symlink() else ""
        return f"it is {link}{_kind(info)}, not a regular file"
    target = Path(os.path.realpath(path))
    problem = _directory_refuses(target.parent) or _ownership_problem(target, info)
    if problem is None and info is not None and not os.access(target, os.W_OK):
        problem = "it is read-only"  # replacing it would work, but someone protected it
    return problem or _input_problem(target, info, inputs, stdin)


def directory_problem(directory: Path, *, inputs: Sequence[str] = ()) -> str | None:
    """Return why files cannot be written into ``directory`` (created when missing), or None."""
    real = Path(os.path.realpath(directory))
    existing = real
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return _input_problem(real, None, inputs, None)


def write_atomically(path: Path, data: bytes, *, private: bool) -> None:
    """Replace the file at ``path`` (for a symlink: its target) with ``data``, all or nothing.

    The data goes to a new file beside the target, is flushed to the disk, and only then takes
    the target's name: a full disk, a crash or a signal leaves the previous file as it was, and
    no temporary file behind. ``private`` files get mode 0600 whatever the umask; any other
    file keeps the mode of the one it replaces (a report that node_exporter reads stays
    readable to it).

    Raises:
        OSError: the file could not be written; the previous one is untouched.
    """
    if _is_null(_stat(path)):
        with open(path, "wb") as sink:
            sink.write(data)
        return
    target = Path(os.path.realpath(path))
    with _signals_held():
        temporary = _write_temporary(target, data, private=private)
        try:
            os.replace(temporary, target)
        except BaseException:
            _remove(temporary)
            raise
        _sync_directory(target.parent)


class _RefusedError(Exception):
    """A symlink that is not followed; private to this module, never leaves it."""


def _followed(path: Path) -> os.stat_result | None:
    """Return what ``path`` names, following symlinks, or None when nothing is there yet.

    A symlink to a regular file is followed and its target replaced, as a shell's ``>`` would
    write through it: the operator who linked report.json elsewhere wants the link kept and its
    target updated, not the link turned into a file. A link that points nowhere is refused (the
    new file would appear somewhere the command line does not name), and so are the links
    ``protected_symlinks`` would not let the shell follow: the write renames over the target
    itself, so the kernel's check on opening the link never runs.
    """
    current, seen = path, 0
    while True:
        try:
            info = os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):
            if current is path:
                return None  # the directory is judged next
            raise _RefusedError(f"it is a symlink to nothing ({current})") from None
        except OSError as exc:
            raise _RefusedError(f"it cannot be looked at: {exc.strerror}") from exc
        if not stat.S_ISLNK(info.st_mode):
            return info
        seen += 1
        if seen > 40:  # the kernel's own limit (ELOOP)
            raise _RefusedError("it is a loop of symlinks")
        _refuse_link(current, info)
        try:
            current = Path(current.parent, os.readlink(current))
        except OSError as exc:  # replaced since the lstat, or unreadable
            raise _RefusedError(f"its symlink cannot be read: {exc.strerror}") from exc


def _refuse_link(link: Path, info: os.stat_result) -> None:
    parent = Path(os.path.realpath(link.parent))
    if parent.parts[:2] == ("/", "proc"):
        # /dev/stdout, /dev/fd/N, /proc/self/fd/N name an open descriptor, not a file: replacing
        # what it resolves to would turn `-o /dev/stdout >> log` into a new log.
        raise _RefusedError("it is a link to an open file descriptor, not to a file")
    directory = _stat(parent)
    if directory is None:
        return
    shared = directory.st_mode & stat.S_ISVTX and directory.st_mode & stat.S_IWOTH
    if shared and info.st_uid not in (os.geteuid(), directory.st_uid):
        raise _RefusedError("it is a symlink another user made in a shared directory")


def _directory_refuses(directory: Path) -> str | None:
    if not directory.is_dir():
        what = "is not a directory" if os.path.lexists(directory) else "does not exist"
        return f"the directory {directory} {what}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"the directory {directory} is not writable"
    return None


def _ownership_problem(target: Path, info: os.stat_result | None) -> str | None:
    # In a sticky directory (/tmp) only the owner may rename over a file: say so now, not
    # after the probes have run.
    if info is None or info.st_uid == os.geteuid() or os.geteuid() == 0:
        return None
    directory = _stat(target.parent)
    if (
        directory is not None
        and directory.st_mode & stat.S_ISVTX
        and directory.st_uid != os.geteuid()
    ):
        return "it belongs to another user in a shared directory"
    return None


def _input_problem(
    target: Path, info: os.stat_result | None, inputs: Sequence[str], stdin: int | None
) -> str | None:
    if info is not None and stdin is not None:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(stdin), info):
                return "it is the file standard input is read from"
    # Stat identity, not names: a hard link, a symlink or another spelling of the path is the
    # same file; each existing ancestor is compared the same way against input directories.
    ancestors = [_stat(directory) for directory in target.parents]
    for name in inputs:
        source = _stat(Path(name))
        if source is None:
            continue  # a missing input is the loader's to report
        if info is not None and os.path.samestat(source, info):
            return f"it is the input {name}"
        if stat.S_ISDIR(source.st_mode):
            if any(a is not None and os.path.samestat(a, source) for a in ancestors):
                return f"it lies inside the input directory {name}"
            mine = _stat(target)
            if mine is not None and os.path.samestat(mine, source):
                return f"it is the input directory {name}"
    return None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _is_null(info: os.stat_result | None) -> bool:
    if info is None or not stat.S_ISCHR(info.st_mode):
        return False
    null = _stat(Path(os.devnull))
    return null is not None and os.path.samestat(info, null)


def _kind(info: os.stat_result) -> str:
    return _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")


def _write_temporary(target: Path, data: bytes, *, private: bool) -> Path:
    previous = _stat(target)
    # A unique name in the target's own directory: os.replace is atomic only within one file
    # system. The dot hides it from `check DIR`, which skips hidden files.
    temporary = target.with_name(f".{target.name[:40]}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o666)
    try:
        try:
            if private:
                os.fchmod(descriptor, 0o600)
            elif previous is not None:
                _keep_access(descriptor, previous)
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _keep_access(descriptor: int, previous: os.stat_result) -> None:
    os.fchmod(descriptor, stat.S_IMODE(previous.st_mode))
    # The group is kept where this user may give it (a member of it): a report shared through
    # a group stays shared. Otherwise the file gets this user's group, as any new file would.
    with contextlib.suppress(OSError):
        os.fchown(descriptor, -1, previous.st_gid)


def _remove(temporary: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory is on the disk too. Some file systems
    # cannot sync a directory; the new file is in place by then, so that is no error.
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGTERM and SIGHUP until the block is done, then let them act as they would have.

    Python runs signal handlers in the main thread only, and only the main thread may install
    them; elsewhere the block runs unprotected (an exception still removes the temporary file).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    for held in _HELD:
        if signal.getsignal(held) is not None:  # None: set from C, and could not be put back
            previous[held] = signal.signal(held, lambda signum, _: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for arrived in dict.fromkeys(caught):
            signal.raise_signal(arrived)
