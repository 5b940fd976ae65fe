"""Typed errors raised by the library; only the CLI turns them into one line and an exit code."""

from __future__ import annotations

from pathlib import Path


class RiskmcError(Exception):
    """A mistake the user can fix: says where (file, line), what, and what to do."""

    exit_code = 3

    def __init__(self, message: str, *, file: str | Path | None = None,
                 line: int | None = None, hint: str | None = None, quotes_file: bool = True) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.hint = hint
        # False when the message says nothing of the file's content (safe to show for
        # a file outside the priors' folder).
        self.quotes_file = quotes_file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class PriorsError(RiskmcError):
    """A priors file is malformed, inconsistent, or does not fit the model."""


class FitError(PriorsError):
    """A distribution cannot reproduce the stated quantiles closely enough."""


class ModelError(RiskmcError):
    """A model cannot be loaded, or gives outputs riskmc cannot summarise (exit 3, like a
    bad priors file: the fix is in a file the user wrote)."""


class UsageError(RiskmcError):
    """A command asked for something it must not do as asked (exit 2): an output that
    would replace one of its own inputs, say."""

    exit_code = 2


class UserCodeExit(Exception):
    """User code (a model's file or function) raised SystemExit, or another exception that
    is not an Exception: a failure of that code, never a reason for riskmc to end (which
    would exit 0 with nothing written, or 1, to a pipeline's confusion)."""

    def __init__(self, exc: BaseException) -> None:
        self.kind = type(exc).__name__
        self.origin = exc
        if isinstance(exc, SystemExit):
            text = "" if exc.code is None else str(exc.code)
        else:
            text = str(exc)
        text = text.strip().splitlines()[0] if text.strip() else ""
        super().__init__(text)


class SamplingError(UsageError):
    """The run's settings (draws, sampler, workers) are not usable."""


class OutputError(RiskmcError):
    """An output folder or file cannot be written, or a run folder cannot be read."""

    exit_code = 4


class LedgerError(RiskmcError):
    """The ledger cannot be used: corrupt, locked too long, or made by a newer riskmc."""

    exit_code = 6


class LedgerUsageError(RiskmcError):
    """A request the ledger cannot honour as asked: an unknown claim, a malformed date."""

    exit_code = 2


class EventError(RiskmcError):
    """An event that does not parse or names what the model does not have (exit 2)."""

    exit_code = 2


class StaleError(RiskmcError):
    """A whole run made from inputs that have changed since: its numbers are no longer
    what its priors files say (exit 7)."""

    exit_code = 7


# Documented in `riskmc --help` and the README; pipelines branch on these.
EXIT_CODES = {
    0: "success",
    1: "internal error (a bug: please report it with the command line)",
    2: "bad command-line usage or run settings",
    3: "invalid priors or model file (the message names the file, line and fix)",
    4: "an output folder or file cannot be written or read",
    5: "--target-mcse not reached before --max-draws",
    6: "the claims ledger cannot be used (damaged, locked by another writer, or newer); it is left unchanged",
    7: "stale: a run is whole, but a priors file, its model file or riskmc changed since it ran (verify; ask and "
       "voi, which re-create its draws)",
    130: "interrupted (Ctrl-C); no partial output left in place",
    143: "terminated (SIGTERM); no partial output left in place",
}
