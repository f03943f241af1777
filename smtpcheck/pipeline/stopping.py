"""Stop a run on SIGINT or SIGTERM without losing what it found.

The first signal sets `Interruption.event`: the runner cancels the probes still running and
marks every unfinished gateway ``interrupted`` (SC903), and the report of the rest is still
rendered. The handler is then taken away, so a second signal stops the process at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["SIGNALS", "Interruption"]

#: The signals that stop a run gently: Ctrl-C, and what systemd, Kubernetes and cron send.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """Whether, and by which signal, the user asked the run to stop."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal: signal.Signals | None = None

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Catch SIGINT and SIGTERM in the running loop while the context is open.

        Only the main thread can take signals: elsewhere (a library caller's thread) nothing
        is installed and a signal does what it did before.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous: dict[signal.Signals, Any] = {}
        for sig in SIGNALS:
            previous[sig] = signal.getsignal(sig)
            loop.add_signal_handler(sig, self._stop, loop, sig, previous)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                self._restore(loop, sig, handler)

    def _stop(
        self,
        loop: asyncio.AbstractEventLoop,
        sig: signal.Signals,
        previous: dict[signal.Signals, Any],
    ) -> None:
        if self.signal is None:
            self.signal = sig
        self.event.set()
        self._restore(loop, sig, previous.pop(sig, None))  # the next one is not so gentle

    @staticmethod
    def _restore(loop: asyncio.AbstractEventLoop, sig: signal.Signals, handler: Any) -> None:
        if handler is None:
            return  # restored already, by the first signal
        loop.remove_signal_handler(sig)
        signal.signal(sig, handler)
