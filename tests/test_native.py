"""Kernels run from their stored machine code: the same bits as numba, numba not imported,
never stale, and numba's own way wherever that path does not apply (riskmc.numeric.jit, native)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from riskmc.numeric import cache, fused, fused_weighted, jit, lookup, native
from tests.conftest import BASE


def _native_for(kernel, *args):
    """The function loaded from stored machine code that the kernel calls for these
    arguments (None: numba's dispatcher)."""
    return kernel._function(args)


def _both(kernel, make):
    """Run the kernel natively and through numba on equal fresh arguments; both results."""
    a, b = make(), make()
    fn = _native_for(kernel, *a)
    assert fn is not None
    ra = fn(*a)
    rb = kernel.dispatcher(*b)
    return (ra, a), (rb, b)


def _equal(x, y):
    for p, q in zip(x, y):
        if isinstance(p, np.ndarray):
            assert p.dtype == q.dtype and np.array_equal(p, q, equal_nan=True)
        else:
            assert p == q or (p != p and q != q)


def test_the_copula_runs_natively_with_numba_s_bits():
    rng = np.random.default_rng(3)
    u0 = rng.random((4, 1000))[:, :997]  # a padded block, as the engine passes
    chol = np.linalg.cholesky(np.array([[1, .5, .2], [.5, 1, .3], [.2, .3, 1]]))
    rows = np.array([0, 2, 3])

    def make():
        return [u0.copy(), rows, chol, np.empty(3)]
    (_, a), (_, b) = _both(lookup.copula, make)
    _equal(a, b)
    assert not np.array_equal(a[0], u0)  # it did correlate something


def test_reductions_and_a_tuple_result_match_numba():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 1001))
    x[1, 5] = np.nan

    def make():
        return [x, np.full(3, -2.0), np.full(3, 10.0), np.zeros(3), 40, np.array([2]), np.array([0.5]),
                np.zeros((3, 42), dtype=np.int64), np.zeros((3, 3)), np.full(3, np.inf), np.full(3, -np.inf),
                np.zeros(1, dtype=np.int64), np.empty(1001, dtype=np.int64)]
    (_, a), (_, b) = _both(fused.reduce_block, make)
    _equal(a, b)
    assert a[7].sum() == 3 * 1001

    ll = rng.normal(size=777)
    (ra, a), (rb, b) = _both(fused_weighted.weights, lambda: [ll, np.empty(777), np.empty(777)])
    assert isinstance(ra, tuple) and ra == rb and ra[0] == pytest.approx(np.exp(ll).sum(), rel=1e-12)
    _equal(a, b)


@jit.njit(nogil=True)
def _halve(a, b):  # pragma: no cover - compiled
    return a // b


@jit.njit(nogil=True)
def _scaled_sum(x, k):  # pragma: no cover - compiled
    s = 0.0
    for v in x:
        s += math.exp(v) * k
    return s


@jit.njit(nogil=True)
def _checked_total(x):  # pragma: no cover - compiled
    work = np.empty(x.shape[0] + 1)  # numba's runtime allocates and frees it
    work[0] = 0.0
    for i in range(x.shape[0]):
        if x[i] < 0.0:
            raise ValueError("negative value", x[i])  # an exception built at run time
        work[i + 1] = work[i] + x[i]
    return work[-1]


def test_a_raising_kernel_raises_numba_s_exception():
    assert _native_for(_halve, 7, 2) is not None
    assert _halve(7, 2) == 3
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        _halve(1, 0)


def test_kernels_that_allocate_or_build_exceptions_run_natively_too():
    x = np.array([1.0, 2.5, 3.0])
    assert _native_for(_checked_total, x) is not None
    assert _checked_total(x) == 6.5 == _checked_total.dispatcher(x)
    with pytest.raises(ValueError, match="negative value"):
        _checked_total(np.array([1.0, -2.0]))


def test_arguments_numba_alone_takes_still_work():
    x = np.linspace(0, 1, 11)
    want = sum(math.exp(v) * 2.0 for v in x)
    assert _scaled_sum(x, 2.0) == pytest.approx(want, rel=1e-14)
    assert _scaled_sum(tuple(x), 2.0) == pytest.approx(want, rel=1e-14)  # a tuple: numba's way
    assert jit._signature((tuple(x), 2.0)) is None


@jit.njit(nogil=True)
def _doubled(x):  # pragma: no cover - compiled
    return x * 2.0


@jit.njit(nogil=True)
def _plus_one(v):  # pragma: no cover - compiled
    return v + 1.0


