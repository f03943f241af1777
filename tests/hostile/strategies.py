"""Hypothesis strategies for hostile gateway documents and command lines (issue 10).

A document is built as a small tree of JSON nodes and written out as text by `render`, so that it
can hold what Python's ``json`` will not write: integers of thousands of digits, lone surrogates
as ``\\ud800`` escapes, duplicate keys, ``1e999``. The password sits in a `Slot`, rendered last,
so a test can tell whether any other part of the document happens to spell it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from smtpcheck.config.params import JAVAMAIL_KEYS, KNOWN_PARAMS, REDACTED

__all__ = [
    "GOOD_ID",
    "GOOD_LABEL",
    "PASSWORD_VARIABLE",
    "SET_VALUE",
    "SET_VARIABLE",
    "UNSET_VARIABLE",
    "Arr",
    "Fleet",
    "Node",
    "Obj",
    "Raw",
    "Slot",
    "Text",
    "fleets",
    "gateways",
    "hostile_text",
    "hostile_values",
    "params_objects",
    "passwords",
    "render",
    "strings_of",
]

#: The known-good gateway of every fleet; no hostile field is ever exactly this label.
GOOD_ID = 424242
GOOD_LABEL = "known-good-gateway"
#: ``"${SET_VARIABLE}"`` resolves to `SET_VALUE`; ``"${UNSET_VARIABLE}"`` is never set.
SET_VARIABLE = "SMTPCHECK_PROP_SET"
SET_VALUE = "value-from-the-environment"
UNSET_VARIABLE = "SMTPCHECK_PROP_UNSET"
#: Holds the fleet's password when the document writes it as a ``${NAME}`` reference.
PASSWORD_VARIABLE = "SMTPCHECK_PROP_PASSWORD"


# --- The JSON tree ---------------------------------------------------------------------------


def _short(text: str) -> str:
    # A failing example is printed: keep a string of 70 000 characters to its head and size.
    return repr(text) if len(text) <= 80 else f"{text[:40]!r} + ... ({len(text)} characters)"


@dataclass(frozen=True)
class Raw:
    """JSON text written exactly as is: a number, a literal, or something that is not JSON."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({_short(self.text)})"


@dataclass(frozen=True)
class Text:
    """A JSON string; ``ascii`` False writes non-ASCII as UTF-8 (surrogates are always escaped)."""

    value: str
    ascii: bool = True

    def __repr__(self) -> str:
        return f"Text({_short(self.value)}{'' if self.ascii else ', ascii=False'})"


@dataclass(frozen=True)
class Obj:
    """A JSON object, keys in order, duplicates allowed (the last one wins when read)."""

    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Arr:
    """A JSON array."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Slot:
    """Where the password goes: as a string, or wrapped in an array or an object."""

    wrap: str = "plain"  # plain | array | object


Node = Raw | Text | Obj | Arr | Slot


def _string(value: str, ascii: bool = True) -> str:
    has_surrogate = any("\ud800" <= c <= "\udfff" for c in value)
    return json.dumps(value, ensure_ascii=ascii or has_surrogate)


def render(node: Node, password: str) -> str:
    """Return the JSON text of ``node`` with ``password`` in every `Slot`."""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Text):
        return _string(node.value, node.ascii)
    if isinstance(node, Obj):
        inner = ", ".join(f"{_string(k)}: {render(v, password)}" for k, v in node.items)
        return "{" + inner + "}"
    if isinstance(node, Arr):
        return "[" + ", ".join(render(item, password) for item in node.items) + "]"
    value = _string(password)
    return {"plain": value, "array": f"[{value}]", "object": f'{{"value": {value}}}'}[node.wrap]


def strings_of(node: Node) -> Iterator[str]:
    """Yield every key, string and raw text of ``node``, the password's slots left out."""
    if isinstance(node, Raw):
        yield node.text
    elif isinstance(node, Text):
        yield node.value
    elif isinstance(node, Obj):
        for key, value in node.items:
            yield key
            yield from strings_of(value)
    elif isinstance(node, Arr):
        for item in node.items:
            yield from strings_of(item)


# --- Values ----------------------------------------------------------------------------------

