"""`--shard K/N`: which gateways this replica checks, by a stable hash of the gateway id.

Every replica computes the same split from the same list, with no coordination: gateway
``id`` goes to shard ``sha256(id) mod N`` (K counted from 1, as CI matrices and
``--shard 1/4`` write it). A StatefulSet pod's 0-based ordinal plus one gives K; Prometheus
adds the shards up. A stable hash, not Python's ``hash()``, which changes per process.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["Shard", "parse_shard"]

_FORM = re.compile(r"([0-9]+)/([0-9]+)")


@dataclass(frozen=True, slots=True)
class Shard:
    """Replica ``index`` (from 1) of ``count``."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be between 1 and N")

    def takes(self, key: str) -> bool:
        """Return True when the gateway of this key (its id as text) belongs to this shard."""
        if self.count == 1:
            return True
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Return the shard written as ``K/N``.

    Raises:
        ValueError: not of that form, N below 1, or K not between 1 and N.
    """
    match = _FORM.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r}: give K/N, e.g. 1/4 (K counted from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ValueError(f"{text!r}: N must be at least 1")
    return Shard(index, count)
