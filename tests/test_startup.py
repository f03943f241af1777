"""Start-up stays cheap: the commands that need no network never import the network clients.

Each command runs in a fresh interpreter, which then reports the modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import LIST_MODULES

SAMPLE = Path(__file__).parent.parent / "sample_configs" / "panel-list-response.json"


def _modules_after(tmp_path: Path, *argv: str) -> set[str]:
    out = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", LIST_MODULES, str(out), *argv],
        check=True,
        capture_output=True,
    )
    return {name.partition(".")[0] for name in json.loads(out.read_text())}


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["rules"],
        ["rules", "SC105"],
        ["validate", str(SAMPLE)],
        ["validate", "--format", "json", str(SAMPLE)],
        ["discover", "--help"],
        ["check", "--help"],
        ["schema"],
        ["samples", "--help"],
    ],
    ids=" ".join,
)
def test_startup_never_imports_network_clients(tmp_path, argv):
    loaded = _modules_after(tmp_path, *argv)
    assert "smtpcheck" in loaded  # the probe did run
    assert not loaded & {"httpx", "httpcore", "aiosmtplib", "asyncio", "ssl"}, sorted(loaded)


@pytest.mark.parametrize(
    "argv", [["--version"], ["rules"], ["rules", "SC105"], ["schema"]], ids=" ".join
)
def test_startup_catalogue_needs_no_pydantic(tmp_path, argv):
    loaded = _modules_after(tmp_path, *argv)
    assert "pydantic" not in loaded