def test_a_kernel_returning_an_array_is_numba_s_and_remembered_as_such():
    """numba boxes an array result with constants of the compiling process: such a kernel
    runs through numba's dispatcher, and a stored note spares later processes compiling it
    to find out."""
    x = np.arange(4.0)
    assert np.array_equal(_doubled(x), 2 * x)
    assert _native_for(_doubled, x) is None
    meta, obj = jit._read(_doubled._identity(jit._signature((x,))))
    assert meta["numba"] is True and obj == b""
    again = jit.Kernel(_doubled.py_func, True, {"nogil": True})
    assert np.array_equal(again(x), 2 * x) and again._calls[jit._signature((x,))] is None


def test_an_object_file_this_process_cannot_link_is_not_loaded(monkeypatch):
    monkeypatch.setattr(native, "resolvable", lambda names: False)
    k = jit.Kernel(_plus_one.py_func, True, {"nogil": True})
    assert k(2.0) == 3.0 and k._calls[jit._signature((2.0,))] is None


def test_object_file_needs_are_read_from_it():
    x = np.linspace(0, 1, 5)
    _scaled_sum(x, 1.5)
    name = _scaled_sum._identity(jit._signature((x, 1.5)))
    meta, obj = jit._read(name)
    assert "exp" in meta["undefined"] and meta["undefined"] == native.symbols(obj)[0]
    assert meta["signature"] == "(Array(float64, 1, 'C', False, aligned=True), float64)"
    assert native.symbols(b"not an object file") is None


def test_a_damaged_stored_object_is_compiled_again():
    x = np.linspace(0, 1, 7)
    _scaled_sum(x, 3.0)
    name = _scaled_sum._identity(jit._signature((x, 3.0)))
    path = cache._path("native", name, ".o")
    good = path.read_bytes()
    path.write_bytes(good[:-40] + b"\0" * 40)  # the same length, the last bytes zeroed
    fresh = jit.Kernel(_scaled_sum.py_func, True, {"nogil": True})
    assert fresh(x, 3.0) == _scaled_sum(x, 3.0)
    assert fresh._calls[jit._signature((x, 3.0))] is not None
    assert jit._read(name) is not None and path.read_bytes() != good[:-40] + b"\0" * 40  # stored again
    # Whole, but not what this riskmc stores (say, another version's header): the same.
    jit._write(name, {"symbol": "f"}, b"\x7fELF")
    again = jit.Kernel(_scaled_sum.py_func, True, {"nogil": True})
    assert again(x, 3.0) == _scaled_sum(x, 3.0) and again._calls[jit._signature((x, 3.0))] is not None
    assert "wrapper" in jit._read(name)[0]


def _python(code: str, env: dict, cwd) -> str:
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_later_process_runs_without_numba_and_gets_numba_s_bytes(tmp_path):
    """The base case: built and stored, then loaded without numba, then with numba alone
    (no cache): the same files."""
    env = {**os.environ, "RISKMC_CACHE_DIR": str(tmp_path / "cache")}
    code = f"""
        import sys, riskmc
        r = riskmc.run({str(BASE)!r}, draws=3000, seed=11, workers=2)
        out = sys.argv[1]
        riskmc.write(r, out)
        print("numba" in sys.modules)
        """
    first = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tmp_path / "a")],
                           env=env, capture_output=True, text=True, timeout=900)
    second = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tmp_path / "b")],
                            env=env, capture_output=True, text=True, timeout=900)
    plain = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tmp_path / "c")],
                           env={**env, "RISKMC_CACHE_DIR": ""}, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0 and second.returncode == 0 and plain.returncode == 0, \
        first.stderr + second.stderr + plain.stderr
    assert first.stdout.strip() == "True"    # compiled, so numba was needed
    assert second.stdout.strip() == "False"  # every kernel loaded from its object file
    assert plain.stdout.strip() == "True"    # no cache: numba's dispatchers throughout
    for name in ("summary.json", "report.html"):
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