_AWKWARD_TEXT = [
    "",
    " ",
    "\t",
    "\r\n",
    "\n",
    "\r",
    "\x00",
    "\x7f",
    "\x1b[31mred\x1b[0m",
    "\u2028",
    "\ufeff",
    "\u202e",
    f"${{{SET_VARIABLE}}}",
    f"${{{UNSET_VARIABLE}}}",
    f"$${{{SET_VARIABLE}}}",
    f"x${{{UNSET_VARIABLE}}}y",
    "${",
    "${}",
    "${1BAD}",
    "$",
    REDACTED,
    "587 ",
    " 587",
    "0x1F",
    "1_000",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() reads it
    "\uff15\uff18\uff17",  # fullwidth 587
    "true",
    "TRUE",
    "True",
    "yes",
    "false",
    "null",
    "25",
    "-1",
    "0",
    "nan",
    "NaN",
    "Infinity",
    "1e999",
    "smtp.example.com:587",
    "smtp://smtp.example.com",
    "smtp.example.com/path",
    "a b",
    "[::1]",
    "::1",
    "127.0.0.1",
    "localhost",
    "-",
    ".",
    "..",
    "a" * 64 + "." + "b" * 64,
    "user@example.com",
    "[email\u00a0protected]",
    "\U0001f48c",
    "\U0010ffff",
    "\ud800",
    "\udfff",
    "x\ud800y",
    "\udbff\udc00",
    "\u0130",  # İ: lower() makes it two characters
    "\u00df",  # ß: upper() makes it SS
    "<script>&amp;</script>",
    '"quoted"',
    "back\\slash",
    "%00%0d%0a",
    "{label}",
    "%s%n",
    'label="x"\n# HELP',
]

_ANY_CHARACTER = st.characters(codec=None, categories=None) | st.characters(categories=["Cs"])


@cache
def hostile_text(*, long: bool = True) -> st.SearchStrategy[str]:
    """Text from the hostile mix: awkward fixed strings, any characters, very long strings."""
    pieces = st.sampled_from(_AWKWARD_TEXT) | st.text(_ANY_CHARACTER, max_size=24)
    joined = st.lists(pieces, min_size=1, max_size=4).map("".join)
    mix = [st.sampled_from(_AWKWARD_TEXT), joined]
    if long:
        pieces_of_long = st.sampled_from(["a", "\U0001f48c", "\n", " ", "\ud800", "ab\r\n"])
        mix.append(st.builds(lambda p, n: p * n, pieces_of_long, st.integers(1_000, 70_000)))
    return st.one_of(mix).filter(lambda text: text != GOOD_LABEL)


def _huge_integer() -> st.SearchStrategy[Raw]:
    # Python refuses to read past 4 300 digits; smtpcheck turns past 4 000 into infinity.
    digits = st.one_of(
        st.sampled_from([300, 3999, 4000, 4001, 4299, 4300, 4301]), st.integers(1, 20_000)
    )
    return st.builds(
        lambda sign, lead, count: Raw(f"{sign}{lead}{'9' * (count - 1)}"),
        st.sampled_from(["", "-"]),
        st.sampled_from("123456789"),
        digits,
    )


_NUMBER_TEXT = [
    "1e999",
    "-1e999",
    "1e-999",
    "-0",
    "0.0",
    "-0.0",
    "587.0",
    "587.5",
    "5.87e2",
    "1E+400",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "18446744073709551616",
    "65536",
    "0",
    "-1",
]


def _numbers() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.sampled_from([Raw(n) for n in _NUMBER_TEXT]),
        st.integers().map(lambda n: Raw(str(n))),
        st.integers(-(2**70), -1).map(lambda n: Raw(str(n))),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Raw(repr(f))),
        _huge_integer(),
    )


def _scalars() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.sampled_from([Raw("true"), Raw("false"), Raw("null")]),
        _numbers(),
        st.builds(Text, hostile_text(), st.booleans()),
    )


