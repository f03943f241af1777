"""What a probe has seen so far: its timed steps, its transcript, and the server's answers.

The probe drives the stages; this module keeps their record and builds the `ProbeResult`, with
the secrets scrubbed from every string of it. Every await that decides the verdict runs inside
a stage (`Recorder.step`, `Recorder.split`); what runs between stages after the session is open
(QUIT, RSET) is a courtesy, and the overall deadline running out there fails nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from smtpcheck.probe.failures import StageFailure
from smtpcheck.probe.transcript import Transcript
from smtpcheck.redaction import redact
from smtpcheck.results import (
    FailureKind,
    PortHint,
    ProbeFailure,
    ProbeResult,
    ProbeStep,
    SentMessage,
    TlsInfo,
)

R = TypeVar("R", bound="Reply")

__all__ = ["Recorder", "Reply", "StepInProgress", "Translate", "first_line"]


@dataclass(slots=True)
class StepInProgress:
    """A stage being timed: what it reports when it ends well."""

    detail: str = ""
    reply_code: int | None = None
    started: float = field(default_factory=time.perf_counter)


#: Translates what a stage raised into a `StageFailure`; re-raises what it does not know.
Translate = Callable[[Exception, str], StageFailure]

_DEADLINE = "stopped by the probe's overall deadline"
# The stages after which the session goes on to QUIT (or RSET, then QUIT) with nothing between.
_LAST_STAGES = frozenset({"ehlo", "auth", "mail", "rcpt", "data"})
_COURTESIES = frozenset({"quit", "rset"})  # steps whose outcome is never the probe's


class Reply(Protocol):
    """An SMTP reply, as the client returns it."""

    @property
    def code(self) -> int: ...

    @property
    def message(self) -> str: ...


def first_line(reply: Reply) -> str:
    """Return a reply's code and first line, for a step's detail."""
    return f"{reply.code} {reply.message.partition(chr(10))[0]}".strip()


@dataclass(slots=True)
class Recorder:
    """The record of one probe."""

    transcript: Transcript
    steps: list[ProbeStep] = field(default_factory=list)
    stage: str = "resolve"  # the stage in progress, for a failure the overall deadline causes
    tls: TlsInfo | None = None
    extensions_before_tls: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    auth_before_tls: tuple[str, ...] = ()
    auth: tuple[str, ...] = ()
    port_hint: PortHint | None = None
    cut: str | None = None  # the stage the overall deadline (or the run stopping) cut short
    sent: SentMessage | None = None  # the test message, once the server accepted it

    def record(
        self,
        name: str,
        ok: bool,
        started: float,
        detail: str = "",
        reply_code: int | None = None,
        *,
        end: float | None = None,
    ) -> None:
        """Add a step that ran from ``started`` to ``end`` (default: now), in perf_counter time."""
        ms = ((end if end is not None else time.perf_counter()) - started) * 1000
        self.steps.append(ProbeStep(name, ok, max(ms, 0.0), detail, reply_code))

    @contextlib.contextmanager
    def step(self, name: str, translate: Translate) -> Iterator[StepInProgress]:
        """Time one stage; what it raises is translated here, the probe's exception boundary."""
        self.stage = name
        step = StepInProgress()
        try:
            yield step
        except Exception as exc:
            stop = translate(exc, name)
            self.record(name, False, step.started, stop.failure.detail, stop.failure.reply_code)
            raise stop from exc
        except BaseException:  # cancelled: the overall deadline, or the whole run is stopping
            self.record(name, False, step.started, _DEADLINE)
            self.cut = name
            raise
        self.record(name, True, step.started, step.detail, step.reply_code)

    async def split(
        self,
        call: Awaitable[R],
        translate: Translate,
        *,
        first: str,
        second: str,
        boundary: Callable[[], float | None],
        reply_step: str,
    ) -> R:
        """Time one client call that covers a TLS handshake and an SMTP reply, as two steps.

        ``boundary`` says when the first part ended (from the handshake watch). Without it (a
        context not made by `build_tls_contexts`) one step covers both, and says so.
        """
        started = time.perf_counter()
        self.stage = first
        try:
            reply = await call
        except BaseException as exc:
            split, stage = boundary(), first
            if split is not None:
                self.record(first, True, started, end=split)
                started, stage = split, second
            self.stage = stage
            if not isinstance(exc, Exception):  # cancelled by the overall deadline
                self.record(stage, False, started, _DEADLINE)
                self.cut = stage
                raise
            stop = translate(exc, stage)
            self.record(stage, False, started, stop.failure.detail, stop.failure.reply_code)
            raise stop from exc
        split = boundary()
        if split is None:
            detail = f"{first_line(reply)} (this step includes the TLS handshake)"
            self.record(reply_step, True, started, detail, reply.code)
            return reply
        for name, begin, end in ((first, started, split), (second, split, None)):
            text, code = (first_line(reply), reply.code) if name == reply_step else ("", None)
            self.record(name, True, begin, text, code, end=end)
        return reply

    def result(
        self, *, started: float, failure: ProbeFailure | None, secrets: Sequence[str]
    ) -> ProbeResult:
        """Build the probe's result, every secret masked."""
        if failure is not None and self._courtesy_cut(failure):
            self.transcript.note(
                "the overall deadline ran out after the last stage, in a courtesy (QUIT or "
                "RSET): the verdict stands"
            )
            failure = None
        result = ProbeResult(
            steps=tuple(self.steps),
            ms=(time.perf_counter() - started) * 1000,
            failure=failure,
            tls=self.tls,
            extensions_before_tls=self.extensions_before_tls,
            extensions=self.extensions,
            auth_mechanisms_before_tls=self.auth_before_tls,
            auth_mechanisms=self.auth,
            port_hint=self.port_hint,
            transcript=self.transcript.lines,
            sent=self.sent,
        )
        return redact(result, secrets)

    def _courtesy_cut(self, failure: ProbeFailure) -> bool:
        """Return True when the overall deadline ran out between stages, after the last one."""
        if failure.kind is not FailureKind.DEADLINE or self.cut is not None:
            return False
        stages = [step for step in self.steps if step.name not in _COURTESIES]
        return bool(stages) and stages[-1].ok and stages[-1].name in _LAST_STAGES
