"""docs/ci.md stays true: its workflows parse, its commands are the real CLI's, and they work.

No GitHub or GitLab runner is here, so the recipes' steps run in order against the local
Mailpit and MailHog stand-ins, with only the catcher's address, SMTP port and EHLO name changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import shlex
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from aiosmtpd.handlers import Sink

from smtpcheck.cli import cli
from smtpcheck.cli.delivery_options import SendArgs
from smtpcheck.delivery.imap import MailboxTarget
from smtpcheck.delivery.inbox import parse_place
from smtpcheck.rules import ALL_RULES
from tests.support.catchers import Mailhog, Mailpit
from tests.support.cli import Run, smtpcheck_async
from tests.support.relays import SubjectTaggingRelay
from tests.support.servers import HOST, Smtpd

__all__: list[str] = []

ROOT = Path(__file__).resolve().parents[1]
CI_DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_GITHUB_CHECK = (
    "smtpcheck check --format junit -o smtpcheck.xml --send-to ci@example.test "
    "--from ci@example.test --expect-delivery mailpit+http://localhost:8025 configs/ci-mailpit.json"
)


# --- reading the doc ----------------------------------------------------------------------------


def _blocks(language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(CI_DOC) if lang == language]


def _yaml_docs() -> list[Any]:
    return [yaml.safe_load(block) for block in _blocks("yaml")]


def _runs(node: Any) -> list[str]:
    """Return every command line of a YAML recipe: each ``run`` line and ``script`` item."""
    if isinstance(node, list):
        return [line for item in node for line in _runs(item)]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if key == "run" and isinstance(value, str):
            found += [line for line in value.splitlines() if line.strip()]
        elif key == "script" and isinstance(value, list):
            found += [str(item) for item in value]
        else:
            found += _runs(value)
    return found


def _github_job() -> dict[str, Any]:
    (workflow,) = [d for d in _yaml_docs() if isinstance(d, dict) and "jobs" in d]
    (job,) = workflow["jobs"].values()
    assert isinstance(job, dict)
    return job


def _gitlab_job() -> dict[str, Any]:
    (doc,) = [d for d in _yaml_docs() if isinstance(d, dict) and "smtp-gateway" in d]
    job = doc["smtp-gateway"]
    assert isinstance(job, dict)
    return job


def _commands() -> list[list[str]]:
    """Return every ``smtpcheck …`` line of the doc (YAML recipes and sh blocks), split."""
    lines = _runs(_yaml_docs())
    for block in _blocks("sh"):
        lines += block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip().startswith("smtpcheck ")]


def _table(text: str, first: str) -> list[list[str]]:
    """Return the cells of each table row whose first cell matches the pattern ``first``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [row for row in rows if re.fullmatch(first, row[0])]


def _context(argv: list[str]) -> click.Context:
    """Parse ``smtpcheck COMMAND ARGS`` as the real CLI does; raises on a bad option or value."""
    assert argv[0] == "smtpcheck", argv
    with click.Context(cli, info_name="smtpcheck") as parent:
        command = cli.get_command(parent, argv[1])
        assert command is not None, f"smtpcheck has no command {argv[1]!r}"
        return command.make_context(argv[1], argv[2:], parent=parent)


# --- the doc as text ----------------------------------------------------------------------------


def test_docs_ci_yaml_blocks_parse():
    docs = _yaml_docs()
    assert len(docs) == 3 and all(isinstance(d, dict | list) for d in docs), docs


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_docs_ci_command_parses(argv: list[str]):
    _context(argv)


@pytest.mark.parametrize("argv", [a for a in _commands() if "--expect-delivery" in a], ids=" ".join)
def test_docs_ci_delivery_url_is_accepted(argv: list[str]):
    params = _context(argv).params
    sending = SendArgs(**{f.name: params[f.name] for f in dataclasses.fields(SendArgs)})
    assert sending.send_to is not None
    assert sending.delivery(ca_file=None, env={sending.delivery_password_env: "x"}) is not None


def test_docs_ci_github_workflow_has_mailpit_and_reports():
    job = _github_job()
    assert job["services"]["mailpit"]["image"] == "axllent/mailpit"
    assert set(job["services"]["mailpit"]["ports"]) == {"1025:1025", "8025:8025"}
    assert _GITHUB_CHECK in _runs(job["steps"])
    uses = {s["uses"].partition("@")[0]: s for s in job["steps"] if "uses" in s}
    upload, junit = uses["actions/upload-artifact"], uses["mikepenz/action-junit-report"]
    assert upload["with"]["path"] == "smtpcheck.xml" and upload["if"] == "always()"
    assert junit["with"] == {"report_paths": "smtpcheck.xml"} and junit["if"] == "always()"


def test_docs_ci_gitlab_job_has_mailhog_and_junit_report():
    job = _gitlab_job()
    assert job["services"] == [{"name": "mailhog/mailhog", "alias": "mailhog"}]
    assert job["artifacts"] == {"when": "always", "reports": {"junit": "smtpcheck.xml"}}
    assert any("--expect-delivery mailhog+http://mailhog:8025" in s for s in job["script"])


def test_docs_ci_finding_table_is_the_catalogue():
    rules = {r.code: (r.slug, str(r.severity)) for r in ALL_RULES}
    rows = _table(CI_DOC, r"SC8\d\d .*")
    assert [row[0].split()[0] for row in rows] == ["SC801", "SC802", "SC803"]
    for row in rows:
        match = re.fullmatch(r"(SC\d+) `([\w-]+)` \((\w+)\)", row[0])
        assert match is not None, row[0]
        code, slug, severity = match.groups()
        assert rules[code] == (slug, severity), code