@cache
def hostile_values() -> st.SearchStrategy[Node]:
    """Any JSON value from the hostile mix, nested objects and arrays included."""

    def nest(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        keys = st.sampled_from(["", "value", "mail.smtp.port", "id", "$ref"]) | hostile_text()
        return st.one_of(
            st.lists(children, max_size=4).map(lambda items: Arr(tuple(items))),
            st.lists(st.tuples(keys, children), max_size=4).map(lambda items: Obj(tuple(items))),
        )

    # Deeper than Python's parser goes, a whole file is SC001: that is `_NOT_JSON`'s case.
    deep = st.integers(2, 400).map(lambda depth: Raw("[" * depth + "]" * depth))
    return st.recursive(_scalars(), nest, max_leaves=8) | deep


def _valid(key: str) -> st.SearchStrategy[Node]:
    """Values the panel really writes for ``key``."""
    if key in ("mail.smtp.port", "mail.smtp.ssl.port"):
        ports = st.sampled_from([25, 465, 587, 2525]) | st.integers(1, 65535)
        return ports.map(lambda p: Raw(str(p))) | ports.map(lambda p: Text(str(p)))
    if key in ("mail.smtp.timeout", "mail.smtp.connectiontimeout"):
        return st.sampled_from([0, 30, 10_000, 60_000, 600_000]).map(lambda n: Raw(str(n)))
    if key == "mail.smtp.host":
        hosts = [
            "smtp.example.com",
            "mail.test",
            "localhost",
            "127.0.0.1",
            "::1",
            "xn--bcher-kva.example",
        ]
        return st.sampled_from([Text(h) for h in hosts])
    if key == "mail.transport.protocol":
        return st.sampled_from([Text("smtp"), Text("smtps")])
    if key in ("default_from_address", "mail.smtp.user"):
        addresses = [
            "alerts@example.com",
            "[email\u00a0protected]",
            "a@localhost",
            "\u00fc@\u00fc.test",
        ]
        return st.sampled_from([Text(a, ascii=False) for a in addresses]) | st.just(Raw("null"))
    # Every other known key is a boolean.
    return st.sampled_from([Raw("true"), Raw("false"), Text("true"), Text("false")])


@cache
def _value_for(key: str) -> st.SearchStrategy[Node]:
    return st.one_of(_valid(key), hostile_values())


_SECRET_KEYS = ["mail.smtp.password", "mail.smtp.pasword", "mail.smtp.PASSWORD", "smtp_secret"]


def _password_node() -> st.SearchStrategy[Node]:
    slots = st.sampled_from([Slot(), Slot(), Slot(), Slot("array"), Slot("object")])
    return slots | st.just(Text(f"${{{PASSWORD_VARIABLE}}}"))


def params_objects(*, with_password: bool = True) -> st.SearchStrategy[Obj]:
    """A ``params`` object: known keys with valid or hostile values, misspelt and unknown keys."""

    @st.composite
    def build(draw: st.DrawFn) -> Obj:
        items: list[tuple[str, Node]] = []
        for key in KNOWN_PARAMS:
            if key == "mail.smtp.password" or not draw(st.booleans()):
                continue
            items.append((key, draw(_value_for(key))))
        extra_keys = st.sampled_from(sorted(JAVAMAIL_KEYS)) | st.sampled_from(KNOWN_PARAMS)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(extra_keys | hostile_text())
            items.append((key, draw(_value_for(key))))
        if with_password and draw(st.integers(0, 9)) > 0:
            key = draw(st.sampled_from(_SECRET_KEYS))
            items.append((key, draw(_password_node())))
        order = draw(st.permutations(range(len(items))))
        return Obj(tuple(items[i] for i in order))

    return build()


def _field(valid: st.SearchStrategy[Node]) -> st.SearchStrategy[Node | None]:
    """A top-level field: valid, hostile, or missing (None)."""
    return st.one_of(valid, hostile_values(), st.none())


_PROVIDERS = ("smtp", "mandrill_smtp", "SMTP", "smtp ")


def gateways(*, with_password: bool = True) -> st.SearchStrategy[Node]:
    """A hostile gateway object: every field drawn from the mix, or not an object at all."""

    @st.composite
    def build(draw: st.DrawFn) -> Node:
        if draw(st.integers(0, 19)) == 0:
            return draw(hostile_values())  # not a gateway object at all
        fields: dict[str, st.SearchStrategy[Node | None]] = {
            "id": _field(st.integers(0, 10**6).map(lambda n: Raw(str(n)))),
            "leasable": _field(st.sampled_from([Raw("false"), Raw("true")])),
            "label": _field(st.builds(Text, hostile_text(), st.booleans())),
            "provider": _field(
                st.sampled_from([Text(p) for p in ("smtp", "mandrill_smtp", "SMTP")])
            ),
            "params": _field(params_objects(with_password=with_password)),
            "default_from_address": st.none() | _value_for("default_from_address"),
        }
        items: list[tuple[str, Node]] = []
        for name, strategy in fields.items():
            value = draw(strategy)
            if value is not None:
                items.append((name, value))
        for _ in range(draw(st.integers(0, 2))):  # unknown or duplicated keys
            key = draw(st.sampled_from([*fields, "extra"]) | hostile_text())
            items.append((key, draw(hostile_values())))
        order = draw(st.permutations(range(len(items))))
        return Obj(tuple(items[i] for i in order))

    return build()


# --- Passwords -------------------------------------------------------------------------------

_COMMON_PASSWORDS = [
    "ok",
    "250",
    "220",
    "25",
    "localhost",
    "smtp",
    "a",
    "e",
    "*",
    "********",
    '"',
    "\\",
    "%",
    "+",
    "=",
    "&",
    ",",
    ":",
    " ",
    "\n",
    "null",
    "true",
    "example",
    "password",
    "gateway",
    "SC001",
]


def passwords() -> st.SearchStrategy[str]:
    """Passwords: short common words, ones that URL and JSON encoding change, and random ones."""
    changed_by_encoding = st.lists(
        st.sampled_from(['"', "\\", "%", "+", "&", "/", "=", " ", "\u00e9", "\u00df", "\n", "<"])
        | st.text("abcXYZ0123456789", min_size=1, max_size=4),
        min_size=3,
        max_size=8,
    ).map("".join)
    strong = st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=8, max_size=40
    )
    letters_digits = st.text("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=8)
    return st.one_of(
        st.sampled_from(_COMMON_PASSWORDS),
        changed_by_encoding,
        letters_digits,
        strong,
        hostile_text(long=False),
    )


# --- Fleets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """A hostile gateway and the known-good one, laid out in files or served by the panel API.

    ``files`` maps a file name to its JSON tree; ``api`` is the list response the panel serves
    (None: the run reads files only). ``garbage`` is raw text of a further file that is no JSON.
    """

    files: tuple[tuple[str, Node], ...]
    api: Node | None = None
    garbage: bytes | None = None

    def __repr__(self) -> str:
        garbage = None if self.garbage is None else _short(self.garbage.decode("latin-1"))
        return f"Fleet(files={self.files!r}, api={self.api!r}, garbage={garbage})"

    def nodes(self) -> Iterator[Node]:
        """Yield every JSON tree of the fleet."""
        for _, node in self.files:
            yield node
        if self.api is not None:
            yield self.api


def _list_response(own: list[Node], leasable: list[Node], bound: Node | None) -> Obj:
    items: list[tuple[str, Node]] = [("success", Raw("true"))]
    if bound is not None:
        items.append(("bound_gateway", bound))
    items += [("own", Arr(tuple(own))), ("leasable", Arr(tuple(leasable)))]
    return Obj(tuple(items))


_NOT_JSON = [
    b'{"id": NaN}',
    b'{"id": Infinity, "params": {}}',
    b'[{"id": -Infinity}]',
    b'{"id": 1,}',
    b'{"id": 1',
    b"\xff\xfe{}",
    b'{"label": "\xc3("}',
    b"",
    b"\xef\xbb\xbf",
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"success": true, "bound_gateway": ' + b"[" * 5_000 + b"]" * 5_000 + b', "own": []}',
]


def fleets(good: Node, *, with_password: bool = True) -> st.SearchStrategy[Fleet]:
    """A fleet holding one hostile gateway beside ``good``, in one of the panel's shapes."""

    @st.composite
    def build(draw: st.DrawFn) -> Fleet:
        hostile = draw(gateways(with_password=with_password))
        layout = draw(st.sampled_from(["array", "list", "files", "api"]))
        garbage = draw(st.none() | st.sampled_from(_NOT_JSON))
        pair = [hostile, good] if draw(st.booleans()) else [good, hostile]
        bound = draw(st.none() | hostile_values())
        if layout == "array":
            return Fleet((("fleet.json", Arr(tuple(pair))),), garbage=garbage)
        if layout == "list":
            # A bound_gateway that is no id rejects the whole list (SC009): not beside the good one.
            bound = draw(st.none() | st.integers(-(2**63), 2**63).map(lambda n: Raw(str(n))))
            if draw(st.booleans()):
                document = _list_response(pair, [], bound)
            else:
                document = _list_response([good], [hostile], bound)
            return Fleet((("fleet.json", document),), garbage=garbage)
        if layout == "files":
            shape = draw(st.sampled_from(["object", "array", "list"]))
            wrapped = {
                "object": hostile,
                "array": Arr((hostile,)),
                "list": _list_response([hostile], [], bound),
            }[shape]
            return Fleet((("a-hostile.json", wrapped), ("b-good.json", good)), garbage=garbage)
        own, leasable = ([hostile], []) if draw(st.booleans()) else ([], [hostile])
        return Fleet((("good.json", good),), api=_list_response(own, leasable, bound))

    return build()
