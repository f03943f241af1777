"""The progress line of `check` on a terminal: probes ended, and the ones it still waits for.

``probing 197/200 · waiting for 3: gateway 7 mx.dealer.test:465, …`` says why a run that is
nearly done is not: black holes that take their full timeout. Drawn on standard error, only
when it is a terminal, only for a fleet, and only once probes start ending.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from smtpcheck.reporters import display_width, printable

__all__ = ["Bar", "progress_bar"]

_CLEAR = "\r\x1b[K"  # back to the start of the line, and erase it


class Bar:
    """A one-line progress report, redrawn in place; a `runner.Watch`."""

    def __init__(self, stream: TextIO, *, width: int | None = None) -> None:
        self._stream = stream
        self._width = width
        self._waiting: Sequence[str] = ()
        self._state: tuple[int, int] | None = None  # (done, total) once drawn

    def __call__(self, done: int, total: int, /) -> None:
        """Draw the line for ``done`` of ``total`` probes ended."""
        if total < 2:
            return  # one gateway needs no bar
        self._state = (done, total)
        self._draw()

    def waiting(self, running: Sequence[str], /) -> None:
        """Take the names of the probes still running; redraw when the line is shown."""
        self._waiting = running
        if self._state is not None:
            self._draw()

    def close(self) -> None:
        """Erase the line, so the report or the next prompt starts on a clean one."""
        if self._state is not None:
            self._stream.write(_CLEAR)
            self._stream.flush()

    def line(self) -> str:
        """Return the text of the line as it is drawn now."""
        if self._state is None:
            return ""
        done, total = self._state
        text = f"probing {done}/{total}"
        left = total - done
        if left:
            text += f" · waiting for {left}"
            # The last column stays free: writing into it makes some terminals wrap the line.
            room = self._columns() - 1 - display_width(text) - len(": ")
            names = _fitted(self._waiting, room)
            text += f": {names}" if names else ""
        return text

    def _draw(self) -> None:
        self._stream.write(_CLEAR + self.line())
        self._stream.flush()

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a real terminal: ask the usual way
            return shutil.get_terminal_size().columns


def _fitted(names: Sequence[str], room: int) -> str:
    """Join as many whole names as fit in ``room`` columns, then "…" for the others."""
    shown: list[str] = []
    used = 0
    for index, name in enumerate(names):
        name = printable(name)  # a path in "gateway at x.json[2]" is the user's text
        width = display_width(name) + (2 if shown else 0)
        more = 3 if index + 1 < len(names) else 0  # room for ", …"
        if used + width + more > room:
            break
        shown.append(name)
        used += width
    if len(shown) < len(names):
        shown.append("…")
    return ", ".join(shown)


@contextmanager
def progress_bar(stream: TextIO | None = None) -> Iterator[Bar | None]:
    """Yield a `Bar` on ``stream`` (standard error) when it is a terminal, else None."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield None
        return
    bar = Bar(stream)
    try:
        yield bar
    finally:
        bar.close()
