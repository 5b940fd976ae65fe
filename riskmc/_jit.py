"""Compile with numba, cached on disk where possible, in memory where not.

numba keeps compiled code beside the source (`__pycache__`) or in a user-wide cache
folder. An installation nobody may write to, with no writable home either, has neither:
numba then refuses `cache=True` outright. riskmc compiles in memory instead (slower to
start, the same numbers) and says so once.
"""

from __future__ import annotations

import numba

# What the command line should tell the user once (riskmc.cli.common.finish prints it).
NOTES: list[str] = []
_NO_CACHE = ("no writable cache for compiled code: compiling in memory at each start "
             "(set NUMBA_CACHE_DIR to a writable folder to keep it)")


def njit(cached: bool = True, **options):
    """numba.njit(cache=True, **options), or without the cache when none can be written."""
    def wrap(fn):
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
    return wrap


def _defer_blas_probe() -> None:
    """numba's array library, loaded with the first compiled function, imports
    scipy.linalg (a quarter of a second) only to learn whether np.dot may call BLAS.
    Answer from the presence of SciPy's BLAS module instead; compiling a real np.dot still
    imports it then. Nothing changes if numba's layout differs: this is only a shortcut."""
    try:
        import importlib.util
        import sys
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


_defer_blas_probe()
