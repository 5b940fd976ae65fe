"""Finding a model: a built-in by name, or a Python file that defines one riskmc.Model.

A model file is code, run as Python when a priors file names it: the same trust as a
Makefile. Every way loading can fail is one ModelError naming the file (and the line).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import linecache
import os
import sys
import traceback
import types
from pathlib import Path

from .. import interrupt
from ..errors import ModelError, UserCodeExit
from .spec import Model

# Built-in models by name: the module that defines MODEL.
BUILTINS = {"market": "riskmc.model.market"}


def resolve(ref: str, base: Path | None = None, *, where: tuple[str | None, int | None] = (None, None)) -> Model:
    """The model a priors file names: a built-in (`market`) or a file path (`models/x.py`),
    relative to `base`, the folder of the file that names it."""
    file, line = where
    if not isinstance(ref, str) or not ref.strip():
        raise ModelError("'model' must name a model in quotes: a built-in such as \"market\", or a "
                         "file such as \"models/vendors.py\"", file=file, line=line)
    if ref in BUILTINS:
        module = importlib.import_module(BUILTINS[ref])
        model = module.MODEL
        if not model.builtin:
            model.builtin = True
            model.sha256 = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()
        return model
    if not ref.endswith(".py"):
        close = difflib.get_close_matches(ref, BUILTINS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else \
            f"built-in models: {', '.join(BUILTINS)}; or name a .py file that defines a riskmc.Model"
        raise ModelError(f"unknown model '{ref}'", file=file, line=line, hint=hint)
    path = Path(ref)
    if not path.is_absolute() and base is not None:
        path = Path(os.path.normpath(base / path))
    try:
        exists = path.exists()
    except OSError as exc:
        raise ModelError(f"'model' names a path the system refuses: {exc.strerror}", file=file, line=line,
                         hint="name a model file, e.g. model = \"../models/vendors.py\"") from None
    if not exists:
        raise ModelError(f"no model file at {path}", file=file, line=line,
                         hint="the path is relative to the priors file that names it")
    from ..store.textfile import read_text
    try:
        read_text(path, what="model file", error=ModelError)  # a folder, a FIFO, binary: this line's mistake
    except ModelError as exc:
        if file is None:
            raise
        raise ModelError(f"'model' names {ref}: {exc.message}", file=file, line=line, hint=exc.hint) from None
    return load_model(path)


_loaded: dict[tuple[str, str], Model] = {}


def load_model(path: str | Path) -> Model:
    """Run a model file and return the one riskmc.Model it defines.

    The file runs as a module named after it (riskmc_model_STEM), so numba can cache its
    compiled code beside it; loading the same bytes twice returns the same Model.
    """
    from ..store.textfile import read_text
    path = Path(path)
    text, raw = read_text(path, what="model file", error=ModelError)
    sha = hashlib.sha256(raw).hexdigest()
    key = (str(path.resolve()), sha)
    if key in _loaded:
        return _loaded[key]
    try:
        code = compile(text, str(path), "exec")
    except SyntaxError as exc:
        raise ModelError(f"Python syntax error: {exc.msg}", file=path, line=exc.lineno,
                         hint="fix the model file") from None
    except ValueError as exc:  # null bytes
        raise ModelError(f"not Python source: {exc}", file=path) from None
    name = "riskmc_model_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    linecache.checkcache(str(path))
    previous = sys.modules.get(name)
    sys.modules[name] = module  # numba finds the module by name when it loads cached code
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    try:
        exec(code, module.__dict__)
    except BaseException as exc:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        if interrupt.is_stop(exc):
            raise
        line = _line_in(exc, str(path))
        if isinstance(exc, ModelError):
            raise ModelError(exc.message, file=path, line=line, hint=exc.hint) from None
        if not isinstance(exc, Exception):
            ended = UserCodeExit(exc)
            raise ModelError(f"the model file ended the program as it ran ({ended.kind}"
                             f"{': ' + str(ended) if str(ended) else ''})", file=path, line=line,
                             hint="a model file defines a riskmc.Model: remove the call that ends the program "
                                  "(sys.exit)") from None
        raise ModelError(f"running the model file failed: {type(exc).__name__}: {_first_line(exc)}",
                         file=path, line=line, hint="fix the model file") from None
    finally:
        # What a model file may not take from the command that runs it: its folder (relative
        # output paths would land elsewhere), its signal handlers, its stdout.
        if cwd is not None:
            with contextlib.suppress(OSError):
                if os.getcwd() != cwd:
                    os.chdir(cwd)
        interrupt.reassert()
    models = [v for v in module.__dict__.values() if isinstance(v, Model)]
    if not models:
        raise ModelError("the file defines no riskmc.Model", file=path,
                         hint="end it with, e.g., MODEL = riskmc.Model(\"name\", inputs=..., outputs=..., "
                              "vectorised=f); see docs/models.md")
    distinct = list({id(m): m for m in models}.values())
    if len(distinct) > 1:
        raise ModelError(f"the file defines {len(distinct)} models ({', '.join(m.name for m in distinct)}): "
                         "keep one per file", file=path)
    model = distinct[0]
    model.source, model.sha256 = path, sha
    _loaded[key] = model
    return model


def _line_in(exc: BaseException, filename: str) -> int | None:
    """The last line of `filename` in the exception's traceback."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    if line is None and isinstance(exc, ModelError):
        return exc.line
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""