def test_stored_code_follows_its_sources_and_their_constants(tmp_path):
    """Editing the kernel's file, a constant it imports from another file or a compiled
    function it calls from one, is a new kernel; nothing stale is run."""
    (tmp_path / "konst.py").write_text("K = 2.0\n")
    (tmp_path / "helper.py").write_text("import numba\n\n@numba.njit\ndef shift(x):\n    return x + 1.0\n")
    (tmp_path / "kern.py").write_text(textwrap.dedent("""
        from riskmc.numeric import jit
        from konst import K
        from helper import shift

        @jit.njit(nogil=True)
        def f(x):
            return shift(x * K)
        """))
    env = {**os.environ, "RISKMC_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    # Prints the result and whether numba compiled the kernel in this process.
    code = ("from riskmc.numeric import jit\n"
            "built = []\n"
            "real = jit.Kernel._build\n"
            "jit.Kernel._build = lambda self, args: built.append(1) or real(self, args)\n"
            "import kern\n"
            "print(kern.f(10.0), bool(built))")
    assert _python(code, env, tmp_path).split() == ["21.0", "True"]
    assert _python(code, env, tmp_path).split() == ["21.0", "False"]
    (tmp_path / "konst.py").write_text("K = 3.0\n")
    assert _python(code, env, tmp_path).split() == ["31.0", "True"]
    (tmp_path / "helper.py").write_text((tmp_path / "helper.py").read_text().replace("+ 1.0", "+ 2.0"))
    assert _python(code, env, tmp_path).split() == ["32.0", "True"]
    (tmp_path / "kern.py").write_text((tmp_path / "kern.py").read_text().replace("x * K", "x * K * 2.0"))
    assert _python(code, env, tmp_path).split() == ["62.0", "True"]
    assert _python(code, env, tmp_path).split() == ["62.0", "False"]
    stored = sorted((tmp_path / "cache" / "native").glob("*.o"))
    assert len(stored) == 4
    assert all(json.loads(p.read_bytes()[8:8 + int.from_bytes(p.read_bytes()[:8], "little")])["signature"]
               == "(float64,)" for p in stored)


def test_a_compiled_callee_that_prints_or_raises_finds_its_environment(tmp_path):
    """Each function in an object file finds its numba environment through its own global:
    a callee printing with an unset one used to hang the process."""
    (tmp_path / "callee.py").write_text(textwrap.dedent("""
        from riskmc.numeric import jit

        @jit.njit(nogil=True)
        def shout(x):
            print("callee", x)
            if x < 0:
                raise ValueError("negative", x)
            return x * 2.0
        """))
    (tmp_path / "caller.py").write_text(textwrap.dedent("""
        from riskmc.numeric import jit
        from callee import shout

        @jit.njit(nogil=True)
        def f(x):
            return shout(x) + 1.0
        """))
    env = {**os.environ, "RISKMC_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    code = textwrap.dedent("""
        import caller
        print(caller.f(1.5))
        try:
            caller.f(-1.0)
        except ValueError as exc:
            print("ValueError", exc)
        print(caller.f._function((1.5,)) is not None)
        """)
    for _ in range(2):  # compiled and stored, then loaded
        out = _python(code, env, tmp_path).split("\n")
        assert out[:5] == ["callee 1.5", "4.0", "callee -1.0", "ValueError ('negative', -1.0)", "True"]


def test_code_numba_will_not_cache_is_left_to_numba(tmp_path):
    """A global array over 1 MB is compiled in as this process's address: never stored."""
    (tmp_path / "kern.py").write_text(textwrap.dedent("""
        import numpy as np
        from riskmc.numeric import jit
        TABLE = np.arange(300_000.0)

        @jit.njit(nogil=True)
        def f(i):
            return TABLE[i] + 0.5
        """))
    env = {**os.environ, "RISKMC_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    code = "import kern\nprint(kern.f(123456), kern.f._function((3,)) is None)"
    for _ in range(2):
        assert _python(code, env, tmp_path).split() == ["123456.5", "True"]


def test_closures_module_attributes_and_defaults_are_part_of_a_kernel(tmp_path):
    (tmp_path / "konst.py").write_text("K = 2.0\n")
    (tmp_path / "kern.py").write_text(textwrap.dedent("""
        import konst
        from riskmc.numeric import jit

        def make(k):
            @jit.njit(nogil=True)
            def f(x):
                return x * k
            return f

        @jit.njit(nogil=True)
        def g(x, scale=10.0):
            return x * konst.K * scale
        """))
    env = {**os.environ, "RISKMC_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    code = "import kern\nprint(kern.make(2.0)(10.0), kern.make(3.0)(10.0), kern.g(1.0), kern.g(1.0, 1.0))"
    assert _python(code, env, tmp_path).split() == ["20.0", "30.0", "20.0", "2.0"]
    (tmp_path / "konst.py").write_text("K = 5.0\n")
    assert _python(code, env, tmp_path).split() == ["20.0", "30.0", "50.0", "5.0"]
