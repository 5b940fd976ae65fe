"""A disk cache for what depends only on its inputs: fitted priors, inverse-CDF tables,
compiled kernels, the report's model documentation and prior pictures.

Fitting a prior to stated quantiles and tabulating a beta's inverse CDF need SciPy and a
few milliseconds each; a priors file has dozens. Keyed by every input and by the
versions of riskmc and SciPy, a result is computed once and read back in microseconds,
bit for bit, so a re-run after an edit refits only the prior that changed. The cache
lives in $RISKMC_CACHE_DIR, else $XDG_CACHE_HOME/riskmc, else ~/.cache/riskmc; where it
cannot be written, riskmc computes as if it were empty. Deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from .. import __version__


@cache
def directory() -> Path | None:
    env = os.environ.get("RISKMC_CACHE_DIR")
    if env == "":
        return None  # set but empty: no cache
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "riskmc"


@cache
def stamp(package: str, version_file: str) -> str:
    """A package's version, read from the file that holds it: importing the package is
    often what the cache is there to avoid."""
    import importlib.util
    spec = importlib.util.find_spec(package)
    for p in (spec.submodule_search_locations or []) if spec else []:
        with contextlib.suppress(OSError):
            return hashlib.sha256(Path(p, version_file).read_bytes()).hexdigest()[:16]
    return "none"


@cache
def _versions() -> str:
    """What results could change with: riskmc, numpy, and SciPy."""
    return f"riskmc {__version__}; scipy {stamp('scipy', 'version.py')}; numpy {np.__version__}"


def sources(*modules) -> str:
    """A digest of these modules' source files, for what they compute: while riskmc is
    edited its version does not change, its code does."""
    h = hashlib.sha256()
    for m in modules:
        f = getattr(m, "__file__", None)
        h.update(repr(f).encode())
        with contextlib.suppress(OSError, TypeError):
            h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def key(*parts) -> str:
    """A file name for these inputs (their repr, exact for floats) and the versions."""
    return hashlib.sha256(repr((_versions(), *parts)).encode()).hexdigest()[:32]


def _path(kind: str, k: str, suffix: str) -> Path | None:
    d = directory()
    return None if d is None else d / kind / f"{k}{suffix}"


def load_json(kind: str, k: str) -> dict | None:
    data = load_bytes(kind, k, ".json")
    try:
        return None if data is None else json.loads(data)
    except ValueError:
        return None


def load_arrays(kind: str, k: str) -> dict[str, np.ndarray] | None:
    """Arrays save_arrays stored, or None when there are none or they are damaged."""
    data = load_bytes(kind, k, ".arrays")
    try:
        n = int.from_bytes(data[:8], "little")
        head = json.loads(data[8:8 + n])
        body = memoryview(data)[8 + n:]
        if head.pop("sha256") != hashlib.sha256(body).hexdigest():
            return None
        out, at = {}, 0
        for name, (dtype, shape) in head.items():
            a = np.frombuffer(body, dtype=dtype, count=int(np.prod(shape)), offset=at).reshape(shape)
            out[name] = a
            at += a.nbytes
        return out if at == len(body) else None
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def load_bytes(kind: str, k: str, suffix: str) -> bytes | None:
    p = _path(kind, k, suffix)
    if p is None:
        return None
    try:
        return p.read_bytes()
    except OSError:
        return None


def save_bytes(kind: str, k: str, suffix: str, data: bytes) -> None:
    _save(_path(kind, k, suffix), data)


def _save(p: Path | None, data: bytes) -> None:
    if p is None:
        return
    with contextlib.suppress(OSError):
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def save_json(kind: str, k: str, doc: dict) -> None:
    # repr-exact floats: json writes the shortest string that reads back to the same double.
    save_bytes(kind, k, ".json", json.dumps(doc, sort_keys=True).encode())


def save_arrays(kind: str, k: str, arrays: dict[str, np.ndarray]) -> None:
    # Raw bytes behind a JSON head, not .npz: a run reads a dozen tables at start-up, and
    # np.load's zip reading cost a millisecond each. The checksum stands in for zip's CRC.
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    body = b"".join(a.tobytes() for a in arrays.values())
    head = json.dumps({**{name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()},
                       "sha256": hashlib.sha256(body).hexdigest()}).encode()
    head += b" " * (-(8 + len(head)) % 8)   # the arrays start 8-byte aligned, as numpy's own
    save_bytes(kind, k, ".arrays", len(head).to_bytes(8, "little") + head + body)
