"""What SARIF needs beyond the report: where each finding stands in its file, and rule help.

Run only when SARIF is asked for: it reads each file source once more and scans its keys,
which `validate` of a large fleet must not pay for otherwise.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from smtpcheck.config.loading import json_int
from smtpcheck.config.positions import KeyMap, KeyPath, scan
from smtpcheck.results import Finding, GatewayReport, LocationKey, Locations, Region, Report
from smtpcheck.results.location import RuleHelp, is_file_source

__all__ = ["gateway_path", "locations", "rule_help"]

_POSITION = re.compile(r"(?:(own|leasable))?(?:\[(\d+)\])?")
_SECTION = re.compile(r"([A-Z][A-Za-z ]*):")
_INVALID_JSON = "SC001"
_NOT_UTF8 = "not UTF-8 text"


def locations(report: Report) -> Locations:
    """Return the region each finding of the report points at, for the sources that are files.

    Standard input and the panel's list have no file to point into; a file that vanished,
    cannot be read or no longer holds what the report says gets no regions either.
    """
    wanted: defaultdict[str, set[tuple[str, str | None]]] = defaultdict(set)
    gateways: defaultdict[str, list[GatewayReport]] = defaultdict(list)
    errors: dict[str, Finding] = {}
    for finding in report.findings:
        if finding.source is not None:
            wanted[finding.source].add(("", finding.param))
            if finding.code == _INVALID_JSON:
                errors.setdefault(finding.source, finding)
        for source, position in finding.places:  # a fleet finding: at each gateway it names
            wanted[source].add((position, finding.param))
    for gateway in report.gateways:
        gateways[gateway.source].append(gateway)
        for finding in gateway.findings:
            wanted[gateway.source].add((gateway.position, finding.param))
    found: dict[LocationKey, Region] = {}
    for source, keys in wanted.items():
        if is_file_source(source):
            found.update(_file_regions(source, keys, gateways[source], errors.get(source)))
    return found


def gateway_path(position: str) -> KeyPath | None:
    """Return the key path of a gateway's position: '' → (), '[2]' → (2,), 'own[0]' → ('own', 0)."""
    match = _POSITION.fullmatch(position)
    if match is None:
        return None
    name, index = match.groups()
    return (*((name,) if name else ()), *((int(index),) if index is not None else ()))


def rule_help(codes: Iterable[str]) -> dict[str, RuleHelp]:
    """Return the documentation of each rule among ``codes`` (unknown codes are left out)."""
    from smtpcheck.rules import find_rule  # only SARIF and `smtpcheck rules` read rule docs

    found: dict[str, RuleHelp] = {}
    for code in dict.fromkeys(codes):
        rule = find_rule(code)
        if rule is not None:
            summary, sections = _sections(rule.doc)
            found[code] = RuleHelp(rule.code, rule.slug, rule.severity, summary, sections)
    return found


def _file_regions(
    source: str,
    keys: set[tuple[str, str | None]],
    gateways: list[GatewayReport],
    json_error: Finding | None,
) -> Iterator[tuple[LocationKey, Region]]:
    try:
        data = Path(source).read_bytes()
    except OSError:
        return  # vanished or unreadable since the run read it: nothing to point at
    text = data.decode("utf-8-sig", errors="replace")
    if json_error is not None:
        region = _json_error_region(json_error, data, text)
        if region is not None:
            yield (source, "", None), region
        return
    try:
        value = json.loads(text, parse_int=json_int)
        keymap = scan(text)
    except (ValueError, RecursionError):
        return  # it parsed when the run read it: it has changed since
    changed = {g.position for g in gateways if not _same_gateway(value, g)}
    for position, param in keys:
        path = gateway_path(position)
        if path is not None and position not in changed:
            region = _region(keymap, path, param)
            if region is not None:
                yield (source, position, param), region


def _region(keymap: KeyMap, path: KeyPath, param: str | None) -> Region | None:
    """Point at the param's key, else the gateway field's, else ``"params"``, else the brace."""
    if param is not None:
        region = (
            keymap.key((*path, "params", param))
            or keymap.key((*path, param))
            or keymap.key((*path, "params"))
        )
        if region is not None:
            return region
    # A gateway that is not an object ("[1, 2]" holds no gateway) is pointed at by what holds it.
    for depth in range(len(path), -1, -1):
        region = keymap.opening(path[:depth])
        if region is not None:
            return region
    return keymap.first()


def _at(value: object, path: KeyPath | None) -> object:
    if path is None:
        return None
    for part in path:
        if isinstance(part, str) and isinstance(value, dict):
            value = value.get(part)
        elif isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _same_gateway(document: object, gateway: GatewayReport) -> bool:
    """Return True when the object at the gateway's position has the id and label reported."""
    item = _at(document, gateway_path(gateway.position))
    if not isinstance(item, dict):
        return gateway.id is None and gateway.label is None
    raw_id, raw_label = item.get("id"), item.get("label")
    if isinstance(raw_id, str) and raw_id.startswith("$"):
        raw_id = gateway.id  # "${GATEWAY_ID}": the report holds the resolved value
    if isinstance(raw_label, str) and raw_label.startswith("$"):
        raw_label = gateway.label
    gw_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    label = raw_label if isinstance(raw_label, str) else None
    return gw_id == gateway.id and label == gateway.label


def _json_error_region(finding: Finding, data: bytes, text: str) -> Region | None:
    """Point where the JSON decoder stopped, as SC001's message gives it ('file:3:14: …')."""
    prefix = f"{finding.source}:"
    match = re.match(r"(\d+):(\d+): not valid JSON: (.*)", finding.message[len(prefix) :])
    if not finding.message.startswith(prefix) or match is None:
        return None
    line, column = int(match.group(1)), int(match.group(2))
    if not _still_invalid(data, text, not_utf8=match.group(3) == _NOT_UTF8):
        return None  # it has been fixed (or changed) since the run read it
    if match.group(3) == _NOT_UTF8:
        column = _code_point_column(data, line, column)
    return KeyMap.lines(text).point(line, column)


def _still_invalid(data: bytes, text: str, *, not_utf8: bool) -> bool:
    try:
        if not_utf8:
            data.decode("utf-8-sig")
        else:
            json.loads(text, parse_int=json_int, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return True
    return False


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # the loader refuses NaN and Infinity too


def _code_point_column(data: bytes, line: int, column: int) -> int:
    # The loader counts the column of a byte that is not UTF-8 in bytes, BOM included; the
    # bytes before it on its line are valid UTF-8, so decoding them gives code points.
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
    before = data[start : start + column - 1]
    if line == 1:
        before = before.removeprefix(b"\xef\xbb\xbf")
    return len(before.decode("utf-8", errors="replace")) + 1


def _sections(doc: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split a rule's docstring into its summary and its (title, body) sections, in order."""
    lines = doc.splitlines()
    sections: list[tuple[str, list[str]]] = []
    for line in lines[1:]:
        header = _SECTION.fullmatch(line)
        if header:
            sections.append((header.group(1), []))
        elif sections:
            sections[-1][1].append(line.removeprefix("    "))
    summary = lines[0] if lines else ""
    return summary, tuple((title, "\n".join(body).strip()) for title, body in sections)
