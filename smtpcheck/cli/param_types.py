"""The command line's own parameter types: seconds, UTF-8 text, file names the system can use."""

from __future__ import annotations

import math
import os
from typing import Any

import click

__all__ = ["SECONDS", "TEXT", "FilePath", "seconds_up_to"]


class _Seconds(click.ParamType):  # type: ignore[type-arg]
    """A duration in seconds: a finite number above 0 ("nan" and "inf" are numbers to float)."""

    name = "seconds"

    def __init__(self, maximum: float | None = None) -> None:
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r}: give a number of seconds above 0", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"{value!r}: at most {self.maximum:g} seconds", param, ctx)
        return number


SECONDS = _Seconds()


def seconds_up_to(maximum: float) -> click.ParamType:  # type: ignore[type-arg]
    """Return a duration type that also refuses more than ``maximum`` seconds."""
    return _Seconds(maximum)


def _unencodable(value: str) -> bool:
    # A lone surrogate (text that was never UTF-8) cannot be sent, hashed or used as a file
    # name; os.fsencode takes the surrogateescape forms a command line's raw bytes become.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Text(click.ParamType):  # type: ignore[type-arg]
    """Text that is valid UTF-8 (a session hash, a login), refused as such when it is not."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if _unencodable(text):
            self.fail(f"{text!r} is not UTF-8 text", param, ctx)
        return text


TEXT = _Text()


class FilePath(click.Path):
    """A `click.Path` that refuses a name the file system cannot be given (a lone surrogate)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            if isinstance(value, str):
                os.fsencode(value)
        except UnicodeEncodeError:
            self.fail(f"{value!r} is not a file name this system can use", param, ctx)
        return super().convert(value, param, ctx)
