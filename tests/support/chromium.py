"""A real headless Chromium for tests: load a page on loopback, read its DOM, take a screenshot.

`dump_dom` and `screenshot` run one browser each, in a fresh profile, bounded by a timeout that
kills the whole process group. The flags keep the browser off every network but loopback: no
name resolves, no proxy is used, and the background services of a full Chromium (updates,
sync, metrics, crash reports, first-run pages) stay off. `browser()` finds Debian's
``chromium-headless-shell`` (or ``chromium``) and skips without one (fails under CI).
`parse_html` reads a page, as written or as Chromium serialized it, into a small tree.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests.support.gate import refuse

__all__ = [
    "FLAGS",
    "ChromiumError",
    "Node",
    "browser",
    "command",
    "dump_dom",
    "find_chromium",
    "parse_html",
    "screenshot",
]

#: Looked up on PATH in this order: the old headless shell starts fastest and is all a test needs.
_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser")
_DEBIAN = ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium")
_TIMEOUT = 60.0

#: Every run's flags, each for a reason (the profile directory and --no-sandbox are added per run).
FLAGS = (
    "--headless",
    # No GPU in CI containers; without this the GPU process probes /dev/dri and logs about it.
    "--disable-gpu",
    # Every host name fails to resolve, without a DNS query: a page (or the browser itself) that
    # names an outside host cannot reach it. The tests' pages are served on 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    # A proxy from the environment (http_proxy) would be another way out; use none.
    "--no-proxy-server",
    # The background services of a full Chromium (the headless shell has none of them): the
    # component updater, variations and other background fetches, sync, first-run and
    # default-browser pages, crash reports, hyperlink-auditing pings, metrics uploads.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--metrics-recording-only",
    "--password-store=basic",
    # Screenshots the same on every machine: no HiDPI scaling, no scrollbars, no GPU blending.
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumError(RuntimeError):
    """Chromium exited with an error, or was killed at its timeout; ``stderr`` says what it said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}\n{_tail(stderr)}" if stderr else message)
        self.stderr = stderr


@functools.cache
def find_chromium() -> str | None:
    """Return the path of a headless-capable Chromium, or None when none is installed."""
    for name in _NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return next((path for path in _DEBIAN if os.access(path, os.X_OK)), None)


def browser() -> str:
    """Return the Chromium to use, or skip the test (fail it under CI=true) without one.

    Raises:
        pytest.skip.Exception: no Chromium is installed (outside CI).
        pytest.fail.Exception: no Chromium is installed, under CI=true.
    """
    found = find_chromium()
    if found is None:
        refuse("no headless Chromium (Debian: apt-get install chromium-headless-shell)")
    return found


def command(profile: str, *extra: str, chromium: str | None = None) -> list[str]:
    """Return the command that runs Chromium with `FLAGS`, a profile directory and ``extra``."""
    args = [chromium or browser(), *FLAGS, f"--user-data-dir={profile}"]
    if os.geteuid() == 0:  # Chromium refuses to start its sandbox as root
        args.append("--no-sandbox")
    return [*args, *extra]


def dump_dom(url: str, *, timeout: float = _TIMEOUT, prefix: Sequence[str] = ()) -> str:
    """Load ``url`` and return the DOM once the page has loaded, serialized as HTML.

    ``prefix`` runs the browser under another command (``strace -f …``).

    Raises:
        ChromiumError: the browser failed or outlived ``timeout``.
    """
    with tempfile.TemporaryDirectory(prefix="smtpcheck-chromium-") as home:
        out = _run([*prefix, *command(f"{home}/profile", "--dump-dom", url)], home, timeout)
    return out


def screenshot(
    url: str, path: str | os.PathLike[str], width: int, height: int, *, timeout: float = _TIMEOUT
) -> None:
    """Load ``url`` in a ``width`` × ``height`` window and write what it shows to ``path`` (PNG).

    Raises:
        ChromiumError: the browser failed, outlived ``timeout``, or wrote no file.
    """
    target = Path(path).resolve()
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="smtpcheck-chromium-") as home:
        size = f"--window-size={width},{height}"
        _run(command(f"{home}/profile", size, f"--screenshot={target}", url), home, timeout)
    if not target.is_file():
        raise ChromiumError(f"Chromium wrote no screenshot to {target}")


def _run(args: list[str], home: str, timeout: float) -> str:
    # HOME and the XDG directories in the run's own directory: the browser writes its caches
    # and NSS database there, never into the developer's home.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    # A session of its own, so the browser and every helper process it forks (zygote, GPU,
    # renderer, network service) can be killed at once. Debian's /usr/bin/chromium-headless-shell
    # is a shell script: killing only the child would orphan the browser, which keeps stdout
    # open, and communicate() would wait for it forever.
    with subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            out, err = process.communicate()
            raise ChromiumError(
                f"Chromium did not finish within {timeout:g} s: {args[-1]}",
                err.decode("utf-8", "replace"),
            ) from None
        finally:
            _kill_group(process.pid)  # a helper left behind by a browser that did exit
    if process.returncode != 0:
        raise ChromiumError(
            f"Chromium exited {process.returncode}: {args[-1]}", err.decode("utf-8", "replace")
        )
    return out.decode("utf-8")


def _kill_group(pgid: int) -> None:
    # ProcessLookupError: the group is gone already, nothing was left running.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- reading a DOM -----------------------------------------------------------------------------

#: HTML's void elements: they have no end tag, so the tree must not wait for one.
_VOID = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()  # noqa: SIM905
)

#: Elements a browser lays out as blocks (or cells): their text never runs into the next.
_BLOCK = frozenset("br div h1 h2 h3 header li p section table tbody td th thead tr ul".split())  # noqa: SIM905


@dataclass(eq=False)
class Node:
    """One element: its tag, its attributes (character references resolved) and its children."""

    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """Return the text a person reads in this element, whitespace runs folded to one space."""
        return " ".join("".join(self._strings()).split())

    def iter(self, tag: str | None = None, cls: str | None = None) -> Iterator[Node]:
        """Yield this element and every element below it, in document order, filtered."""
        if (tag is None or self.tag == tag) and (cls is None or cls in self.classes):
            yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter(tag, cls)

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        """Return the first element that matches.

        Raises:
            LookupError: none does.
        """
        for node in self.iter(tag, cls):
            return node
        raise LookupError(f"no <{tag or '*'}> of class {cls!r} below <{self.tag}>")

    @property
    def classes(self) -> list[str]:
        """Return the element's class names."""
        return (self.attrs.get("class") or "").split()

    def _strings(self) -> Iterator[str]:
        for child in self.children:
            if isinstance(child, str):
                yield child
            elif child.tag in _BLOCK:  # a block starts a line of its own: words do not run on
                yield " "
                yield from child._strings()
                yield " "
            else:
                yield from child._strings()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching element; an end tag that matches nothing open is ignored.
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse_html(text: str) -> Node:
    """Return the document's tree (a ``#document`` node holding the ``html`` element)."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
