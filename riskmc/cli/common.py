"""What every command shares: its options, declared once, and turning library errors into
one line and an exit code. Nothing heavy is imported here: `riskmc --help` stays instant."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import typer

from .. import interrupt
from ..errors import EXIT_CODES, RiskmcError
from ..settings import DEFAULT_DRAWS, SAVE_DRAWS_BYTES

# One line each (wrapped with a hanging indent), kept as written: click rewraps plain
# paragraphs, and put a blank line between codes.
EXIT_TABLE = "\b\n" + "\n".join(
    textwrap.fill(text, 76, initial_indent=f"{code:>3}  ", subsequent_indent=" " * 5)
    for code, text in EXIT_CODES.items())


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
def count(v) -> int:
    """A whole number as analysts type it: 100000, 100_000, 100,000 or 1e5."""
    if isinstance(v, int):
        return v
    s = str(v).strip().replace("_", "").replace(",", "")
    try:
        return int(s)
    except ValueError:
        pass
    try:
        f = float(s)
    except ValueError:
        raise typer.BadParameter(f"'{v}' is not a whole number") from None
    if not f.is_integer() or abs(f) >= 2 ** 63:
        raise typer.BadParameter(f"'{v}' is not a whole number")
    return int(f)


Draws = Annotated[int | None, typer.Option(metavar="N", parser=count,
                                           help=f"Number of draws, e.g. 100000 or 1e5 (default: the file's [run] "
                                                f"draws, else {DEFAULT_DRAWS:,}).")]
Seed = Annotated[int | None, typer.Option(metavar="N", help="Seed: the same seed gives the same numbers "
                                                            "(default: the file's [run] seed, else a fresh one, recorded).")]
Sampler = Annotated[str | None, typer.Option(metavar="mc|lhs|sobol", help="Plain Monte Carlo, Latin hypercube or "
                                                                          "scrambled Sobol (default: the file's, else mc).")]
Workers = Annotated[int | None, typer.Option(metavar="N", help="Worker threads (default: all cores); never changes "
                                                               "the numbers.")]
Scenario = Annotated[str | None, typer.Option(metavar="NAME", help="Apply the priors file's [scenarios.NAME] overlay.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Json = Annotated[bool, typer.Option("--json", help="Print the answer as JSON on stdout (nothing else there).")]


def print_json(doc) -> None:
    """A command's answer on stdout as JSON, for pipelines: the files' figures, unrounded."""
    import json

    from ..store.io import jsonable
    typer.echo(json.dumps(jsonable(doc), indent=2, ensure_ascii=False))
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


def run_inputs(*run_dirs: Path) -> list:
    """What a command that reads these run folders reads: the folders, and the priors and
    model files their runs were made from (an --out must be none of them)."""
    from ..store.io import read_summary
    out: list = []
    for d in run_dirs:
        s = read_summary(d)
        out += [d, *(f["path"] for f in s["priors_files"])]
        if s["model"].get("path"):
            out.append(s["model"]["path"])
    return out


# riskmc's own stderr while user code has a stream of its own (stdout_to_stderr).
_SAY_TO: list = []


def say(message: str) -> None:
    """One line on stderr, the only way commands talk besides their results."""
    typer.echo(message, file=_SAY_TO[-1] if _SAY_TO else None, err=True)


@contextlib.contextmanager
def user_errors(out=None):
    """Turn a library error into `riskmc: error: ...` on stderr and its exit code.

    A recorded Ctrl-C or SIGTERM (riskmc.interrupt) stops the command at a safe point:
    one line saying nothing was written, and exit 130 or 143. While the
    work runs, whatever a user's model prints goes to stderr: stdout carries only the
    command's own answer (`--json` stays JSON).
    """
    where = f" to {out}" if out is not None else ""
    interrupt.stop_words(where)
    try:
        with stdout_to_stderr():
            yield
    except RiskmcError as exc:
        say(f"riskmc: error: {exc}")
        raise typer.Exit(code=exc.exit_code) from None
    except interrupt.Interrupted as exc:
        interrupt.announce(interrupt.stop_line(exc.signum))
        raise typer.Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:  # in-process callers (tests) that did not install the handlers
        say(f"riskmc: interrupted (Ctrl-C): nothing was written{where}")
        raise typer.Exit(code=130) from None
    except OSError as exc:
        # A path the system refuses (a name over 255 characters, a path past PATH_MAX)
        # where riskmc had no more precise word for it: a file that cannot be used (exit 4).
        name = _short(str(exc.filename)) if exc.filename else (str(out) if out is not None else "riskmc")
        say(f"riskmc: error: {name}: {exc.strerror or exc} (choose another path)")
        raise typer.Exit(code=4) from None


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
    # User code gets streams of its own on copies of stderr: closing them (sys.stdout.close()
    # in a model file) closes a copy, never riskmc's own.
    python_stdout, python_stderr = sys.stdout, sys.stderr
    own = _stream_on_stderr()
    if own is not None:
        sys.stdout = sys.stderr = own
    else:
        sys.stdout = sys.stderr
    _SAY_TO.append(python_stderr)
    try:
        yield
    finally:
        _SAY_TO.pop()
        sys.stdout, sys.stderr = python_stdout, python_stderr
        if own is not None:
            with contextlib.suppress(OSError, ValueError):
                own.shut()
        with contextlib.suppress(OSError, ValueError):
            python_stdout.flush()  # what user code wrote to sys.__stdout__ goes to stderr too
        if saved is not None:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)


class _Kept(io.TextIOWrapper):
    """A text stream user code cannot close: close() only flushes (`shut` closes it)."""

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.flush()

    def shut(self) -> None:
        io.TextIOWrapper.close(self)


def _stream_on_stderr():
    """A text stream on a copy of file descriptor 2, or None where there is none."""
    try:
        fd = os.dup(2)
    except OSError:
        return None
    try:
        raw = io.FileIO(fd, "w", closefd=True)
        return _Kept(raw, encoding=getattr(sys.stderr, "encoding", None) or "utf-8", errors="backslashreplace",
                     line_buffering=True, write_through=True)
    except (OSError, ValueError):
        os.close(fd)
        return None


def _flush_c_stdio() -> None:
    """fflush(NULL): text a compiled model printed through C's stdio leaves its buffer now,
    while it still goes to stderr."""
    import ctypes
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit // 2 - 2] + "..." + text[-(limit // 2 - 2):]


def finish(code) -> int:
    """The process's exit code: a signal recorded after the work was done still says so."""
    code = 0 if code is None else code if isinstance(code, int) else 1
    jit = sys.modules.get("riskmc.numeric.jit")
    for note in jit.NOTES if jit else ():
        say(f"riskmc: note: {note}")
    signum = interrupt.received()
    if signum is not None and code == 0:
        interrupt.completed()
        interrupt.announce(interrupt.stop_line(signum))
        return 128 + signum
    return code


def is_terminal() -> bool:
    try:
        return os.isatty(2)
    except OSError:
        return False
