"""SARIF 2.1.0 for code scanning: one run, a rule per code found, a result per finding.

Each result points at the offending key in its file when the run's ``locations`` say where;
rule help comes as data (``RenderOptions.rule_help``), since reporters never see the rules.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from smtpcheck.reporters._common import gateway_name
from smtpcheck.reporters.base import RenderOptions
from smtpcheck.reporters.rule_docs import rule_markdown
from smtpcheck.results import Finding, GatewayReport, Locations, Region, Report, Severity
from smtpcheck.results.location import RuleHelp, is_file_source

__all__ = ["PROJECT_URL", "RULES_URL", "SARIF_SCHEMA", "render_sarif"]

#: The project's home, and the page every rule's ``helpUri`` points into (``#sc201``).
PROJECT_URL = "https://github.com/smtpcheck/smtpcheck"
RULES_URL = f"{PROJECT_URL}/blob/main/docs/rules.md#"
#: The OASIS schema the log follows (2.1.0 with its errata), as its ``$id`` names it.
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_SURROGATE = re.compile("[\ud800-\udfff]")
# Relative paths resolve against the checkout: GitHub code scanning reads them from its root.
_SRCROOT = "%SRCROOT%"

_Json = dict[str, Any]


def render_sarif(report: Report, options: RenderOptions) -> str:
    """Render the report as one SARIF 2.1.0 log with one run."""
    help_by_code = options.rule_help or {}
    locations: Locations = options.locations or {}
    findings = [(None, f) for f in report.findings] + [
        (g, f) for g in report.gateways for f in g.findings
    ]
    codes = sorted({f.code for _, f in findings})
    index = {code: i for i, code in enumerate(codes)}
    first: dict[str, Finding] = {}
    for _, finding in findings:
        first.setdefault(finding.code, finding)
    driver: _Json = {"name": "smtpcheck", "informationUri": PROJECT_URL}
    if report.version:
        driver["version"] = report.version
    driver["rules"] = [_rule(help_by_code.get(code), first[code]) for code in codes]
    results = [_result(f, g, index[f.code], locations) for g, f in findings]
    run: _Json = {
        "tool": {"driver": driver},
        # Columns as editors and GitHub count them (JavaScript strings): a character outside
        # the BMP, such as an emoji in a label, takes two.
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    text = json.dumps(log, indent=2, ensure_ascii=False)
    # A lone surrogate (JSON input may hold "\ud800") cannot be written as UTF-8: keep it escaped.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _rule(help_: RuleHelp | None, example: Finding) -> _Json:
    """Describe one rule; without its help (a code no rule defines), from its first finding."""
    if help_ is None:
        return {
            "id": example.code,
            "name": example.slug,
            "shortDescription": {"text": example.slug},
            "helpUri": _help_uri(example.code),
            "defaultConfiguration": {"level": _LEVEL[example.severity]},
        }
    descriptor: _Json = {
        "id": help_.code,
        "name": help_.slug,
        "shortDescription": {"text": help_.summary or help_.slug},
    }
    checks = help_.section("What it checks")
    if checks:
        descriptor["fullDescription"] = {"text": _unwrapped(checks)}
    if help_.sections:
        descriptor["help"] = {"text": _help_text(help_), "markdown": rule_markdown(help_)}
    descriptor["helpUri"] = _help_uri(help_.code)
    descriptor["defaultConfiguration"] = {"level": _LEVEL[help_.severity]}
    return descriptor


def _help_uri(code: str) -> str:
    return f"{RULES_URL}{code.lower()}"


def _help_text(help_: RuleHelp) -> str:
    parts = [help_.summary] if help_.summary else []
    for title, body in help_.sections:
        indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
        parts.append(f"{title}:\n{indented}")
    return "\n\n".join(parts)


def _unwrapped(text: str) -> str:
    """Join a docstring paragraph's lines, which were wrapped for the source file."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _result(
    finding: Finding,
    gateway: GatewayReport | None,
    rule_index: int,
    locations: Locations,
) -> _Json:
    text = f"{finding.message} (fix: {finding.fix})" if finding.fix else finding.message
    result: _Json = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
    }
    if gateway is None and finding.places:
        # About several gateways (SC005): a location at each, as code scanning needs one.
        result["locations"] = [
            _place(finding, source, position, locations) for source, position in finding.places
        ]
        return result
    location = _location(finding, gateway, locations)
    if location is not None:
        result["locations"] = [location]
    return result


def _place(finding: Finding, source: str, position: str, locations: Locations) -> _Json:
    """Say where one of the gateways a fleet finding is about stands."""
    name = _place_name(source, position)
    location: _Json = {"logicalLocations": [{"name": name, "fullyQualifiedName": name}]}
    if is_file_source(source):
        location["physicalLocation"] = _physical(source, position, finding.param, locations)
    return location


def _physical(source: str, position: str, param: str | None, locations: Locations) -> _Json:
    """Point into the file: at the region of the key, when the file still holds it."""
    physical: _Json = {"artifactLocation": _artifact(source)}
    region = locations.get((source, position, param))
    if region is not None:
        physical["region"] = _region(region)
    return physical


def _place_name(source: str, position: str) -> str:
    return f"{source}{position}" if position[:1] in ("", "[") else f"{source} {position}"


def _location(
    finding: Finding, gateway: GatewayReport | None, locations: Locations
) -> _Json | None:
    """Say where a finding stands: in its file when it has one, and by name when a gateway's."""
    source = gateway.source if gateway is not None else finding.source
    if source is None:
        return None  # about the whole run, and no gateway named (fleet findings have places)
    position = gateway.position if gateway is not None else ""
    location: _Json = {}
    if is_file_source(source):
        location["physicalLocation"] = _physical(source, position, finding.param, locations)
    if gateway is not None:
        place = _place_name(source, position)
        qualified = f"{place} → {finding.param}" if finding.param else place
        location["logicalLocations"] = [
            {"name": gateway_name(gateway), "fullyQualifiedName": qualified}
        ]
    elif not is_file_source(source):
        location["logicalLocations"] = [{"name": source}]
    return location


def _artifact(source: str) -> _Json:
    path = PurePath(source)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    # A file name that is not UTF-8 reaches us with surrogate escapes; its URI keeps the bytes.
    uri = quote(path.as_posix(), safe="/", errors="surrogateescape")
    return {"uri": uri, "uriBaseId": _SRCROOT}


def _region(region: Region) -> _Json:
    return {
        "startLine": region.line,
        "startColumn": region.column,
        "endLine": region.end_line,
        "endColumn": region.end_column,
    }
