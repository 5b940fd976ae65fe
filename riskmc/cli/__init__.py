"""The command line: one file per command, joined in main.py. The only place that prints or exits.

`entry()` installs the signal handlers before anything heavy is imported, so a Ctrl-C at
any instant after start-up ends in one line and exit 130, never a traceback.
"""

from __future__ import annotations


def entry() -> None:
    import os
    import sys
    import warnings

    from .. import interrupt
    interrupt.install()
    if not sys.warnoptions:
        # A command speaks in one line per problem; numpy's "divide by zero" from a model
        # would add its own (the non-finite output it leads to is reported by name).
        warnings.simplefilter("ignore")
    _check_environment()
    from .main import run_app
    try:
        run_app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        # Everything is written, committed and flushed: skip tearing down numba, LLVM and
        # numpy, a tenth of a second of every command that does not change what it did.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said there
                pass
        os._exit(code)


def _check_environment() -> None:
    """Settings read from the environment, checked before any library reads them (numpy's
    f2py parses SOURCE_DATE_EPOCH on import and would fail with a traceback)."""
    import os
    import sys
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        from ..store.timestamp import TimestampError, from_epoch
        try:
            from_epoch(epoch)
        except TimestampError as exc:
            sys.stderr.write(f"riskmc: error: {exc}\n")
            raise SystemExit(2) from None


def __getattr__(name: str):
    if name == "app":
        from .main import app
        return app
    raise AttributeError(name)
