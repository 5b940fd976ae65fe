"""Compiled kernels: numba compiles each once, later processes run its machine code without numba.

`njit` returns a Kernel. Called with arrays and numbers, it looks for machine code for
those argument types: in memory, then in riskmc's cache (riskmc.numeric.cache, kind "native"),
keyed by the bytecode numba compiles (the kernel's and that of every function it calls),
the constants, arrays and closure cells they read, numba's and LLVM's versions and this
CPU. Only when there is none is numba imported: it compiles afresh, and riskmc keeps the
object file it made. Loading that file takes milliseconds where importing numba and
readying its compiler takes most of a second, which is what a short run used to pay
before drawing anything (riskmc.numeric.native).

The code run is the code numba compiled, called through numba's own wrapper, so results
are the same bits and exceptions numba's. Wherever this path does not apply (an argument
type it does not tell, keyword arguments, an array result, code numba will not cache,
another platform, no cache), the Kernel calls numba's dispatcher, as before.

numba keeps its own compiled code beside the source (`__pycache__`) or in a user-wide
cache folder. An installation nobody may write to, with no writable home either, has
neither: numba then refuses `cache=True` outright. riskmc compiles in memory instead
(slower to start, the same numbers) and says so once.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import inspect
import json
import marshal
import os
import sys
import threading
import types

import numpy as np

from . import cache, native

# What the command line should tell the user once (riskmc.cli.common.finish prints it).
NOTES: list[str] = []
_NO_CACHE = ("no writable cache for compiled code: compiling in memory at each start "
             "(set NUMBA_CACHE_DIR to a writable folder to keep it)")
# Bump when what is stored or how it is called changes.
_FORMAT = "3"
_UNSET = object()


def njit(cached: bool = True, **options):
    """A Kernel of `fn`, compiled as numba.njit(cache=cached, **options) would."""
    def wrap(fn):
        return Kernel(fn, cached, options)
    return wrap


class Kernel:
    """A function numba compiles, called through its stored machine code when there is some."""

    def __init__(self, fn, cached: bool, options: dict):
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self._cached = cached
        self._options = options
        self._dispatcher = None
        self._calls: dict = {}  # argument types -> the loaded function, or None for numba's way
        self._lock = threading.Lock()
        code = fn.__code__
        varargs = code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount
        self._arity = -1 if varargs else code.co_argcount
        self._defaults = fn.__defaults__ or ()

    def __repr__(self) -> str:
        return f"<riskmc kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self):
        # By name where the module holds it (Dask workers import riskmc), else rebuilt.
        module = sys.modules.get(self.py_func.__module__)
        if module is not None and getattr(module, self.py_func.__qualname__, None) is self:
            return _named, (self.py_func.__module__, self.py_func.__qualname__)
        return Kernel, (self.py_func, self._cached, self._options)

    @property
    def dispatcher(self):
        """numba's dispatcher for this function, made (and numba imported) on first use."""
        if self._dispatcher is None:
            self._dispatcher = _numba_jit(self.py_func, self._cached, self._options)
        return self._dispatcher

    @property
    def _numba_type_(self):
        # How numba types a global it meets while compiling another kernel that calls this one.
        return self.dispatcher._numba_type_

    def __call__(self, *args, **kwargs):
        if not kwargs and len(args) < self._arity and self._defaults:
            missing = self._arity - len(args)
            if missing <= len(self._defaults):  # filled as numba's dispatcher would
                args = args + self._defaults[len(self._defaults) - missing:]
        fn = None if kwargs else self._function(args)
        return (self.dispatcher if fn is None else fn)(*args, **kwargs)

    def prepare(self, *args) -> None:
        """Compile or load for these arguments' types now, so compiling errors come here."""
        if self._function(args) is None:
            import numba
            self.dispatcher.compile(tuple(numba.typeof(a) for a in args))

    def _function(self, args):
        if len(args) != self._arity:  # *args, keyword-only or missing: numba's dispatcher
            return None
        key = _signature(args)
        if key is None:
            return None
        fn = self._calls.get(key, _UNSET)
        if fn is _UNSET:
            with self._lock:
                fn = self._calls.get(key, _UNSET)
                if fn is _UNSET:
                    fn = self._calls[key] = self._resolve(key, args)
        return fn

    def _resolve(self, key: tuple, args):
        """The stored machine code for these types, stored first if need be; None when
        this kernel or platform has none to give (numba's dispatcher runs it then)."""
        if not self._cached or cache.directory() is None:
            return None
        name = self._identity(key)
        if name is None:
            return None
        stored = _read(name)
        if stored is None:
            # Compiled once to learn it, a kernel this path cannot call is stored as such,
            # so later processes go to numba's dispatcher (and numba's cache) at once.
            stored = self._build(args) or ({"numba": True}, b"")
            _write(name, *stored)
        meta, obj = stored
        if meta.get("numba"):
            return None
        try:
            return native.load(obj, meta, self.py_func)
        except Exception:  # pragma: no cover - an LLVM that will not link it: numba's way
            return None

    def _build(self, args):
        """Compile with numba and take the object file of the result, with how to call it."""
        import numba
        _defer_blas_probe()
        sig = tuple(numba.typeof(a) for a in args)
        # Compiled afresh: code numba loads from its own cache no longer holds its object file.
        fresh = numba.njit(**self._options)(self.py_func)
        fresh.compile(sig)  # the user's compiling errors are raised here
        try:
            cres = fresh.overloads[sig]
            obj = cres.library.serialize_using_object_code()[2][0]
            meta = {"wrapper": cres.fndesc.llvm_cpython_wrapper_name, "env": cres.fndesc.env_name,
                    "signature": str(sig)}
            # Constants numba keeps for the wrapper, and addresses numba wrote into the code
            # (large or strided global arrays, ctypes functions), are this process's only:
            # numba does not cache such code either.
            plain = not cres.environment.consts and not cres.library.has_dynamic_globals
        except Exception:  # pragma: no cover - a numba whose internals moved: its own way
            return None
        found = native.symbols(obj)
        if not plain or found is None or not native.resolvable(found[0]):
            return None
        return {**meta, "undefined": found[0], "envs": found[1]}, obj

    def _identity(self, key: tuple) -> str | None:
        """The cache name: what the machine code depends on, or None if that cannot be told."""
        parts: list = []
        if not _depends(self.py_func, parts, set()):
            return None
        options = sorted((k, repr(v)) for k, v in self._options.items())
        return cache.key("native", _FORMAT, _platform(), options, parts, key)


