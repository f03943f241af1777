"""The public API is what it says: `smtpcheck.__all__`, the README's list, each module's own."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import smtpcheck

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
# Every module but the entry point, which runs the command line when imported.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(smtpcheck.__path__, "smtpcheck.")
    if info.name != "smtpcheck.__main__"
)


def test_public_api_is_the_documented_list():
    block = README.split("<!-- public-api -->", 1)[1].split("<!-- /public-api -->", 1)[0]
    assert re.findall(r"`([A-Za-z_]+)`", block) == smtpcheck.__all__


def test_every_public_name_resolves():
    for name in smtpcheck.__all__:
        assert getattr(smtpcheck, name) is not None, name
    assert sorted(dir(smtpcheck)) == sorted(smtpcheck.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_what_it_exports(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [member for member in exported if not hasattr(module, member)]
    assert missing == [], f"{name}.__all__ names what it does not define"
