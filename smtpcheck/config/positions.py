"""Where each key of a JSON text stands: one pass from the text to the region of any key by path.

Pure and standard-library only; only SARIF asks for it, so the `validate` path never imports it.
Paths mix object keys and array indexes: ``("own", 0, "params", "mail.smtp.port")``.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from dataclasses import dataclass, field

from smtpcheck.results.location import Region

__all__ = ["KeyMap", "KeyPath", "scan"]

KeyPath = tuple[str | int, ...]

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
# One match per key with its scalar value and comma (most of a gateway), per string elsewhere,
# per bracket, and per comma after a container. Numbers, true, false and null outside objects
# match nothing and are skipped by finditer: only the commas of arrays count their items.
_TOKEN = re.compile(
    rf'(?P<key>{_STRING})\s*:(?:\s*(?:{_STRING}|[^\s{{}}\[\]",]+)(?:\s*,)?)?|{_STRING}|[{{}}\[\],]'
)
_BOM = "\ufeff"
_WHITESPACE = " \t\r\n"  # JSON's own (RFC 8259 §2)


class _Node:
    """One object or array: where its brace stands, and its members or items."""

    __slots__ = ("items", "members", "start")

    def __init__(self, start: int, *, is_object: bool) -> None:
        self.start = start
        # key -> (start, end of the key's token, its value's node when an object or array)
        self.members: dict[str, tuple[int, int, _Node | None]] | None = {} if is_object else None
        self.items: dict[int, _Node] | None = None if is_object else {}


class _Frame:
    """An object or array being read: the key or index its next container value gets."""

    __slots__ = ("index", "key", "node")

    def __init__(self, node: _Node) -> None:
        self.node = node
        self.key: str | None = None
        self.index = 0


@dataclass(frozen=True, slots=True)
class KeyMap:
    """The keys of one JSON text, and the regions they stand at (see `scan`)."""

    text: str  # without its BOM: SARIF regions do not depend on one (SARIF 2.1.0 §3.30.2)
    root: _Node | None
    _line_starts: list[int] = field(repr=False)

    @classmethod
    def lines(cls, text: str) -> KeyMap:
        """Return a map of the lines alone, no keys: for `point` into a text that is not JSON."""
        text = text.removeprefix(_BOM)
        return cls(text, None, _line_starts(text))

    def key(self, path: KeyPath) -> Region | None:
        """Return the region of the last key of ``path`` (its name in quotes), or None."""
        if not path or not isinstance(path[-1], str):
            return None
        parent = self._node(path[:-1])
        if parent is None or parent.members is None or path[-1] not in parent.members:
            return None
        start, end, _ = parent.members[path[-1]]
        return self.span(start, end)

    def opening(self, path: KeyPath) -> Region | None:
        """Return the region of the ``{`` or ``[`` that opens the value at ``path``, or None."""
        node = self._node(path)
        return None if node is None else self.span(node.start, node.start + 1)

    def first(self) -> Region | None:
        """Return the region of the first character of the document's value, or None if blank."""
        start = len(self.text) - len(self.text.lstrip(_WHITESPACE))
        return None if start == len(self.text) else self.span(start, start + 1)

    def point(self, line: int, column: int) -> Region | None:
        """Return the character at a position as Python's json decoder counts it, or None.

        The decoder counts lines by LF and columns in code points from 1 (what `JsonError`
        carries); an end of line or of the text becomes an empty region there.
        """
        if not 1 <= line <= len(self._line_starts) or column < 1:
            return None
        start = self._line_starts[line - 1]
        line_end = self.text.find("\n", start)
        line_end = len(self.text) if line_end < 0 else line_end
        offset = min(start + column - 1, line_end)
        return self.span(offset, min(offset + 1, line_end))

    def span(self, start: int, end: int) -> Region:
        """Return the region of ``text[start:end]`` (which must not span a line break)."""
        line = bisect.bisect_right(self._line_starts, start)
        line_start = self._line_starts[line - 1]
        column = _utf16_length(self.text[line_start:start]) + 1
        return Region(line, column, line, column + _utf16_length(self.text[start:end]))

    def _node(self, path: KeyPath) -> _Node | None:
        node = self.root
        for part in path:
            if node is None:
                return None
            if isinstance(part, str):
                member = node.members.get(part) if node.members is not None else None
                node = None if member is None else member[2]
            else:
                node = node.items.get(part) if node.items is not None else None
        return node


def scan(text: str) -> KeyMap:
    """Read the keys of a JSON text; a repeated key counts where it is last written.

    The text must be JSON (the loader has parsed it); columns count UTF-16 code units.

    Raises:
        ValueError: the brackets of the text do not pair up.
    """
    text = text.removeprefix(_BOM)
    root = _Node(-1, is_object=False)  # holds the document's value as its item 0
    stack = [_Frame(root)]
    frame = stack[-1]
    for match in _TOKEN.finditer(text):
        start = match.start()
        char = text[start]
        if char == '"':
            if match.lastgroup == "key":  # else a string in an array, or the whole document
                _add_key(frame, match.group("key"), start)
        elif char == ",":
            frame.index += 1
        elif char in "{[":
            node = _Node(start, is_object=char == "{")
            _attach(frame, node)
            frame = _Frame(node)
            stack.append(frame)
        elif len(stack) == 1 or (char == "}") != (frame.node.members is not None):
            raise ValueError(f"unpaired {char!r} at offset {start}")
        else:
            stack.pop()
            frame = stack[-1]
    if len(stack) > 1:
        raise ValueError("the text ends inside an object or array")
    if frame.index:
        raise ValueError("more than one value at the top level")
    return KeyMap(text, (root.items or {}).get(0), _line_starts(text))


def _attach(frame: _Frame, node: _Node) -> None:
    members, items = frame.node.members, frame.node.items
    if items is not None:
        if frame.index in items:
            raise ValueError(f"two values without a comma between them, at offset {node.start}")
        items[frame.index] = node
    elif members is not None and frame.key is not None:
        key_start, key_end, _ = members[frame.key]
        members[frame.key] = (key_start, key_end, node)
        frame.key = None  # the next container needs a key of its own
    else:
        raise ValueError(f"an object or array where a key belongs, at offset {node.start}")


def _add_key(frame: _Frame, token: str, start: int) -> None:
    members = frame.node.members
    if members is None:
        raise ValueError(f"a key outside an object, at offset {start}")
    # Keys with escapes ("mail.smtp.\u0070ort") are decoded, so a path names the key as the
    # loader read it; the region still covers the key exactly as written.
    name = json.loads(token) if "\\" in token else token[1:-1]
    # Assigning replaces an earlier member of the same name, its nested keys with it: JSON
    # readers (Python's, JavaMail's Properties) keep the last one.
    members[name] = (start, start + len(token), None)
    frame.key = name


def _line_starts(text: str) -> list[int]:
    # LF alone ends a line: CRLF ends at its LF, and SARIF's default newlineSequences
    # (["\r\n", "\n"]) and the JSON decoder's line numbers agree. All of it runs in C.
    lengths = map(len, text.split("\n"))
    return list(itertools.accumulate(map((1).__add__, lengths), initial=0))[:-1]


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
