"""The built package is what users install: sdist and wheel built offline, then used as pipx would.

Built with ``--no-isolation`` from the dev extras' setuptools, so no test reaches a package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "sample_configs"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def _members(dist: Path) -> tuple[list[str], list[str]]:
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    with tarfile.open(sdist) as archive:
        in_sdist = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = archive.namelist()
    return in_sdist, in_wheel


def _sample_names() -> list[str]:
    return sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.suffix in (".json", ".md") and "demo" not in p.parts
    )


def test_sdist_holds_the_package_and_its_licence_but_no_stray_tests(dist):
    in_sdist, _ = _members(dist)
    assert "LICENSE" in in_sdist and "pyproject.toml" in in_sdist
    assert not [name for name in in_sdist if name.startswith(("tests", "bench", "scripts"))]
    assert "smtpcheck/cli/__init__.py" in in_sdist


def test_wheel_ships_the_samples_and_the_licence(dist):
    _, in_wheel = _members(dist)
    shipped = sorted(n.removeprefix("smtpcheck/samples/") for n in in_wheel if "/samples/" in n)
    assert shipped == _sample_names()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel)
    assert not [name for name in in_wheel if name.startswith("tests/")]


def test_installed_wheel_writes_samples_that_the_readme_ci_command_checks(dist, tmp_path):
    # Installed as pipx would (the wheel, no source tree on the path), run from elsewhere.
    (wheel,) = dist.glob("*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
         str(target), str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    # The dependencies come from this environment's site-packages; the source tree does not.
    env = {**os.environ, "PYTHONPATH": f"{target}{os.pathsep}{sysconfig.get_paths()['purelib']}"}
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()

    def smtpcheck(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-I", "-c", _MAIN, *args]
        return subprocess.run(command, cwd=run_dir, env=env, capture_output=True, text=True)

    where = smtpcheck("--version")
    assert where.returncode == 0, where
    written = smtpcheck("samples", "configs")
    assert written.returncode == 0, written
    names = sorted(str(p.relative_to(run_dir / "configs")) for p in run_dir.rglob("*.*"))
    assert names == _sample_names()
    checked = smtpcheck("validate", "configs/ci-mailpit.json")
    assert checked.returncode == 0, checked
    assert where.stdout.startswith("smtpcheck "), where


# -I ignores PYTHONPATH, so the path is set from the environment by hand; the package is
# imported from the installed wheel and its location checked.
_MAIN = (
    "import os, sys; sys.path[:0] = os.environ['PYTHONPATH'].split(os.pathsep); "
    "import smtpcheck; "
    "assert 'site' in smtpcheck.__file__, smtpcheck.__file__; "
    "from smtpcheck.cli import main; sys.argv[0] = 'smtpcheck'; main(sys.argv[1:])"
)
