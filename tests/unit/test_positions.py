"""The JSON key scanner: exact regions counted by hand, and a property over generated JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpcheck.config.positions import KeyMap, KeyPath, scan
from smtpcheck.results import Region

_CI = os.environ.get("CI", "").lower() == "true"


def test_positions_key_region_covers_the_quoted_name():
    keys = scan('{"id": 7, "params": {"mail.smtp.port": 587}}')
    assert keys.key(("id",)) == Region(1, 2, 1, 6)
    assert keys.key(("params",)) == Region(1, 11, 1, 19)
    assert keys.key(("params", "mail.smtp.port")) == Region(1, 22, 1, 38)
    assert keys.opening(("params",)) == Region(1, 21, 1, 22)
    assert keys.opening(()) == Region(1, 1, 1, 2)


def test_positions_bom_and_crlf_shift_nothing():
    text = (
        '\ufeff{\r\n  "own": [\r\n    {"id": 1},\r\n'
        '    {"id": 2, "params": {"k": true}}\r\n  ]\r\n}\r\n'
    )
    keys = scan(text)
    assert keys.key(("own",)) == Region(2, 3, 2, 8)
    assert keys.opening(("own", 0)) == Region(3, 5, 3, 6)
    assert keys.key(("own", 1, "params", "k")) == Region(4, 26, 4, 29)


def test_positions_columns_count_utf16_code_units():
    # 📧 (U+1F4E7) is one code point but two UTF-16 units: "k" is at column 24, not 23.
    keys = scan('{"label": "\U0001f4e7 Zürich", "k": 1}')
    assert keys.key(("k",)) == Region(1, 24, 1, 27)
    # A key made of one such character spans its quotes plus two units.
    assert scan('{"\U0001f4e7": 1}').key(("\U0001f4e7",)) == Region(1, 2, 1, 6)


def test_positions_strings_with_escapes_and_brackets_do_not_confuse_it():
    text = r'{"label": "a \"}{[ b", "m\u0061il": {"x": 1}}'
    keys = scan(text)
    # The key is found by its decoded name; the region covers it as written (11 characters).
    assert keys.key(("mail",)) == Region(1, 24, 1, 35)
    assert keys.key(("mail", "x")) == Region(1, 38, 1, 41)
    assert keys.key(("label",)) == Region(1, 2, 1, 9)


def test_positions_duplicate_keys_point_at_the_last_one():
    keys = scan('{"p": {"a": 1}, "p": {"b": 2}}')
    assert keys.key(("p",)) == Region(1, 17, 1, 20)
    assert keys.key(("p", "b")) == Region(1, 23, 1, 26)
    assert keys.key(("p", "a")) is None  # the first "p" is not what a JSON reader keeps
    replaced = scan('{"p": {"a": 1}, "p": 3}')
    assert replaced.key(("p", "a")) is None
    assert replaced.opening(("p",)) is None


def test_positions_arrays_are_indexed_by_position():
    keys = scan('[{"a": 1}, 2, [3, {"b": 4}], "s"]')
    assert keys.key((0, "a")) == Region(1, 3, 1, 6)
    assert keys.opening((2,)) == Region(1, 15, 1, 16)
    assert keys.key((2, 1, "b")) == Region(1, 20, 1, 23)
    assert keys.opening((1,)) is None  # a number has no brace
    assert keys.opening((9,)) is None


def test_positions_misses_are_none():
    keys = scan('{"a": {"b": [1]}}')
    assert keys.key(("nope",)) is None
    assert keys.key(("a", "b", "c")) is None  # below an array, by name
    assert keys.key(("a", "b", 0)) is None  # an index is not a key
    assert keys.key(()) is None
    assert keys.opening(("a", 0)) is None  # an object, by index


def test_positions_first_character_of_the_document():
    assert scan('  "hello"').first() == Region(1, 3, 1, 4)
    assert scan("\n 7").first() == Region(2, 2, 2, 3)
    assert scan(" \n ").first() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"id": 7,}', Region(1, 10, 1, 11)),  # the closing brace where a key belongs
        ('{"id": 7', Region(1, 9, 1, 9)),  # at the end of the text: an empty region there
        ('{"a": "\U0001f4e7", x}', Region(1, 13, 1, 14)),  # the decoder counts code points
        ('{\n  "a": 1\n  "b": 2}', Region(3, 3, 3, 4)),
    ],
)
def test_positions_point_turns_a_decoder_position_into_a_region(text, expected):
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    assert KeyMap.lines(text).point(caught.value.lineno, caught.value.colno) == expected


def test_positions_point_outside_the_text_is_none():
    lines = KeyMap.lines('{"a":\n1}')
    assert lines.point(3, 1) is None
    assert lines.point(1, 0) is None
    assert lines.point(1, 99) == Region(1, 6, 1, 6)  # clamped to the end of its line


@pytest.mark.parametrize("text", ['{"a": [1}', '{"a": 1', "[1]]", '{"a": 1} {"b": 2}', "[1, 2]]"])
def test_positions_refuses_brackets_that_do_not_pair(text):
    with pytest.raises(ValueError, match=r"unpaired|ends inside|more than one|without a comma"):
        scan(text)


def test_positions_a_key_where_none_belongs_is_refused():
    with pytest.raises(ValueError, match="key outside an object"):
        scan('["a": 1]')


# -- any JSON: every key's region holds exactly that key as written ---------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


def _key_paths(value: object, path: KeyPath = ()) -> Iterator[KeyPath]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _key_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _key_paths(item, (*path, index))


def _cut(text: str, region: Region) -> str:
    """Return the text a region covers, counting its columns in UTF-16 code units."""
    assert region.line == region.end_line
    line = text.removeprefix("\ufeff").split("\n")[region.line - 1]
    units = line.encode("utf-16-le", "surrogatepass")
    return units[2 * (region.column - 1) : 2 * (region.end_column - 1)].decode("utf-16-le")


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=_CI,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    value=st.dictionaries(st.text(max_size=6), _VALUES, max_size=5),
    indent=st.sampled_from([None, 0, 2, "\t"]),
    ascii_only=st.booleans(),
    crlf=st.booleans(),
    bom=st.booleans(),
)
def test_positions_every_key_region_holds_that_key(value, indent, ascii_only, crlf, bom):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    if crlf:
        text = text.replace("\n", "\r\n")  # only whitespace holds a raw newline in JSON
    if bom:
        text = "\ufeff" + text
    keys = scan(text)
    for path in _key_paths(value):
        region = keys.key(path)
        assert region is not None, path
        assert _cut(text, region) == json.dumps(path[-1], ensure_ascii=ascii_only), path
