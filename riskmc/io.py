"""Files in and out: atomic writes, summary.json and draws.parquet.

Every file is written under a temporary name in its folder and renamed into place only
when complete, so a pipeline never sees a half-written output under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from .errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def prepare_dir(path: str | Path) -> Path:
    """Create the output folder and prove it is writable, before any sampling starts."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".riskmc-probe-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder: {exc.strerror}", file=path,
                          hint="choose another folder with --out, or fix its permissions") from exc
    return path


@contextlib.contextmanager
def atomic_path(final: str | Path):
    """Yield a temporary path beside `final`; rename it into place only on success."""
    final = Path(final)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes files private; a finished output gets the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(final: str | Path, data: bytes) -> None:
    try:
        with atomic_path(final) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write the file: {exc.strerror}", file=final) from exc


def dumps_json(obj) -> bytes:
    """Stable JSON: same object, same bytes."""
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True) + "\n").encode()


def write_summary(path: str | Path, summary: dict) -> None:
    write_bytes(path, dumps_json(summary))


def read_summary(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise OutputError("no summary.json here: is this a riskmc run folder?", file=path) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise OutputError(f"cannot read summary.json: {exc}", file=path) from exc


def draws_frame(inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray], years,
                chunk_sizes: list[int]) -> pl.DataFrame:
    """One row per draw: draw number, chunk, the sampled inputs, then outputs as NAME_YEAR."""
    n = len(next(iter(inputs.values())))
    cols = {"draw": np.arange(n, dtype=np.int64),
            "chunk": np.repeat(np.arange(len(chunk_sizes), dtype=np.int32), chunk_sizes)}
    cols.update(inputs)
    for name, arr in outputs.items():
        for j, y in enumerate(years):
            cols[f"{name}_{int(y)}"] = arr[:, j]
    return pl.DataFrame(cols)


def write_draws(path: str | Path, frame: pl.DataFrame) -> None:
    try:
        with atomic_path(path) as tmp:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
    except OSError as exc:
        raise OutputError(f"cannot write the file: {exc.strerror}", file=path) from exc


def read_draws(path: str | Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        raise OutputError("no draws.parquet here: re-run with --save-draws", file=path) from None
