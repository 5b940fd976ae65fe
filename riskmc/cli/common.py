"""What every command shares: its options, declared once, and turning library errors into
one line and an exit code. Nothing heavy is imported here: `riskmc --help` stays instant."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .. import interrupt
from ..errors import EXIT_CODES, RiskmcError
from ..limits import DEFAULT_DRAWS, SAVE_DRAWS_BYTES

EXIT_TABLE = "\n\n".join(f"{code}: {text}" for code, text in EXIT_CODES.items())


def command_app(**settings) -> typer.Typer:
    """A command's typer app. main.py builds each one on its own, when it is run or listed,
    so each carries the settings the root app has: plain help text (no rich markup, which
    would swallow `[run]`), no completion options, no pretty tracebacks."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False, **settings)


# ------------------------------------------------------------------ options, declared once
class text(str):  # noqa: N801 - its name is what help shows: EVENT <text>
    """Text as typed, for arguments (help would otherwise say <str>)."""



PriorsFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="PRIORS",
                                            help="A priors file, e.g. priors/base.toml.")]
RunDir = Annotated[Path, typer.Argument(exists=True, file_okay=False, metavar="RUN_DIR",
                                        help="A run folder (holds summary.json).")]
Draws = Annotated[int | None, typer.Option(metavar="N", help=f"Number of draws (default: the file's [run] draws, "
                                                             f"else {DEFAULT_DRAWS:,}).")]
Seed = Annotated[int | None, typer.Option(metavar="N", help="Seed: the same seed gives the same numbers "
                                                            "(default: the file's [run] seed, else a fresh one, recorded).")]
Sampler = Annotated[str | None, typer.Option(metavar="mc|lhs|sobol", help="Plain Monte Carlo, Latin hypercube or "
                                                                          "scrambled Sobol (default: the file's, else mc).")]
Workers = Annotated[int | None, typer.Option(metavar="N", help="Worker threads (default: all cores); never changes "
                                                               "the numbers.")]
Scenario = Annotated[str | None, typer.Option(metavar="NAME", help="Apply the priors file's [scenarios.NAME] overlay.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
AllowUnused = Annotated[bool, typer.Option("--allow-unused", help="Warn instead of failing on priors the model "
                                                                  "does not use.")]
SAVE_HELP = (f"Write draws.parquet, one row per draw (by default only while under {SAVE_DRAWS_BYTES >> 20} MiB, "
             "about 30,000 draws).")


def default_out(priors: Path, scenario: str | None) -> Path:
    """reports/<priors file's name>[-<scenario>]: always one folder inside reports/."""
    from ..errors import OutputError
    name = priors.stem + (f"-{scenario}" if scenario else "")
    if name in (".", "..") or "/" in name or not name:
        raise OutputError(f"cannot name an output folder after {priors}", hint="choose one with --out")
    return Path("reports") / name


def say(message: str) -> None:
    """One line on stderr, the only way commands talk besides their results."""
    typer.echo(message, err=True)


@contextlib.contextmanager
def user_errors(out=None):
    """Turn a library error into `riskmc: error: ...` on stderr and its exit code.

    A recorded Ctrl-C or SIGTERM (riskmc.interrupt) stops the command at a safe point:
    one line saying nothing of this command was written, and exit 130 or 143. While the
    work runs, whatever a user's model prints goes to stderr: stdout carries only the
    command's own answer (`--json` stays JSON).
    """
    where = f" to {out}" if out is not None else ""
    interrupt.stop_words(where)
    with stdout_to_stderr():
        try:
            yield
        except RiskmcError as exc:
            say(f"riskmc: error: {exc}")
            raise typer.Exit(code=exc.exit_code) from None
        except interrupt.Interrupted as exc:
            interrupt.announce(interrupt.stop_line(exc.signum))
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:  # in-process callers (tests) that did not install the handlers
            say(f"riskmc: interrupted (Ctrl-C): nothing of this run was written{where}")
            raise typer.Exit(code=130) from None


@contextlib.contextmanager
def stdout_to_stderr():
    """Send stdout to stderr, Python's and the file descriptor's (a compiled model's printf
    too), until the block ends; then flush what C buffered and put stdout back."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all: nothing to protect
        saved = None
    if saved is not None:
        try:
            os.dup2(2, 1)
        except OSError:
            os.close(saved)
            saved = None
    python_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout = python_stdout
        with contextlib.suppress(OSError, ValueError):
            python_stdout.flush()  # what user code wrote to sys.__stdout__ goes to stderr too
        if saved is not None:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)


def _flush_c_stdio() -> None:
    """fflush(NULL): text a compiled model printed through C's stdio leaves its buffer now,
    while it still goes to stderr."""
    import ctypes
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def finish(code) -> int:
    """The process's exit code: a signal recorded after the work was done still says so."""
    code = 0 if code is None else code if isinstance(code, int) else 1
    jit = sys.modules.get("riskmc._jit")
    for note in jit.NOTES if jit else ():
        say(f"riskmc: note: {note}")
    signum = interrupt.received()
    if signum is not None and code == 0:
        interrupt.completed()
        interrupt.announce(interrupt.stop_line(signum))
        return 128 + signum
    return code


def is_terminal() -> bool:
    return sys.stderr.isatty()
