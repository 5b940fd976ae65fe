"""A model, as riskmc sees it: named inputs, named outputs, an index of years (or none),
and a function from one to the other. Users build one from a plain Python function.

Two styles, one protocol:

- vectorised: ``f(inputs, years) -> outputs``, numpy over a block of draws; ``inputs``
  maps each input's name to an array of draws, and each output is an array of shape
  (draws, years), or (draws,) for a model without years;
- compiled: a scalar function of one draw, ``f(a, b, ..., years, out)``, whose parameter
  names are the inputs' names; it fills ``out[k, t]`` (output k in the order declared,
  year t), or ``out[k]`` without years, and riskmc compiles it with numba.

Either way the engine calls `Model.fill(X, Y)`: an (inputs, draws) block in, an
(outputs, years, draws) block out. It never names a particular model.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError, UserCodeExit

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
KINDS = ("share", "level", "ratio")


@dataclass(frozen=True)
class Input:
    """A model input: its name (a prior of the same name feeds it), unit, what it is, and the
    support any prior for it must stay inside."""

    name: str
    unit: str = ""
    description: str = ""
    lower: float = -math.inf
    upper: float = math.inf


@dataclass(frozen=True)
class Output:
    """A model output. `headline` outputs lead the report and drive --target-mcse; `kind`
    says how to show it: "share" (a fraction, shown in percent), "level" or "ratio".
    `lower` and `upper` bound what it can take: evidence outside them is refused."""

    name: str
    unit: str = ""
    label: str = ""
    headline: bool = False
    kind: str = ""
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))
        if not self.kind:
            object.__setattr__(self, "kind", "share" if self.unit == "fraction" else "level")


class Model:
    """A model riskmc can run: build it from one function, in either style.

        model = riskmc.Model(
            "ishigami",
            inputs=[riskmc.Input("x1", lower=-math.pi, upper=math.pi), ...],
            outputs=[riskmc.Output("y", headline=True)],
            vectorised=ishigami,      # or compiled=ishigami_draw
            doc="The Ishigami function, a classic test of sensitivity analysis.",
        )

    `years` (a sequence of whole years) gives every output one value a year; without it
    each output is one number per draw.
    """

    def __init__(self, name: str, *, inputs: Sequence[Input], outputs: Sequence[Output],
                 years: Sequence[int] | None = None, vectorised: Callable | None = None,
                 compiled: Callable | None = None, doc: str = "") -> None:
        self.name = name
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.years = None if years is None else tuple(int(y) for y in years)
        self.doc = doc
        self.vectorised = vectorised
        self.compiled = compiled
        self.source: Path | None = None   # the file it was loaded from, set by riskmc.model.files
        self.sha256: str | None = None    # of that file
        self.builtin = False              # shipped with riskmc (riskmc.model.BUILTINS)
        self._check()
        self._drive = None

    # ------------------------------------------------------------------ description
    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    @property
    def width(self) -> int:
        """Values per output and draw: the number of years, or 1."""
        return len(self.years) if self.years is not None else 1

    @property
    def style(self) -> str:
        return "compiled" if self.compiled is not None else "vectorised"

    @property
    def function(self) -> Callable:
        return self.compiled if self.compiled is not None else self.vectorised

    def labels(self) -> tuple[str, ...]:
        """Each output row of the (outputs x years) block: `name[year]`, or `name`."""
        if self.years is None:
            return self.output_names
        return tuple(f"{o}[{y}]" for o in self.output_names for y in self.years)

    def __reduce__(self):
        """Pickled by where it comes from (Dask sends the kernel to other processes):
        a worker loads the same file, or the same built-in."""
        from . import files
        if self.builtin:
            return files.resolve, (self.name,)
        if self.source is not None:
            return files.load_model, (str(self.source),)
        return object.__reduce__(self)

    def describe(self) -> dict:
        """Which model ran, for summary.json: its name, where it came from, its SHA-256 and doc."""
        return {"name": self.name, "builtin": self.builtin,
                "path": None if self.source is None else str(self.source),
                "sha256": self.sha256, "style": self.style, "years": list(self.years) if self.years else None,
                "doc": self.doc}

    def __repr__(self) -> str:
        where = f", from {self.source}" if self.source else ""
        return (f"Model({self.name!r}, {len(self.inputs)} inputs, {len(self.outputs)} outputs, "
                f"{self.style}{where})")

    def _check(self) -> None:
        def fail(message: str) -> ModelError:
            return ModelError(f"model '{self.name}': {message}", file=self.source)

        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise ModelError(f"a model's name must be letters, digits and '_', got {self.name!r}")
        if (self.vectorised is None) == (self.compiled is None):
            raise fail("give exactly one function: vectorised=f or compiled=f")
        if not self.inputs or not all(isinstance(i, Input) for i in self.inputs):
            raise fail("inputs must be a list of riskmc.Input")
        if not self.outputs or not all(isinstance(o, Output) for o in self.outputs):
            raise fail("outputs must be a list of riskmc.Output")
        names = [*self.input_names, *self.output_names]
        for n in names:
            if not isinstance(n, str) or not NAME.match(n):
                raise fail(f"'{n}' is not a usable name: letters, digits and '_', not starting with a digit")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise fail(f"the name '{dup[0]}' is used twice (inputs and outputs need names of their own)")
        for o in self.outputs:
            if o.kind not in KINDS:
                raise fail(f"output '{o.name}': kind must be one of {', '.join(KINDS)}, got '{o.kind}'")
        if not any(o.headline for o in self.outputs):
            raise fail("mark at least one output headline=True: it leads the report")
        for i in self.inputs:
            if not i.lower < i.upper:
                raise fail(f"input '{i.name}': lower must be below upper")
        if self.years is not None:
            if not self.years or list(self.years) != sorted(set(self.years)):
                raise fail("years must be increasing whole years, e.g. range(2025, 2031)")
        if self.compiled is not None:
            self._check_signature()
        elif not callable(self.vectorised):
            raise fail("vectorised must be a function f(inputs, years)")

    def _check_signature(self) -> None:
        params = list(inspect.signature(self.compiled).parameters)
        tail = ["years", "out"] if self.years is not None else ["out"]
        name = getattr(self.compiled, "__name__", "the function")
        if params[-len(tail):] != tail:
            raise ModelError(f"model '{self.name}': the compiled function {name} must end with the "
                             f"parameters ({', '.join(tail)}), got ({', '.join(params)})", file=self.source)
        given = params[:-len(tail)]
        unknown = [p for p in given if p not in self.input_names]
        if unknown:
            raise ModelError(f"model '{self.name}': {name} takes '{unknown[0]}', which is not one of the "
                             f"model's inputs ({', '.join(self.input_names)})", file=self.source)
        missing = [i for i in self.input_names if i not in given]
        if missing:
            raise ModelError(f"model '{self.name}': input '{missing[0]}' is declared but {name} does not "
                             "take it as a parameter", file=self.source)

    # ------------------------------------------------------------------ evaluation
    def fill(self, x: np.ndarray, y: np.ndarray) -> None:
        """The engine's one protocol: inputs block x (inputs, n) -> outputs block y
        (outputs, width, n), filled in place. A function that ends itself (sys.exit) raises
        UserCodeExit, an Exception like any other failure of the model."""
        from .. import interrupt
        try:
            self._fill(x, y)
        except Exception:
            raise
        except BaseException as exc:
            if interrupt.is_stop(exc):
                raise
            raise UserCodeExit(exc) from None

    def _fill(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.compiled is not None:
            self._driver()(x, y, np.asarray(self.years or (0,), dtype=float))
            return
        n = x.shape[1]
        ins = {name: x[j] for j, name in enumerate(self.input_names)}
        years = None if self.years is None else np.asarray(self.years)
        out = self.vectorised(ins, years)
        if not isinstance(out, dict):
            raise ModelError(f"model '{self.name}': the function must return a dict of output arrays, "
                             f"got {type(out).__name__}", file=self.source)
        for k, o in enumerate(self.outputs):
            if o.name not in out:
                raise ModelError(f"model '{self.name}': the function returned no '{o.name}'", file=self.source,
                                 hint=f"it returned {', '.join(map(str, out)) or 'nothing'}")
            a = np.asarray(out[o.name], dtype=float)
            want = (n, self.width) if self.years is not None else (n,)
            if a.shape != want:
                raise ModelError(f"model '{self.name}': output '{o.name}' has shape {a.shape}, expected {want} "
                                 f"({'draws x years' if self.years is not None else 'one value per draw'})",
                                 file=self.source)
            y[k] = a.T if self.years is not None else a[None, :]
        extra = [k for k in out if k not in self.output_names]
        if extra:
            raise ModelError(f"model '{self.name}': the function returned '{extra[0]}', which is not a "
                             "declared output", file=self.source,
                             hint="declare it with riskmc.Output, or leave it out")

    def guarded_fill(self, x: np.ndarray, y: np.ndarray, first_draw: int = 0) -> None:
        """`fill`, with any failure of the user's function as one ModelError naming the first
        draw it fails on (numbered from `first_draw`) and that draw's inputs: what every
        verb that evaluates a model reports."""
        try:
            self.fill(x, y)
        except ModelError:
            raise
        except Exception as exc:
            raise self.failure(x, exc, first_draw) from None

    def failure(self, x: np.ndarray, exc: Exception, first_draw: int = 0) -> ModelError:
        """The ModelError for a function that failed on inputs block x: the draws are tried
        one by one to name the first that fails."""
        fn = getattr(self.function, "__name__", "its function")
        y1 = np.empty((len(self.outputs), self.width, 1))
        for i in range(x.shape[1]):
            try:
                self.fill(np.ascontiguousarray(x[:, i:i + 1]), y1)
            except Exception as one:
                exc = one
                break
        else:
            i = None
        kind = getattr(exc, "kind", type(exc).__name__)
        what = f"{kind}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
        hint = (f"a model returns its outputs: remove what raises {kind} (sys.exit ends the program)"
                if isinstance(exc, UserCodeExit) else "fix the function, or the priors that reach these inputs")
        line = _line_in(getattr(exc, "origin", exc), self.source)
        if i is None:
            return ModelError(f"model '{self.name}': {fn} failed on a block of draws ({what}), though "
                              "each draw alone succeeds", file=self.source, line=line, hint=hint)
        inputs = ", ".join(f"{spec.name}={float(x[j, i]):.6g}" for j, spec in enumerate(self.inputs))
        return ModelError(f"model '{self.name}': {fn} failed at draw {first_draw + i:,} with {what}; the draw's "
                          f"inputs: {inputs}", file=self.source, line=line, hint=hint)

    def evaluate(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for inputs given by name: each (draws, years), or (draws,) without years.

        For notebooks and tests; the engine works on blocks (`fill`).
        """
        from ..numeric import blocks
        rows = [np.asarray(inputs[name], dtype=float).ravel() for name in self.input_names]
        n = len(rows[0])
        x = blocks.empty((len(rows), n))
        for j, r in enumerate(rows):
            x[j] = r
        y = blocks.empty((len(self.outputs), self.width, n))
        self.guarded_fill(x, y)
        if self.years is None:
            return {o.name: y[k, 0] for k, o in enumerate(self.outputs)}
        return {o.name: y[k].T for k, o in enumerate(self.outputs)}

    # ------------------------------------------------------------------ compiling
    def _driver(self):
        """The compiled loop over draws that calls the per-draw function.

        It is generated as source and compiled as if it stood in the model's own file, so
        numba caches it beside that file and recompiles when the file changes.
        """
        if self._drive is None:
            self._drive = compile_driver(self)
        return self._drive


