"""What the loader hands to the rules: parsed documents and their gateway entries.

A problem found while reading (bad JSON, a wrongly typed field, an unset ``${VAR}``) is recorded
here as data; the rules turn it into a finding with a code, so every problem reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from smtpcheck.config.javamail import SmtpSettings
from smtpcheck.config.models import LeasableGateway, OwnGateway, SmtpParams
from smtpcheck.results import GatewayKind

__all__ = [
    "FieldError",
    "GatewayEntry",
    "JsonError",
    "Shape",
    "SourceDocument",
    "UnsetVariable",
]


class Shape(StrEnum):
    """The top-level form of a source document."""

    GATEWAY = "gateway"  # one gateway object
    ARRAY = "array"  # a JSON array of gateway objects
    LIST_RESPONSE = "list-response"  # the whole panel/gateways/email/list response


@dataclass(frozen=True, slots=True)
class JsonError:
    """Where and why a document is not JSON."""

    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class FieldError:
    """One shape or type problem in a gateway object, located the way pydantic reports it."""

    location: str  # e.g. 'params → mail.smtp.port'
    param: str | None  # the param key or top-level field at fault
    message: str


@dataclass(frozen=True, slots=True)
class UnsetVariable:
    """A ``"${NAME}"`` value whose environment variable is not set."""

    param: str
    name: str


@dataclass(frozen=True, slots=True)
class GatewayEntry:
    """One gateway object as read from a source, valid or not."""

    source: str
    position: str  # where in the document: '', '[2]', 'own[0]', 'leasable[1]'
    kind: GatewayKind
    id: int | None
    label: str | None
    gateway: OwnGateway | LeasableGateway | None  # None when it did not validate
    settings: SmtpSettings | None = None  # own gateways that validated
    errors: tuple[FieldError, ...] = ()
    unset_variables: tuple[UnsetVariable, ...] = ()
    redacted: tuple[str, ...] = ()  # secret params that hold `smtpcheck fetch`'s redaction marker
    # The object exactly as the source wrote it ("${NAME}" unresolved), for --write-fixed.
    written: Mapping[str, object] | None = field(default=None, repr=False, compare=False)

    @property
    def params(self) -> SmtpParams | None:
        """Return the params of a valid own gateway."""
        return self.gateway.params if isinstance(self.gateway, OwnGateway) else None

    @property
    def is_smtp(self) -> bool:
        """Return True for a valid own gateway with the SMTP provider: the kind that is probed."""
        return isinstance(self.gateway, OwnGateway) and self.gateway.provider == "smtp"

    @property
    def place(self) -> str:
        """Return where the gateway was read: 'gw.json', 'gw.json[2]', 'list.json own[0]'."""
        if not self.position or self.position.startswith("["):
            return f"{self.source}{self.position}"
        return f"{self.source} {self.position}"

    @property
    def name(self) -> str:
        """Return how messages refer to this gateway: its id, else its place in the source."""
        if self.id is not None:
            return f"gateway {self.id}"
        return f"gateway at {self.place}" if self.position else self.source


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One source (file, stdin or API response) after parsing."""

    source: str
    shape: Shape | None  # None when the text is not JSON or not a gateway shape
    gateways: tuple[GatewayEntry, ...] = ()
    json_error: JsonError | None = None
    shape_error: str | None = None  # JSON, but not a gateway, an array or a list response
    bound_gateway: int | None = None
