"""Where a run's gateways come from: files, directories, standard input, and the panel API.

`Sources` is an iterable of documents, so every pipeline function that takes documents takes
it as it is. The panel client (and httpx) is imported only when the panel is asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from smtpcheck.config.documents import SourceDocument
from smtpcheck.config.loading import document_from_data, load_paths
from smtpcheck.defaults import API_TIMEOUT

if TYPE_CHECKING:
    from smtpcheck.panel.credentials import Credentials

__all__ = ["PanelSource", "Sources", "fetch_list"]


@dataclass(frozen=True, slots=True)
class PanelSource:
    """A panel API to read the gateway list from, and the session to read it with."""

    base_url: str  # such as https://api.eu.navixy.com/v2, no trailing slash
    credentials: Credentials = field(repr=False)
    timeout: float = API_TIMEOUT

    @property
    def name(self) -> str:
        """Return how reports name this source: the list URL (it never carries the hash)."""
        from smtpcheck.panel.client import LIST_ACTION  # an API run loads the client anyway

        return f"{self.base_url}/{LIST_ACTION}"


@dataclass(frozen=True, slots=True)
class Sources:
    """The sources of a run: the panel's list first (when given), then each path in turn."""

    paths: Sequence[str] = ()
    panel: PanelSource | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    stdin: BinaryIO | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[SourceDocument]:
        """Yield each source parsed, reading each one only when it is reached.

        Raises:
            ConfigLoadError: a path does not exist or cannot be read.
            PlatformError: the panel API could not be used.
        """
        panel = () if self.panel is None else (_panel_document(self.panel),)
        return itertools.chain(
            panel, load_paths(self.paths, environ=self.environ, stdin=self.stdin)
        )


def fetch_list(panel: PanelSource) -> dict[str, Any]:
    """Return the panel's gateway list response.

    Raises:
        PlatformError: the API could not be used.
    """
    from smtpcheck.panel.client import fetch_gateway_list

    return fetch_gateway_list(panel.base_url, panel.credentials, timeout=panel.timeout)


def _panel_document(panel: PanelSource) -> SourceDocument:
    # No "${NAME}" substitution: in API data it is text like any other. Expanding it would let
    # whoever edits a gateway in the panel read this machine's environment (a "${AWS_SECRET}"
    # password sent to their own SMTP server).
    return document_from_data(fetch_list(panel), source=panel.name, environ=None)
