"""How the text report is laid out on a screen: colour, padding, and lines fitted to a width.

A line is wrapped only between words, its continuation indented, so a code, a host:port or a
param name is never cut; only a label is ever shortened (with "…"). Words joined by `glue`
("12.5 ms", "gateway 7") stay on one line. Without a width (a file, a pipe) nothing is wrapped
or shortened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smtpcheck.reporters._common import display_width

__all__ = ["Line", "Painter", "fit", "glue", "pad", "shorten", "unglued", "visible_width"]

_RESET = "\x1b[0m"
_STYLES = {
    "red": "\x1b[31m",
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "cyan": "\x1b[36m",
    "magenta": "\x1b[35m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: A line of the report, and the indent its continuation lines get when it is wrapped.
Line = tuple[str, str]

# A space that does not break: NUL, which `printable` escapes in every text that comes from a
# config or a server, so it can only be ours. One column wide, as the space it stands for.
_GLUE = "\x00"
# A run of spaces, or a word: anything else, colour codes included (they stick to their text).
_PIECES = re.compile(r"( +)|([^ ]+)")


@dataclass(frozen=True, slots=True)
class Painter:
    """Colours text for a terminal, or leaves it as it is."""

    enabled: bool

    def __call__(self, text: str, style: str) -> str:
        """Return ``text`` in ``style``; empty text gets no codes, so padding never holds any."""
        return f"{_STYLES[style]}{text}{_RESET}" if self.enabled and text else text


def glue(text: str) -> str:
    """Join the words of ``text`` so that wrapping never parts them."""
    return text.replace(" ", _GLUE)


def unglued(text: str) -> str:
    """Turn the glue of rendered text back into spaces."""
    return text.replace(_GLUE, " ")


def visible_width(text: str) -> int:
    """Return the columns a line takes on screen: colour codes take none, wide characters 2."""
    return display_width(_ANSI.sub("", text))


def pad(text: str, width: int) -> str:
    """Pad ``text`` (coloured or not) with spaces to ``width`` screen columns."""
    return text + " " * max(0, width - visible_width(text))


def shorten(text: str, width: int) -> str:
    """Cut plain ``text`` to ``width`` screen columns, ending in "…" when it was cut."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += display_width(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def fit(line: str, width: int | None, indent: str) -> list[str]:
    """Wrap ``line`` at spaces to ``width`` columns; continuation lines start with ``indent``.

    A word longer than the room left stays whole on a line of its own: a code, a host:port,
    a path or a param name is never cut. ``width`` None: the line as it is.
    """
    if width is None or visible_width(line) <= width:
        return [line]
    lines: list[str] = []
    current, used, space = "", 0, ""
    for run, word in _PIECES.findall(line):
        if run:
            space = run
            continue
        size = visible_width(word)
        starts_line = not current.strip()
        if starts_line or used + len(space) + size <= width:
            current, used = current + space + word, used + len(space) + size
        else:  # the spaces at the break are dropped: the indent takes their place
            lines.append(current)
            current, used = indent + word, len(indent) + size
        space = ""
    lines.append(current)
    return lines
