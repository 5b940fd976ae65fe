"""Machine code numba compiled once, loaded again without numba.

Importing numba and readying its compiler costs about 0.7 s of every command that runs a
kernel, even when every kernel comes from numba's cache. The code itself is an object
file of a few kilobytes: llvmlite (numba's own LLVM binding, 0.1 s to import) links it
into the process, and ctypes calls the function with numba's native calling convention,
the same code numba would call. riskmc._jit decides when; this module only loads and calls.

Symbols an object file needs are resolved as numba resolves them: numba's runtime and
helper functions from its two C extension modules (loaded from their files, without the
numba package, in milliseconds), the Python C API and libm from the running process. An
object needing anything else is not loaded (riskmc._jit then uses numba's dispatcher).
"""

from __future__ import annotations

import ctypes
import functools
import struct
import threading

# numba's status codes: 0 for a value, -2 for None; anything else is an exception.
_OK = (0, -2)

_C = {"p": ctypes.c_void_p, "q": ctypes.c_int64, "i": ctypes.c_int32, "b": ctypes.c_int8,
      "?": ctypes.c_bool, "d": ctypes.c_double, "f": ctypes.c_float}
_llvm = None
_engines: list = []  # one engine per object file, kept alive as long as the process
_lock = threading.Lock()  # LLVM's symbol table is the process's: one loader at a time


def undefined_symbols(obj: bytes) -> list[str] | None:
    """The names an ELF64 little-endian object file needs from elsewhere, or None if it
    is not one (another platform: riskmc._jit then keeps numba's own loading)."""
    if obj[:6] != b"\x7fELF\x02\x01":
        return None
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + k * shentsize) for k in range(shnum)]
    names = []
    for _, kind, _, _, off, size, link, _, _, entsize in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        stroff = sections[link][4]
        for k in range(size // entsize):
            name_at, _, _, shndx = struct.unpack_from("<IBBH", obj, off + k * entsize)
            if shndx == 0 and name_at:  # SHN_UNDEF
                end = obj.index(b"\0", stroff + name_at)
                names.append(obj[stroff + name_at:end].decode())
    return sorted(set(names))


@functools.cache
def _numba_symbols() -> dict[str, int]:
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
    import sys
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
            if rel == "_helperlib":  # its libm functions, under their own names
                found.update({k: a for k, a in helpers.items() if k.isidentifier() and k.islower()})
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


def load(obj: bytes, symbol: str, undefined: list[str]) -> int | None:
    """Link the object file into the process; the address of `symbol`, or None when a
    symbol it needs is missing here (never an LLVM abort: everything is checked first)."""
    addresses = {}
    for name in undefined:
        addr = _address(name)
        if addr is None:
            return None
        addresses[name] = addr
    with _lock:
        llvm = _binding()
        for name, addr in addresses.items():
            llvm.add_symbol(name, addr)
        machine = llvm.Target.from_default_triple().create_target_machine()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        _engines.append(engine)
        return engine.get_function_address(symbol) or None


def _binding():
    global _llvm
    if _llvm is None:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _llvm = llvm
    return _llvm


class Function:
    """A loaded kernel, called with numpy arrays and numbers as numba would be.

    `args` holds each argument's kind: "a<ndim>" for an array (numba passes its meminfo,
    parent, size, itemsize, data, shape and strides), or one ctypes letter for a number.
    `ret` is "" for None, one ctypes letter for a number, or "t" and letters for a
    tuple of numbers.
    """

    def __init__(self, address: int, args: list[str], ret: str, nogil: bool):
        flat: list = [ctypes.c_void_p, ctypes.c_void_p]  # return slot, exception slot
        for kind in args:
            if kind[0] == "a":
                d = int(kind[1:])
                flat += [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                         ctypes.c_void_p] + [ctypes.c_int64] * (2 * d)
            else:
                flat.append(_C[kind])
        proto = ctypes.CFUNCTYPE if nogil else ctypes.PYFUNCTYPE
        self._fn = proto(ctypes.c_int32, *flat)(address)
        self._arrays = [kind[0] == "a" for kind in args]
        self._tuple = ret.startswith("t")
        self._ret = ret.lstrip("t")
        # One C type for all: riskmc._jit admits tuples of one kind of number only.
        self._slot = (_C[self._ret[0]] * len(self._ret)) if self._ret else ctypes.c_int64 * 2

    def __call__(self, *args):
        """The kernel's value, or raise Failed when it raised (numba says why)."""
        flat = []
        for is_array, a in zip(self._arrays, args):
            if is_array:
                flat += [None, None, a.size, a.itemsize, a.ctypes.data, *a.shape, *a.strides]
            else:
                flat.append(a)
        out = self._slot()
        exc = ctypes.c_void_p()
        status = self._fn(ctypes.byref(out), ctypes.byref(exc), *flat)
        if status not in _OK:
            raise Failed(status)
        if not self._ret:
            return None
        return tuple(out) if self._tuple else out[0]


class Failed(Exception):
    """The compiled code raised: riskmc._jit runs the call again through numba, which
    raises the Python exception with its message."""
