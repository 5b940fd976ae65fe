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


def _temp_beside(folder: Path, name: str) -> Path:
    """An empty temporary file in `folder`, hidden, named after the file it will become."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(final: str | Path):
    """Yield a temporary path beside `final`; rename it into place only on success."""
    final = Path(final)
    tmp = _temp_beside(final.parent, final.name)
    try:
        yield Path(tmp)
        # mkstemp makes files private; a finished output gets the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Staging:
    """All of a run's files, written under temporary names, renamed into place together.

    `path(name)` gives a temporary path in the output folder; `commit()` renames every
    staged file to its final name with SIGINT and SIGTERM held back, so an interrupted
    or failed run leaves the folder as it was: no new file a pipeline could take for
    finished, no mix of this run's files with an older run's. The report is renamed
    last: its presence means the rest are in place.
    """

    ORDER = ("draws.parquet", "summary.json", "draws.nc", "sensitivity.json", "compare.json",
             "report.html", "compare.html")

    def __init__(self, folder: str | Path):
        self.folder = prepare_dir(folder)
        self.staged: dict[str, Path] = {}
        self.committed: list[Path] = []

    def path(self, name: str) -> Path:
        tmp = _temp_beside(self.folder, name)
        self.staged[name] = tmp
        return tmp

    def write(self, name: str, data: bytes) -> None:
        tmp = self.path(name)
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {name}: {exc.strerror}", file=self.folder,
                              hint="free some space or choose another folder with --out") from exc

    def commit(self) -> list[Path]:
        import signal
        mask = _umask()
        names = sorted(self.staged, key=lambda n: (self.ORDER.index(n) if n in self.ORDER else -1, n))
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            for name in names:
                tmp = self.staged.pop(name)
                os.chmod(tmp, 0o666 & ~mask)
                final = self.folder / name
                os.replace(tmp, final)
                self.committed.append(final)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return self.committed

    def abort(self) -> None:
        for tmp in self.staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.staged.clear()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.abort()
        return False


def write_bytes(final: str | Path, data: bytes) -> None:
    try:
        with atomic_path(final) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write the file: {exc.strerror}", file=final) from exc


def dumps_json(obj) -> bytes:
    """Stable JSON: same object, same bytes."""
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True) + "\n").encode()


def read_summary(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise OutputError("no summary.json here: is this a riskmc run folder?", file=path) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise OutputError(f"cannot read summary.json: {exc}", file=path) from exc


def output_column(name: str, year: int) -> str:
    """draws.parquet's column for an output in a year."""
    return f"{name}_y{int(year)}"


class DrawsWriter:
    """Stream draws.parquet to `path` one chunk (one row group) at a time.

    Write to a staged path (see Staging): the file is renamed into place only once the
    whole run's files are complete.

    Columns: `draw` (int64), `chunk` (int32), every input, then every output as
    NAME_yYEAR (`nvidia_share_y2030`): the `y` keeps outputs apart from inputs such as
    `custom_share_2030`.
    polars has no append-mode Parquet writer, so pyarrow's ParquetWriter does the
    streaming; with a fixed row-group layout its bytes are the same for the same draws.
    """

    def __init__(self, path, inputs, outputs, years):
        self.path = Path(path)
        self.inputs, self.outputs, self.years = list(inputs), list(outputs), [int(y) for y in years]
        self._ctx = None
        self._writer = None

    def __enter__(self):
        import pyarrow as pa
        import pyarrow.parquet as pq
        fields = [pa.field("draw", pa.int64()), pa.field("chunk", pa.int32())]
        fields += [pa.field(n, pa.float64()) for n in self.inputs]
        fields += [pa.field(output_column(o, y), pa.float64()) for o in self.outputs for y in self.years]
        self.schema = pa.schema(fields)
        try:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        except OSError as exc:
            raise OutputError(f"cannot write the file: {exc.strerror}", file=self.path) from exc
        return self

    def write(self, chunk, chunk_size: int) -> None:
        import pyarrow as pa
        n = len(next(iter(chunk.inputs.values())))
        start = chunk.index * chunk_size
        cols = [pa.array(np.arange(start, start + n, dtype=np.int64)),
                pa.array(np.full(n, chunk.index, dtype=np.int32))]
        cols += [pa.array(chunk.inputs[k]) for k in self.inputs]
        cols += [pa.array(np.ascontiguousarray(chunk.outputs[o][:, j]))
                 for o in self.outputs for j in range(len(self.years))]
        try:
            self._writer.write_table(pa.Table.from_arrays(cols, schema=self.schema))
        except OSError as exc:
            raise OutputError(f"cannot write the file: {exc.strerror}", file=self.path) from exc

    def __exit__(self, et, ev, tb):
        try:
            self._writer.close()
        except OSError as exc:
            if et is None:
                raise OutputError(f"cannot write the file: {exc.strerror}", file=self.path) from exc
        return False


def read_draws(path: str | Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        raise OutputError("no draws.parquet here: re-run with --save-draws", file=path) from None


def netcdf_bytes(result, created: str | None) -> bytes:
    """The run's draws as an arviz DataTree in netCDF-4: `prior` holds the inputs,
    `prior_predictive` the outputs, with dims (chain, draw) and (chain, draw, year).

    Chunks are the chains when every chunk is whole (each is an independent stream),
    otherwise there is one chain. Byte-stable: arviz's wall-clock `created_at` is
    replaced by the run's one timestamp.
    """
    try:
        import arviz as az
        import h5netcdf  # noqa: F401
    except ImportError as exc:
        raise OutputError("--netcdf needs h5netcdf", hint="pip install 'riskmc[netcdf]'") from exc
    n = result.draws
    size = result.plan.chunk_size
    chains = n // size if n % size == 0 else 1

    def shape(a):
        return a.reshape(chains, n // chains, *a.shape[1:])

    dt = az.from_dict(
        {"prior": {k: shape(v) for k, v in result.inputs.items()},
         "prior_predictive": {k: shape(np.ascontiguousarray(v)) for k, v in result.outputs.items()}},
        dims={k: ["year"] for k in result.outputs},
        coords={"year": [int(y) for y in result.years]},
    )
    for node in dt.subtree:
        node.attrs.pop("created_at", None)
        if created:
            node.attrs["created_at"] = created
        node.attrs["riskmc_seed"] = int(result.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "draws.nc"
        dt.to_netcdf(path, engine="h5netcdf")
        return path.read_bytes()