def _named(module: str, name: str) -> Kernel:
    import importlib
    return getattr(importlib.import_module(module), name)


def _depends(fn, parts: list, seen: set) -> bool:
    """Record what machine code compiled from `fn` depends on: its bytecode (what numba
    compiles, whatever its file says by now), defaults and closure cells, and the globals
    it reads (constants and arrays by value, attributes of modules it names, and the
    functions it calls, theirs in turn). False when something cannot be recorded."""
    code = fn.__code__
    parts.append((fn.__module__, fn.__qualname__, hashlib.sha256(marshal.dumps(code)).hexdigest()))
    cells = tuple(c.cell_contents for c in fn.__closure__ or ())
    kwdefaults = tuple(sorted((fn.__kwdefaults__ or {}).items()))
    if not _value((fn.__defaults__, kwdefaults, cells), "locals", parts, seen):
        return False
    names = sorted(_names(code))
    for name in names:
        v = fn.__globals__.get(name, _UNSET)
        if isinstance(v, types.ModuleType):  # module.NAME: any name the code uses may be one
            if not all(_value(getattr(v, a, None), (name, a), parts, seen) for a in names):
                return False
        elif not _value(v, name, parts, seen):
            return False
    return True


def _value(v, label, parts: list, seen: set) -> bool:
    inner = getattr(v, "py_func", v)  # a Kernel's or numba dispatcher's function
    if isinstance(inner, types.FunctionType):
        if id(inner) in seen:
            return True
        seen.add(id(inner))
        return _depends(inner, parts, seen)
    if isinstance(v, bool | int | float | complex | str | bytes | np.generic | enum.Enum):
        parts.append((label, type(v).__name__, repr(v)))
    elif isinstance(v, np.ndarray):
        parts.append((label, v.dtype.str, v.shape, hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()))
    elif isinstance(v, tuple | list | dict):
        items = v.items() if isinstance(v, dict) else enumerate(v)
        return all(_value(x, (label, k), parts, seen) for k, x in items)
    # Anything else (modules, classes, numpy's and C functions) is code numba knows by name.
    return True


def _names(code) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return names