def test_docs_ci_url_table_parses():
    urls = [row[0].strip("`") for row in _table(CI_DOC, r"`\w+(\+https?)?://.*`")]
    assert len(urls) == 6, urls
    for url in urls:
        concrete = url.replace("USER", "ci").replace("HOST", "mail.test").replace("[:PORT]", "")
        place = parse_place(concrete.replace("FOLDER", "INBOX"))
        if isinstance(place, MailboxTarget):
            assert place.port == {"imaps": 993, "imap": 143}[url.partition(":")[0]], url
        else:
            assert place.kind == url.partition("+")[0], url


def test_docs_ci_exit_codes_are_the_readmes():
    section = README.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    assert [r[0] for r in _table(CI_DOC, r"\d+( / \d+)?")] == [
        r[0] for r in _table(section, r"\d+( / \d+)?")
    ]


def test_readme_ci_section_links_docs_ci():
    section = README.split("## In CI against a test mail server", 1)[1].split("\n## ", 1)[0]
    assert "(docs/ci.md)" in section and "--expect-delivery" in section


# --- the recipes, run ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _serving(server: Any) -> AsyncIterator[Any]:
    """Start a stand-in or an `Smtpd` on 127.0.0.1, port 0, and stop it after."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _point_at(config: Path, port: int) -> str:
    """Point the recipe's gateway at the local SMTP ``port``; return the host it named."""
    document = json.loads(config.read_text())
    named = str(document["params"]["mail.smtp.host"])
    document["params"] |= {
        "mail.smtp.host": HOST,
        "mail.smtp.port": port,
        "mail.smtp.ssl.port": port,
    }
    config.write_text(json.dumps(document))
    return named


async def _check(
    argv: list[str], cwd: Path, *, smtp_port: int, catcher: str, extra: tuple[str, ...]
) -> Run:
    """Run a recipe's ``smtpcheck check`` line here: its catcher and gateway made local."""
    at = argv.index("--expect-delivery") + 1
    kind, _, url = argv[at].partition("+")
    named = [_point_at(cwd / source, smtp_port) for source in argv if source.endswith(".json")]
    # The gateway and the catcher are one service container: the same host in both.
    assert named == [urlsplit(url).hostname], (named, url)
    argv[at] = f"{kind}+{catcher}"
    return await smtpcheck_async(*argv[1:], "--ehlo", "ci.test", *extra, cwd=cwd)


async def _run_recipe(
    lines: list[str], cwd: Path, *, smtp_port: int, catcher: str, extra: tuple[str, ...] = ()
) -> Run:
    """Run a recipe's lines in order and return its check's run."""
    runs = []
    for line in lines:
        argv = shlex.split(line)
        if argv[:2] == ["pip", "install"]:
            assert argv == ["pip", "install", "smtpcheck"]  # this one is already installed
        elif argv[:2] == ["smtpcheck", "check"]:
            runs.append(await _check(argv, cwd, smtp_port=smtp_port, catcher=catcher, extra=extra))
        elif argv[0] == "smtpcheck":
            done = await smtpcheck_async(*argv[1:], cwd=cwd)
            assert done.code == 0, done.output
        else:
            assert argv[0] == "sed", f"a step this test does not know how to run: {line}"
            shell = await asyncio.create_subprocess_exec("sh", "-c", line, cwd=cwd)
            assert await asyncio.wait_for(shell.wait(), 30) == 0, line
    (run,) = runs
    return run


def _testcase(cwd: Path) -> ET.Element:
    (case,) = ET.parse(cwd / "smtpcheck.xml").getroot().iter("testcase")
    return case


@pytest.mark.parametrize(
    ("kind", "recipe"),
    [(Mailpit, lambda: _runs(_github_job()["steps"])), (Mailhog, lambda: _gitlab_job()["script"])],
    ids=["github-mailpit", "gitlab-mailhog"],
)
async def test_docs_ci_recipe_delivers_and_removes(tmp_path: Path, kind: Any, recipe: Any):
    async with _serving(kind()) as catcher:
        run = await _run_recipe(
            recipe(), tmp_path, smtp_port=catcher.smtp.port, catcher=catcher.url
        )
        assert run.code == 0, run.output
        assert list(_testcase(tmp_path)) == [], ET.tostring(_testcase(tmp_path))
        assert re.search(r"delivery +ok", (tmp_path / "smtpcheck.xml").read_text())
        assert catcher.messages == [] and any(r[0] == "DELETE" for r in catcher.requests)


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    return f"http://{HOST}:{port}"  # nothing listens there once the socket is closed


@pytest.mark.parametrize(
    ("code", "exit_code", "outcome"),
    [("SC801", 1, "failure"), ("SC802", 0, None), ("SC803", 1, "error")],
)
async def test_docs_ci_finding_fails_the_job_as_documented(
    tmp_path: Path, code: str, exit_code: int, outcome: str | None
):
    async with _serving(Mailpit()) as catcher:
        handler = Sink() if code == "SC801" else SubjectTaggingRelay(catcher.smtp.port)
        async with _serving(Smtpd(handler=handler)) as relay:
            url = _closed_url() if code == "SC803" else catcher.url
            lines = _runs(_github_job()["steps"])
            run = await _run_recipe(
                lines,
                tmp_path,
                smtp_port=relay.port,
                catcher=url,
                extra=("--delivery-timeout", "1"),
            )
    assert run.code == exit_code, run.output
    children = list(_testcase(tmp_path))
    assert [(c.tag, c.get("type")) for c in children] == ([(outcome, code)] if outcome else [])
    assert code in (tmp_path / "smtpcheck.xml").read_text()
