"""The import contracts hold for any module, the ones written tomorrow included.

Each test copies the package, injects a forbidden import into every module it must not reach,
and runs import-linter on the copy: every single injected module must be reported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "smtpcheck"


def _lint_copy(tmp_path: Path, inject: Callable[[str], str | None]) -> tuple[int, str, set[str]]:
    """Copy the package, add ``inject(module)``'s import line to each module; run the linter."""
    shutil.copytree(PACKAGE, tmp_path / "smtpcheck", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    injected: set[str] = set()
    for path in sorted((tmp_path / "smtpcheck").rglob("*.py")):
        parts = path.relative_to(tmp_path).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        line = inject(module)
        if line is not None:
            path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # injected\n")
            injected.add(module)
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(linter), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout + done.stderr, injected


def _reported(output: str, library: str) -> set[str]:
    """The modules the linter names as importing ``library`` directly."""
    return {
        line.split()[1]
        for line in output.splitlines()
        if line.startswith("-   ") and line.split()[2:4] == ["->", library]
    }


def test_contracts_hold_on_the_package_as_it_is(tmp_path):
    code, output, _ = _lint_copy(tmp_path, lambda module: None)
    assert code == 0, output


@pytest.mark.parametrize(
    ("library", "inject"),
    [
        # httpx in any module of the probe
        ("httpx", lambda m: "import httpx" if m.startswith("smtpcheck.probe") else None),
        # click in any module outside the CLI
        ("click", lambda m: None if m.startswith("smtpcheck.cli") else "import click"),
        # aiosmtplib anywhere but the probe's client
        (
            "aiosmtplib",
            lambda m: None if m == "smtpcheck.probe.client" else "import aiosmtplib",
        ),
        # aiosmtpd anywhere but the demo
        ("aiosmtpd", lambda m: None if m.startswith("smtpcheck.demo") else "import aiosmtpd"),
        # the exporter's libraries anywhere but their one module each
        ("aiohttp", lambda m: None if m == "smtpcheck.serve.app" else "import aiohttp"),
        (
            "prometheus_client",
            lambda m: None if m == "smtpcheck.serve.metrics" else "import prometheus_client",
        ),
    ],
    ids=[
        "httpx-in-probe",
        "click-outside-cli",
        "aiosmtplib-outside-client",
        "aiosmtpd",
        "aiohttp-outside-app",
        "prometheus-client-outside-metrics",
    ],
)
def test_contracts_catch_every_injected_import(tmp_path, library, inject):
    code, output, injected = _lint_copy(tmp_path, inject)
    assert code != 0, output
    assert injected, "nothing was injected: the module discovery is broken"
    assert _reported(output, library) == injected


def test_contracts_catch_a_rule_that_opens_a_socket(tmp_path):
    code, output, _ = _lint_copy(
        tmp_path, lambda m: "import socket" if m == "smtpcheck.rules.ports" else None
    )
    assert code != 0 and "smtpcheck.rules.ports -> socket" in output, output


def test_contracts_catch_a_reporter_that_reads_the_probe(tmp_path):
    line = "import smtpcheck.probe.session"
    code, output, _ = _lint_copy(
        tmp_path, lambda m: line if m == "smtpcheck.reporters.text" else None
    )
    assert code != 0 and "smtpcheck.reporters.text -> smtpcheck.probe.session" in output, output


def test_import_graph_has_no_cycle():
    import grimp  # import-linter's graph builder

    graph = grimp.build_graph("smtpcheck", include_external_packages=False)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(edges[module]):
            if state.get(imported) == "open":
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph.modules):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)
