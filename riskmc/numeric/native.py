"""Machine code numba compiled once, loaded again without numba.

Importing numba and readying its compiler costs about 0.7 s of every command that runs a
kernel, even when every kernel comes from numba's cache. The code itself is an object
file of a few kilobytes: llvmlite (numba's own LLVM binding, 0.04 s to import) links it
into the process, and the function is called through the wrapper numba compiled into the
same object, made a Python function as numba makes it (numba._dynfunc.make_function):
arguments are unboxed in C, the GIL released, exceptions raised with numba's messages.
riskmc.numeric.jit decides when; this module only loads.

Symbols an object file needs are resolved as numba resolves them: numba's runtime and
helper functions from its C extension modules (loaded from their files, without the
numba package, in milliseconds), the Python C API and libm from the running process. An
object needing anything else is not loaded (riskmc.numeric.jit then uses numba's dispatcher).
"""

from __future__ import annotations

import ctypes
import functools
import struct
import sys
import threading

_llvm = None
_engines: list = []  # one engine per object file, kept alive as long as the process
_lock = threading.Lock()  # LLVM's symbol table is the process's: one loader at a time
_symbols_lock = threading.Lock()  # numba's extension modules are loaded once


def symbols(obj: bytes) -> tuple[list[str], list[str]] | None:
    """What an ELF64 little-endian object file needs from elsewhere, and the global
    variables through which each function in it finds its numba environment (the
    kernel's own and those of the compiled functions it calls); None if it is not one
    (another platform: riskmc.numeric.jit then keeps numba's own loading)."""
    if obj[:6] != b"\x7fELF\x02\x01":
        return None
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + k * shentsize) for k in range(shnum)]
    undefined, envs = set(), set()
    for _, kind, _, _, off, size, link, _, _, entsize in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        stroff = sections[link][4]
        for k in range(size // entsize):
            name_at, _, _, shndx = struct.unpack_from("<IBBH", obj, off + k * entsize)
            if not name_at:
                continue
            end = obj.index(b"\0", stroff + name_at)
            name = obj[stroff + name_at:end].decode()
            if shndx == 0:  # SHN_UNDEF
                undefined.add(name)
            elif name.startswith(_ENV_PREFIX):
                envs.add(name)
    return sorted(undefined), sorted(envs)


_ENV_PREFIX = "_ZN08NumbaEnv"
# The C maths functions numba binds under their own names (numba.core.intrinsics.INTR_MATH);
# every other helper it knows only as numba_NAME.
_CMATH = frozenset("""
    ceil ceilf cos cosf exp expf fabs fabsf floor floorf log log10 log10f logf pow powf sin
    sinf sqrt sqrtf trunc truncf tan tanf sinh sinhf cosh coshf tanh tanhf asin asinf acos
    acosf atan atanf atan2 atan2f asinh asinhf acosh acoshf atanh atanhf expm1 expm1f log1p
    log1pf log10 log10f fmod fmodf round roundf""".split())


def _numba_symbols() -> dict[str, int]:
    """numba's names and addresses for LLVM, found once (see _find_numba_symbols)."""
    with _symbols_lock:
        return _find_numba_symbols()


@functools.cache
def _find_numba_symbols() -> dict[str, int]:
    """The addresses numba gives LLVM for the names its code uses (numba.core.base and
    externals): its C helpers, runtime and libm wrappers, and Python's None and built-in
    exceptions as objects (the C symbol PyExc_X is a pointer to one, not the object).

    numba's extension modules are loaded from numba's folder under their own names, so a
    later `import numba` finds them loaded and uses the same ones; the runtime gets
    numba's choice of allocator, as importing numba would give it.
    """
    import builtins
    import importlib.machinery
    import importlib.util
    import os
    spec = importlib.util.find_spec("numba")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = spec.submodule_search_locations[0]
    found: dict[str, int] = {"_Py_NoneStruct": id(None)}
    for name, rel in (("numba._helperlib", "_helperlib"), ("numba._dynfunc", "_dynfunc"),
                      ("numba.core.runtime._nrt_python", "core/runtime/_nrt_python")):
        module = sys.modules.get(name)
        if module is None:
            path = next((os.path.join(root, rel + s) for s in importlib.machinery.EXTENSION_SUFFIXES
                         if os.path.exists(os.path.join(root, rel + s))), None)
            if path is None:
                return {}
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path))
            sys.modules[name] = module
        helpers = module.c_helpers
        if rel.endswith("_nrt_python"):
            module.memsys_use_cpython_allocator()
            found.update({k if k.startswith("_") else "NRT_" + k: a for k, a in helpers.items()})
        else:
            found.update({"numba_" + k: a for k, a in helpers.items()})
            if rel == "_helperlib":  # its C maths functions, under their own names
                found.update({k: a for k, a in helpers.items() if k in _CMATH})
    for obj in vars(builtins).values():
        if isinstance(obj, type) and issubclass(obj, BaseException):
            found["PyExc_" + obj.__name__] = id(obj)
    return found


def _address(name: str) -> int | None:
    known = _numba_symbols().get(name)
    if known is not None:
        return known
    try:
        return ctypes.cast(getattr(ctypes.CDLL(None), name), ctypes.c_void_p).value
    except AttributeError:
        return None


def resolvable(names: list[str]) -> bool:
    """Whether this process has every symbol."""
    return all(_address(n) is not None for n in names)


def load(obj: bytes, meta: dict, fn) -> object | None:
    """Link the object file into the process and return its Python function, called as
    numba's dispatcher calls it; None when a symbol it needs is missing here (never an
    LLVM abort: everything is checked first). `fn` is the Python function compiled."""
    addresses = {}
    for name in meta["undefined"]:
        addr = _address(name)
        if addr is None:
            return None
        addresses[name] = addr
    dynfunc = sys.modules["numba._dynfunc"]  # loaded with the symbols above
    with _lock:
        llvm = _binding()
        for name, addr in addresses.items():
            llvm.add_symbol(name, addr)
        machine = llvm.Target.from_default_triple().create_target_machine()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        wrapper = engine.get_function_address(meta["wrapper"])
        if not wrapper or meta["env"] not in meta["envs"]:
            return None
        # Each compiled function finds its numba environment (its module's globals)
        # through a global variable numba named for it, set once loaded as numba's
        # set_env does; a callee printing or raising with an unset one would hang.
        envs = {}
        for name in meta["envs"]:
            slot = engine.get_global_value_address(name)
            if not slot:
                return None
            envs[name] = dynfunc.Environment(fn.__globals__ if name == meta["env"] else _globals_of(name, fn))
            ctypes.c_void_p.from_address(slot).value = id(envs[name])
        _engines.append((engine, envs))
        module = sys.modules.get(fn.__module__)
        return dynfunc.make_function(module, fn.__name__, f"compiled {fn.__qualname__}", wrapper,
                                     envs[meta["env"]], (engine,))


def _globals_of(env_name: str, fn) -> dict:
    """The globals of the module an environment's function lives in, read from its
    mangled name (_ZN08NumbaEnv, then the dotted path's parts as length and text); the
    kernel's own module's when no loaded module matches."""
    parts, i, name = [], len(_ENV_PREFIX), env_name
    while i < len(name) and name[i].isdigit():
        j = i
        while name[j].isdigit():
            j += 1
        n = int(name[i:j])
        parts.append(name[j:j + n])
        i = j + n
    for k in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:k]))
        if module is not None:
            return module.__dict__
    return fn.__globals__


def _binding():
    global _llvm
    if _llvm is None:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _llvm = llvm
    return _llvm
