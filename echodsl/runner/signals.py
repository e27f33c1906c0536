"""Stopping a run cleanly on SIGTERM/SIGINT, and workers that die with their parent.

SLURM preempts with SIGTERM, a user with Ctrl-C. The first signal during training asks the
trainer to stop after the current step: it writes a checkpoint there, the run is marked
``interrupted`` with the signal's name, and the process exits ``128 + signal`` (143 for
SIGTERM, 130 for SIGINT). Outside training, or on a second signal, it stops at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1


def install_stop_handler(handler) -> dict[int, object]:
    """Route SIGTERM/SIGINT to ``handler`` (in the main thread only: Python installs signal
    handlers nowhere else); returns the previous handlers for :func:`restore_handlers`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def restore_handlers(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``exit_code`` is the shell convention 128 + signal."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"{signal.Signals(signum).name} received")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopRequest:
    """While entered (in the main thread), SIGTERM/SIGINT ask for a stop instead of killing.

    ``requested`` turns true on the first signal; inside :meth:`training` the signal only
    sets it (the trainer polls it between steps), elsewhere it raises :class:`RunInterrupted`.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._training = False
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def __enter__(self) -> "StopRequest":
        self._previous = install_stop_handler(self._handle)
        return self

    def __exit__(self, *exc) -> None:
        restore_handlers(self._previous)
        self._previous = {}

    @contextmanager
    def training(self) -> Iterator[None]:
        self._training = True
        try:
            yield
        finally:
            self._training = False

    def raise_if_requested(self) -> None:
        if self.signum is not None:
            raise RunInterrupted(self.signum)

    def _handle(self, signum: int, _frame) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if not (first and self._training):
            raise RunInterrupted(self.signum)


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to send SIGTERM to this process when its parent dies (Linux), and
    stop now if the parent is already gone (the race between fork and this call)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        raise RunInterrupted(signal.SIGTERM)
