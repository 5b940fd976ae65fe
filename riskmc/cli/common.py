"""What every command shares: turning library errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

import typer

from ..errors import EXIT_CODES, RiskmcError

EXIT_TABLE = "\n\n".join(f"{code}: {text}" for code, text in EXIT_CODES.items())


def say(message: str) -> None:
    """One line on stderr, the only way commands talk besides their results."""
    typer.echo(message, err=True)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT."""


def _on_sigterm(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def user_errors(out=None):
    """Turn a library error into `riskmc: error: ...` on stderr and its exit code.

    Ctrl-C and SIGTERM end the command with 130 and 143 and one line saying that
    nothing of this run was written (staged files are removed as the stack unwinds).
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
    where = f" to {out}" if out is not None else ""
    try:
        yield
    except RiskmcError as exc:
        say(f"riskmc: error: {exc}")
        raise typer.Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:
        say(f"riskmc: interrupted (Ctrl-C): nothing of this run was written{where}")
        raise typer.Exit(code=130) from None
    except Terminated:
        say(f"riskmc: terminated (SIGTERM): nothing of this run was written{where}")
        raise typer.Exit(code=143) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def is_terminal() -> bool:
    return sys.stderr.isatty()
