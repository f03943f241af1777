"""The sample gateway configs shipped in the package (the repository's ``sample_configs/``).

They are package data, so `smtpcheck samples DIR` can write them out after a ``pipx install``
as well as from a source tree, and the README's commands work on either.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

__all__ = ["sample_files"]

_SUFFIXES = (".json", ".md")
# The demo's gateways reach its own servers through variables only the demo sets: out of it they
# are SC008 errors, not samples.
_SKIPPED = frozenset({"demo"})


def sample_files() -> Iterator[tuple[PurePosixPath, bytes]]:
    """Yield each sample file's path below the samples directory and its content, sorted."""
    yield from _walk(resources.files("smtpcheck") / "samples", PurePosixPath())


def _walk(folder: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIPPED:
            continue
        if entry.is_dir():
            yield from _walk(entry, prefix / entry.name)
        elif entry.name.endswith(_SUFFIXES):
            yield prefix / entry.name, entry.read_bytes()