def _line_in(exc: BaseException, source: Path | None) -> int | None:
    """The last line of the model's file in the exception's traceback, if it is there."""
    if source is None:
        return None
    import traceback
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(source):
            line = frame.lineno
    return line


def compile_driver(model: Model):
    """numba-compile the loop `for i in draws: f(x[0, i], ..., years, y[:, :, i])`.

    A function numba cannot compile is a ModelError naming the model's file and the
    first line of numba's explanation.
    """
    import importlib
    import sys

    from ..numeric import jit

    fn = model.compiled
    module = sys.modules.get(fn.__module__)
    params = list(inspect.signature(fn).parameters)
    index = {name: j for j, name in enumerate(model.input_names)}
    args = [f"x[{index[p]}, i]" for p in params if p in index]
    args += ["years", "y[:, :, i]"] if model.years is not None else ["y[:, 0, i]"]
    body = (f"def {{name}}(x, y, years):\n"
            f"    for i in range(x.shape[1]):\n"
            f"        {{f}}({', '.join(args)})\n")
    # The name carries everything the compiled code depends on besides the model's file
    # (which numba's cache watches itself): the loop, the function, riskmc's template.
    key = hashlib.sha256((body + fn.__qualname__ + _DRIVER_VERSION).encode()).hexdigest()[:12]
    name, fname = f"_riskmc_drive_{fn.__name__}_{key}", f"_riskmc_each_{fn.__name__}"
    src = body.format(name=name, f=fname)
    if module is None:
        module = importlib.import_module(fn.__module__)
    space = module.__dict__
    _compile_helpers(fn, space)
    space[fname] = jit.njit(nogil=True, cached=False)(fn)
    filename = getattr(module, "__file__", None) or "<riskmc-model>"
    exec(compile(src, filename, "exec"), space)
    drive = jit.njit(nogil=True, cached=filename != "<riskmc-model>")(space[name])
    from ..numeric import blocks
    years = np.asarray(model.years or (0,), dtype=float)
    # The same array layouts the engine passes (padded blocks), so this is the one
    # signature numba compiles and caches.
    x = blocks.empty((len(model.inputs), 2))
    x[:] = 1.0
    y = blocks.empty((len(model.outputs), model.width, 2))
    try:
        drive.prepare(x, y, years)
    except Exception as exc:
        if not type(exc).__module__.startswith("numba"):
            raise
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ModelError(f"model '{model.name}': numba cannot compile {fn.__name__}: {first}",
                         file=model.source, hint="compiled functions take numbers and arrays only; "
                         "see docs/models.md, or write the model in the vectorised style") from None
    return drive


def _compile_helpers(fn, space: dict, seen: set | None = None) -> None:
    """Compile, in place, the plain functions of the model's own file that `fn` calls (and
    that they call): a compiled model may use helpers without decorating them itself."""
    import types

    from ..numeric import jit
    seen = set() if seen is None else seen
    for name in fn.__code__.co_names:
        g = space.get(name)
        if isinstance(g, types.FunctionType) and g.__module__ == fn.__module__ and name not in seen:
            seen.add(name)
            _compile_helpers(g, space, seen)
            space[name] = jit.njit(nogil=True, cached=False)(g)


# Bump when the generated loop changes shape, so no cached loop of an older riskmc is reused.
_DRIVER_VERSION = "2"
