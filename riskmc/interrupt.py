"""Ctrl-C and SIGTERM as a flag the run checks at safe points, and a deadline behind it.

A signal handler that raises can surface anywhere: inside an import (a half-initialised
module), inside a lock, during interpreter shutdown. The command line installs handlers
that only record the signal; the kernel, the writers and the commit call `check()` at
points where stopping is safe, and a run stopped there leaves nothing half-written.

Some work never reaches a safe point in time: a user's model stuck inside its function,
one long write of a workbook. So the first signal also starts a watchdog: if the command
has not ended GRACE seconds later, the watchdog removes what the command staged (each
Transaction registers its staged folder with `on_stop`), says so in one line and ends
the process with 128 + the signal's number. It waits for a commit's swap to finish
(`critical()`), so the folder still holds the earlier run or the new one, whole.

Without `install()` (a notebook, a library user) nothing changes: Ctrl-C raises
KeyboardInterrupt as usual.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

# Seconds a command has, after SIGINT or SIGTERM, to stop at a safe point on its own.
GRACE = 0.75

NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

_event = threading.Event()
_signum: int | None = None
_installed = False


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


_cleanups: dict[int, Callable[[], None]] = {}
_cleanups_lock = threading.Lock()
_critical = threading.RLock()
_said_lock = threading.Lock()
_said = False
# What the stop message says of the command's output (" to reports/base"), set by the CLI,
# and whether a commit completed after the signal came: the watchdog's line is then the
# one the command would have said itself, whichever of the two says it first.
_where = ""
_before: tuple[str, ...] = ()
_completed = False


def on_stop(fn: Callable[[], None]) -> int:
    """Register what to remove if the watchdog must end the process (a staged folder);
    returns a token for `done`."""
    with _cleanups_lock:
        token = id(fn) ^ time.monotonic_ns()
        _cleanups[token] = fn
    return token


def done(token: int | None) -> None:
    """Forget a registered clean-up: what it would remove is gone, or committed."""
    if token is not None:
        with _cleanups_lock:
            _cleanups.pop(token, None)


@contextlib.contextmanager
def critical():
    """A step the watchdog must not cut in two (a commit's swap); it waits for it."""
    with _critical:
        yield


def announce(text: str) -> bool:
    """Say the one line about a stop, once: False if it was said already (by the watchdog,
    or by the command reaching its safe point)."""
    global _said
    with _said_lock:
        if _said:
            return False
        _said = True
        try:
            os.write(2, (text + "\n").encode())
        except OSError:
            pass
        return True


def stop_words(where: str = "", before: tuple[str, ...] | None = None) -> None:
    """What the command's stop line says of its output (" to reports/base"), and of the
    folders it completed before this one (--all-scenarios), when given."""
    global _where, _before, _completed
    _where = where
    if before is not None:
        # The next folder begins: a stop that came as the last one committed now stops
        # this one, which has nothing written.
        _before, _completed = before, False


def completed() -> None:
    """A commit has made its files visible: if a signal came before, they are complete."""
    global _completed
    if _event.is_set():
        _completed = True


def stop_line(signum: int) -> str:
    """The one line for a stop by signal `signum`."""
    words = NAMES.get(signum, f"stopped by signal {signum}")
    if _completed:
        return f"riskmc: {words} as the command ended: its files are complete"
    done = f" ({', '.join(_before)} {'was' if len(_before) == 1 else 'were'} complete before it)" if _before else ""
    return f"riskmc: {words}: nothing was written{_where}{done}"


def _clean_up() -> None:
    with _cleanups_lock:
        fns = list(_cleanups.values())
        _cleanups.clear()
    for fn in fns:
        with contextlib.suppress(Exception):
            fn()


def _watchdog(signum: int) -> None:
    """GRACE seconds after the first signal: the command did not stop on its own (it would
    have ended the process), so remove what it staged and end it now."""
    time.sleep(GRACE)
    # A commit that is swapping finishes first (bounded: a rename and an fsync).
    _critical.acquire(timeout=5.0)
    try:
        _clean_up()
        announce(stop_line(signum))
    finally:
        with _said_lock:  # the command may be writing its own line: let it finish
            os._exit(128 + signum)


_arrivals = 0
_arrivals_lock = threading.Lock()


def _arrived(signum: int) -> None:
    """A signal arrived: the first is recorded (safe points then stop the command) and
    starts the watchdog; a second means it, and ends the process at once."""
    global _signum, _arrivals
    with _arrivals_lock:
        _arrivals += 1
        first = _arrivals == 1
        if first:
            _signum = signum
            _event.set()
    if first:
        threading.Thread(target=_watchdog, args=(signum,), name="riskmc-watchdog", daemon=True).start()
        return
    # Stopping at once is safe because files only ever reach their final place by one
    # atomic swap (riskmc.store.commit).
    _clean_up()
    announce(f"riskmc: {NAMES.get(signum, 'signal')} twice: stopped at once; nothing half-written is left in place")
    os._exit(128 + signum)


def _listen(fd: int) -> None:
    """Read the signals' numbers from the wakeup pipe, in a thread of its own: Python runs
    a signal handler only when the main thread returns to Python, which a compiled model
    spinning in its loop may never do; the C-level handler writes the number here at once."""
    while True:
        try:
            data = os.read(fd, 64)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        for signum in data:
            _arrived(signum)


_listening = False


def _record(signum, frame) -> None:
    """The Python-level handler: with the wakeup pipe listened to, it has nothing left to
    do (the listener has the signal already); without it, it records the signal itself."""
    if not _listening:
        _arrived(signum)


def install() -> None:
    """Record SIGINT and SIGTERM instead of raising (main thread only: the CLI's entry),
    through a wakeup pipe a thread listens to."""
    global _installed, _listening
    for sig in NAMES:
        signal.signal(sig, _record)
    _installed = True
    try:
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (OSError, ValueError):  # no pipe, or not the main thread: the handler alone
        return
    threading.Thread(target=_listen, args=(r,), name="riskmc-signals", daemon=True).start()
    _listening = True


def reassert() -> None:
    """Put riskmc's handlers back if user code (a model file) replaced them."""
    if not _installed:
        return
    for sig in NAMES:
        if signal.getsignal(sig) is not _record:
            signal.signal(sig, _record)


def is_stop(exc: BaseException) -> bool:
    """Whether an exception that reached riskmc from user code is a stop riskmc must honour
    (a recorded signal, or Ctrl-C where riskmc installed no handler), not the code's own
    doing: once the handlers are installed no signal raises KeyboardInterrupt, so one that
    arrives was raised by the code itself."""
    return isinstance(exc, Interrupted) or (isinstance(exc, KeyboardInterrupt) and not _installed)


def received() -> int | None:
    """The signal number recorded so far, or None."""
    return _signum if _event.is_set() else None


def check() -> None:
    """Raise Interrupted if a signal was recorded: call where stopping is safe."""
    if _event.is_set():
        raise Interrupted(_signum)


def reset() -> None:
    """Forget a recorded signal (tests running several commands in one process)."""
    global _signum, _said, _completed, _where, _before, _arrivals
    _signum = None
    _arrivals = 0
    _event.clear()
    _said = _completed = False
    _where, _before = "", ()
