"""Did the test message arrive? Clients of the catchers' HTTP APIs that `--expect-delivery` polls.

`parse_target` reads the URL; `open_catcher` returns the client of its kind, whose ``find``,
``delete`` and ``reachable`` raise only `CatcherError`.
"""

from smtpcheck.delivery.catchers import Catcher, open_catcher
from smtpcheck.delivery.found import FoundMessage
from smtpcheck.delivery.target import (
    CATCHER_KINDS,
    TOKEN_HEADER,
    CatcherError,
    CatcherKind,
    CatcherTarget,
    Fix,
    message_id_for,
    parse_target,
    valid_token,
)

__all__ = [
    "CATCHER_KINDS",
    "TOKEN_HEADER",
    "Catcher",
    "CatcherError",
    "CatcherKind",
    "CatcherTarget",
    "Fix",
    "FoundMessage",
    "message_id_for",
    "open_catcher",
    "parse_target",
    "valid_token",
]
