"""Ctrl-C and SIGTERM as a flag the run checks at safe points.

A signal handler that raises can surface anywhere: inside an import (a half-initialised
module), inside a lock, during interpreter shutdown. The command line installs handlers
that only record the signal; the kernel, the writers and the commit call `check()` at
points where stopping is safe, and a run stopped there leaves nothing half-written.
Without `install()` (a notebook, a library user) nothing changes: Ctrl-C raises
KeyboardInterrupt as usual.
"""

from __future__ import annotations

import os
import signal
import threading

NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

_event = threading.Event()
_signum: int | None = None


class Interrupted(BaseException):
    """The run stopped at a safe point because SIGINT or SIGTERM arrived.

    A BaseException, like KeyboardInterrupt, so `except Exception` does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def words(self) -> str:
        return NAMES.get(self.signum, f"stopped by signal {self.signum}")


def _record(signum, frame) -> None:
    global _signum
    if _event.is_set():
        # A second signal: the user means it. Stopping at once is safe because files
        # only ever reach their final place by one atomic swap (riskmc.commit).
        os.write(2, f"riskmc: {NAMES.get(signum, 'signal')} twice: stopped at once; "
                    "nothing half-written is left in place\n".encode())
        os._exit(128 + signum)
    _signum = signum
    _event.set()


def install() -> None:
    """Record SIGINT and SIGTERM instead of raising (main thread only: the CLI's entry)."""
    for sig in NAMES:
        signal.signal(sig, _record)


def received() -> int | None:
    """The signal number recorded so far, or None."""
    return _signum if _event.is_set() else None


def check() -> None:
    """Raise Interrupted if a signal was recorded: call where stopping is safe."""
    if _event.is_set():
        raise Interrupted(_signum)


def reset() -> None:
    """Forget a recorded signal (tests running several commands in one process)."""
    global _signum
    _signum = None
    _event.clear()