def _signature(args) -> tuple | None:
    """The argument types as numba.typeof would tell them, without numba; None for
    anything else (numba's dispatcher takes those). Called on every call: kept cheap."""
    out = []
    for a in args:
        t = type(a)
        if t is np.ndarray:
            dtype = _DTYPES.get(a.dtype)
            if dtype is None or a.ndim == 0:
                return None
            f = a.flags.num
            layout = "C" if f & _C_CONTIGUOUS else "F" if f & _F_CONTIGUOUS else "A"
            out.append((dtype, a.ndim, layout, bool(f & _WRITEABLE), bool(f & _ALIGNED)))
        elif t is float or t is np.float64:
            out.append("d")
        elif t is int and -2 ** 63 <= a < 2 ** 63 or t is np.int64:
            out.append("q")
        elif t is bool or t is np.bool_:
            out.append("?")
        else:
            return None
    return tuple(out)


# numpy's flag bits (ndarray.flags.num) and the dtypes riskmc passes compiled code.
_C_CONTIGUOUS, _F_CONTIGUOUS, _ALIGNED, _WRITEABLE = 0x1, 0x2, 0x100, 0x400
_DTYPES = {np.dtype(c): np.dtype(c).str for c in ("f8", "f4", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "?")}


def _read(name: str):
    data = cache.load_bytes("native", name, ".o")
    try:
        n = int.from_bytes(data[:8], "little")
        meta, obj = json.loads(data[8:8 + n]), data[8 + n:]
    except (TypeError, ValueError):  # none stored, or not ours: compile again
        return None
    # A damaged object file would bring LLVM down with the process: check every byte.
    if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(obj).hexdigest():
        return None
    return (meta, obj) if meta.get("numba") or {"wrapper", "env", "envs", "undefined"} <= meta.keys() else None


def _write(name: str, meta: dict, obj: bytes) -> None:
    head = json.dumps({**meta, "sha256": hashlib.sha256(obj).hexdigest()}, sort_keys=True).encode()
    cache.save_bytes("native", name, ".o", len(head).to_bytes(8, "little") + head + obj)


@functools.cache
def _platform() -> tuple:
    """What machine code depends on besides its source: numba, LLVM, Python and this CPU."""
    import platform

    import llvmlite.binding as llvm
    versions = (cache.stamp("numba", "_version.py"), cache.stamp("llvmlite", "_version.py"))
    settings = sorted((k, v) for k, v in os.environ.items()
                      if k.startswith("NUMBA_") and k not in ("NUMBA_CACHE_DIR", "NUMBA_NUM_THREADS"))
    return (versions, sys.version, platform.machine(), llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(), tuple(settings))


def _numba_jit(fn, cached: bool, options: dict):
    """numba.njit(cache=True, **options), or without the cache when none can be written."""
    import numba
    _defer_blas_probe()
    if not cached:
        return numba.njit(**options)(fn)
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError as exc:
        if "no locator available" not in str(exc) and "cannot cache" not in str(exc):
            raise
        if _NO_CACHE not in NOTES:
            NOTES.append(_NO_CACHE)
        return numba.njit(cache=False, **options)(fn)


def _defer_blas_probe() -> None:
    with _probe_lock:
        _probe_blas_once()


_probe_lock = threading.Lock()


@functools.cache
def _probe_blas_once() -> None:
    """numba's array library, loaded with the first compiled function, imports
    scipy.linalg (a quarter of a second) only to learn whether np.dot may call BLAS.
    Answer from the presence of SciPy's BLAS module instead; compiling a real np.dot still
    imports it then. Nothing changes if numba's layout differs: this is only a shortcut."""
    try:
        import importlib.util
        from pathlib import Path

        if "numba.np.arraymath" in sys.modules:
            return
        import numba.np.linalg as linalg
        spec = importlib.util.find_spec("scipy")
        found = bool(spec and spec.submodule_search_locations and any(
            Path(p, "linalg").glob("cython_blas*") for p in spec.submodule_search_locations))
        real = linalg.ensure_blas

        def probe():
            if not found:
                raise ImportError("scipy's BLAS is not installed")

        linalg.ensure_blas = probe
        try:
            import numba.np.arraymath  # noqa: F401 - computes its _HAVE_BLAS with the probe
        finally:
            linalg.ensure_blas = real
    except Exception:  # pragma: no cover - a numba whose internals moved: keep its own way
        return
