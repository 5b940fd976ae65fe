"""Files in and out: summary.json, draws.parquet and draws.nc.

What a command writes reaches its folder through riskmc.store.commit, all at once; this module
turns results into bytes and reads run folders back.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from ..errors import OutputError


def jsonable(obj):
    """obj with every typed result inside it (riskmc.results: an Estimate, a variable's
    Stats) made plain JSON values: where results become dicts."""
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def dumps_json(obj) -> bytes:
    """Stable JSON: same object, same bytes; never NaN or Infinity, which JSON lacks. Typed
    results inside it are written as their JSON (`jsonable`)."""
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False, default=_to_json) + "\n").encode()


def _to_json(obj):
    if hasattr(obj, "to_json"):
        return obj.to_json()
    raise TypeError(f"{type(obj).__name__} is not JSON")


def _schema(name: str) -> dict:
    from importlib import resources
    return json.loads(resources.files("riskmc.schemas").joinpath(f"{name}.schema.json").read_text())


# summary.json and sensitivity.json stay under a few MiB even for models of many outputs.
JSON_BYTES = 256 << 20


def _read_json(folder: Path, name: str, schema: str) -> tuple[dict, bytes]:
    """A JSON file of a run folder (and its bytes), checked against its schema.

    Anything wrong (missing, unreadable, not JSON, not what riskmc writes, changed since
    the run) is an OutputError naming the file and what is wrong.
    """
    import jsonschema

    from .folders import check_listing
    from .textfile import read_regular
    path = folder / name
    try:
        raw = read_regular(path, JSON_BYTES)
    except FileNotFoundError:
        raise OutputError(f"no {name} here: is this a riskmc run folder?", file=folder) from None
    except IsADirectoryError:
        raise OutputError(f"{name} is a folder, not a file", file=folder) from None
    except ValueError:
        raise OutputError(f"{name} is larger than riskmc writes ({JSON_BYTES >> 20} MiB)", file=folder,
                          hint="re-run the command that wrote it") from None
    except OSError as exc:
        raise OutputError(f"cannot read {name}: {exc.strerror}", file=folder) from exc
    check_listing(folder)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OutputError(f"{name} is not JSON text", file=folder,
                          hint="re-run the command that wrote it") from exc
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_schema(schema)).iter_errors(doc))
    if error is not None:
        where = error.json_path if error.json_path != "$" else "the top level"
        raise OutputError(f"{name} is not what riskmc writes: at {where}: {_short(error.message)}",
                          file=folder, hint="re-run the command that wrote it")
    return doc, raw


def _no_constant(word: str):
    raise ValueError(f"{word} is not JSON")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_manifest(folder: Path, name: str, raw: bytes) -> None:
    import hashlib

    from .folders import check_listed
    check_listed(folder, name, hashlib.sha256(raw).hexdigest(), len(raw))


def read_summary(folder: str | Path) -> dict:
    """A run folder's summary.json, checked: its schema, its parts agreeing, its manifest."""
    return read_summary_bytes(folder)[0]


def read_summary_bytes(folder: str | Path) -> tuple[dict, bytes]:
    """read_summary, and the bytes it was read from (the ledger keys a run by them)."""
    folder = Path(folder)
    s, raw = _read_json(folder, "summary.json", "summary")
    years = [str(y) for y in s["years"] or []]
    for name, o in s["outputs"].items():
        if ("years" in o) != bool(years):
            raise OutputError(f"summary.json is not what riskmc writes: output '{name}' has "
                              + ("no yearly statistics" if years else "yearly statistics for a model without years"),
                              file=folder, hint="re-run the command that wrote it")
        missing = [y for y in years if y not in o["years"]]
        if missing:
            raise OutputError(f"summary.json is not what riskmc writes: output '{name}' has no "
                              f"statistics for {', '.join(missing)}", file=folder,
                              hint="re-run the command that wrote it")
    for name in s["drivers"]["outputs"]:
        if name not in s["outputs"]:
            raise OutputError(f"summary.json is not what riskmc writes: drivers name unknown output "
                              f"'{name}'", file=folder, hint="re-run the command that wrote it")
    if ("prior" in s) != ("evidence" in s) or ("prior" in s and (
            set(s["prior"]["outputs"]) != set(s["outputs"]) or set(s["prior"]["claims"]) != set(s["claims"]))):
        raise OutputError("summary.json is not what riskmc writes: its prior and posterior do not match",
                          file=folder, hint="re-run the command that wrote it")
    trace = s["convergence_trace"]["outputs"]
    for name in trace:
        if name not in s["outputs"]:
            raise OutputError(f"summary.json is not what riskmc writes: the convergence trace names "
                              f"unknown output '{name}'", file=folder, hint="re-run the command that wrote it")
    _check_manifest(folder, "summary.json", raw)
    return s, raw


def read_sensitivity(folder: str | Path) -> dict:
    """A run folder's sensitivity.json, checked like summary.json."""
    doc, raw = _read_json(Path(folder), "sensitivity.json", "sensitivity")
    _check_manifest(Path(folder), "sensitivity.json", raw)
    return doc


def read_voi(folder: str | Path) -> dict:
    """A run folder's voi.json (riskmc voi), checked like summary.json."""
    doc, raw = _read_json(Path(folder), "voi.json", "voi")
    _check_manifest(Path(folder), "voi.json", raw)
    return doc


def extras(folder: str | Path) -> tuple[dict | None, dict | None]:
    """What analyses of a run its folder holds besides the run: sensitivity.json and
    voi.json (None where absent), read and checked: what its report is made from."""
    folder = Path(folder)
    sens = read_sensitivity(folder) if (folder / "sensitivity.json").exists() else None
    voi = read_voi(folder) if (folder / "voi.json").exists() else None
    return sens, voi


def headline(summary: dict, folder) -> dict:
    """The answer of a run, for pipelines (`riskmc run --json`): the headline outputs in the
    last year (or overall), every claim's probability and decision's prices, each with its
    MCSE, and the files."""
    years = summary["years"]
    last = years[-1] if years else None
    outputs = {}
    for name, o in summary["outputs"].items():
        if o["headline"]:
            st = o["stats"] if last is None else o["years"][str(last)]
            outputs[name] = {"label": o["label"], "unit": o["unit"], "year": last,
                             **{k: st[k] for k in ("mean", "p5", "p50", "p95")}}
    out = {"title": summary["title"], "scenario": summary["scenario"], "model": summary["model"]["name"],
           "seed": summary["seed"],
           "draws": summary["draws"], "sampler": summary["sampler"], "outputs": outputs,
           "claims": {k: c["probability"] for k, c in summary["claims"].items()},
           "files": {"summary": str(Path(folder) / "summary.json"), "report": str(Path(folder) / "report.html")}}
    if summary.get("decisions"):
        out["decisions"] = {k: {"best": d["best"], "options": {o: {"expected": v["expected"], "p_best": v["p_best"]}
                                                               for o, v in d["options"].items()}}
                            for k, d in summary["decisions"].items()}
    if "evidence" in summary:
        # Outputs and claims above are the posterior's; the prior's claims beside them.
        ev = summary["evidence"]
        out["evidence"] = {"method": ev["method"], "why": ev["why"], "pieces": list(ev["items"]),
                           "prior_claims": {k: c["probability"] for k, c in summary["prior"]["claims"].items()}}
    return out


def export_tables(summary: dict, draws=None, weights=None) -> dict:
    """A run as plain tables (polars frames) for spreadsheets: every output's statistics
    per year with their MCSE, the claims, and the draws when the run saved them (with
    `weights`, each draw's posterior weight in a column `weight`)."""
    import polars as pl
    years = summary["years"] or [None]
    ev = summary.get("evidence")
    bases = [("posterior", summary["outputs"]), ("prior", summary["prior"]["outputs"])] if ev else \
        [(None, summary["outputs"])]
    rows = []
    for basis, outputs in bases:
        for name, o in outputs.items():
            for y in years:
                st = o["stats"] if y is None else o["years"][str(y)]
                row = ({"basis": basis} if basis else {}) | {"output": name, "label": o["label"], "unit": o["unit"],
                                                             "year": y}
                for k, v in st.items():
                    row[k] = v["value"]
                    row[f"{k}_mcse"] = v["mcse"]
                rows.append(row)
    claims = [{"claim": k, "thesis": c["text"], "event": c["event"], "probability": c["probability"]["value"],
               "probability_mcse": c["probability"]["mcse"]} for k, c in summary["claims"].items()]
    cols = ["claim", "thesis", "event", "probability", "probability_mcse"]
    if ev:
        for row in claims:
            pr = summary["prior"]["claims"][row["claim"]]["probability"]
            row["prior_probability"], row["prior_probability_mcse"] = pr["value"], pr["mcse"]
        cols += ["prior_probability", "prior_probability_mcse"]
    out = {"summary": pl.DataFrame(rows), "claims": pl.DataFrame(claims, schema=cols)}
    if ev:
        out["evidence"] = pl.DataFrame(
            [{"evidence": k, "observation": it["text"], "source": it["source"], "date": it["date"],
              "prior_percentile": it["prior_predictive"].get("percentile"),
              "prior_probability": it["prior_predictive"].get("probability")} for k, it in ev["items"].items()],
            schema={"evidence": pl.String, "observation": pl.String, "source": pl.String, "date": pl.String,
                    "prior_percentile": pl.Float64, "prior_probability": pl.Float64})
    if draws is not None:
        out["draws"] = draws if weights is None else draws.with_columns(pl.Series("weight", weights))
    return out


def defused(frame):
    """The frame with every text cell that a spreadsheet would take for a formula (one that
    starts with =, +, -, @, a tab or a carriage return) prefixed by a single quote, which
    spreadsheets show as text: OWASP's advice against CSV injection."""
    import polars as pl
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    return frame.with_columns([
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text])


def os_words(exc: OSError) -> str:
    """What went wrong, in the system's words: pyarrow's errors carry them inside its own
    text ("... Detail: [errno 28] No space left on device")."""
    import errno as _errno
    import os
    import re
    if exc.strerror:
        return exc.strerror
    m = re.search(r"\[errno (\d+)\]", str(exc))
    if m:
        return os.strerror(int(m.group(1)))
    return str(exc).strip().splitlines()[0] if str(exc).strip() else _errno.errorcode.get(exc.errno or 0, "error")


def output_column(name: str, year: int | None) -> str:
    """draws.parquet's column for an output in a year (or, without years, the output's name)."""
    return name if year is None else f"{name}_y{int(year)}"


def _arrow(a: np.ndarray):
    """A numpy column as an Arrow array over the same bytes: pa.array() would import
    pandas (a third of a second) to check the column is not a pandas object."""
    import pyarrow as pa
    a = np.ascontiguousarray(a)
    kind = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64(),
            np.dtype(np.int32): pa.int32()}[a.dtype]
    return pa.Array.from_buffers(kind, len(a), [None, pa.py_buffer(a)])


class DrawsWriter:
    """Stream draws.parquet to `path` one chunk (one row group) at a time.

    Write to a staged path (riskmc.store.commit.Transaction.path): the file reaches the run
    folder only once the whole run's files are complete.

    Columns: `draw` (int64), `chunk` (int32), every input, then every output as
    NAME_yYEAR (`nvidia_share_y2030`): the `y` keeps outputs apart from inputs such as
    `custom_share_2030`. A model without years has one column per output, its name.
    polars has no append-mode Parquet writer, so pyarrow's ParquetWriter does the
    streaming; with a fixed row-group layout its bytes are the same for the same draws.
    """

    def __init__(self, path, model, shown=None):
        self.path = Path(path)
        self.shown = Path(shown) if shown is not None else self.path.parent  # the folder to name in errors
        self.inputs, self.outputs = list(model.input_names), list(model.output_names)
        self.years = list(model.years) if model.years is not None else [None]
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
            raise self._error(exc) from exc
        return self

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write draws.parquet: {os_words(exc)}", file=self.shown,
                           hint="free some space or choose another folder with --out")

    def write(self, chunk, chunk_size: int) -> None:
        import pyarrow as pa
        n = len(next(iter(chunk.inputs.values())))
        start = chunk.index * chunk_size
        cols = [_arrow(np.arange(start, start + n, dtype=np.int64)),
                _arrow(np.full(n, chunk.index, dtype=np.int32))]
        cols += [_arrow(chunk.inputs[k]) for k in self.inputs]
        cols += [_arrow(chunk.outputs[o][:, j]) for o in self.outputs for j in range(len(self.years))]
        try:
            self._writer.write_table(pa.Table.from_arrays(cols, schema=self.schema))
        except OSError as exc:
            raise self._error(exc) from exc

    def __exit__(self, et, ev, tb):
        try:
            self._writer.close()
        except OSError as exc:
            if et is None:
                raise self._error(exc) from exc
        return False


def read_draws(folder: str | Path, summary: dict):
    """A run folder's draws.parquet, checked against its summary.json: every output's
    columns present, one row per draw."""
    import polars as pl

    from .folders import check_listed, sha256_file
    folder = Path(folder)
    path = folder / "draws.parquet"
    try:
        digest, size = sha256_file(path), path.stat().st_size
    except FileNotFoundError:
        raise OutputError("no draws.parquet here: re-run with --save-draws", file=folder) from None
    except IsADirectoryError:
        raise OutputError("draws.parquet is a folder, not a file", file=folder) from None
    except OSError as exc:
        raise OutputError(f"cannot read draws.parquet: {exc.strerror}", file=folder) from exc
    try:
        frame = pl.read_parquet(path)
    except FileNotFoundError:
        raise OutputError("no draws.parquet here: re-run with --save-draws", file=folder) from None
    except Exception as exc:  # polars and pyarrow raise many kinds on a damaged file
        raise OutputError("draws.parquet is damaged or not a Parquet file", file=folder,
                          hint="re-run the command that wrote it") from exc
    if frame.height != summary["draws"]:
        raise OutputError(f"draws.parquet has {frame.height:,} rows but summary.json says the run had "
                          f"{summary['draws']:,} draws", file=folder, hint="re-run the command that wrote it")
    wanted = [output_column(o, y) for o in summary["outputs"] for y in (summary["years"] or [None])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise OutputError(f"draws.parquet lacks the column {missing[0]} that summary.json implies",
                          file=folder, hint="re-run the command that wrote it")
    bad = [c for c in wanted if frame[c].dtype != pl.Float64]
    if bad:
        raise OutputError(f"draws.parquet's column {bad[0]} is not numbers", file=folder,
                          hint="re-run the command that wrote it")
    cols = [c for c, t in frame.schema.items() if t == pl.Float64]
    if cols and not frame.select(pl.all_horizontal([pl.col(c).is_finite().all() for c in cols])).item():
        raise OutputError("draws.parquet holds values riskmc never writes (NaN or infinite)", file=folder,
                          hint="re-run the command that wrote it")
    check_listed(folder, "draws.parquet", digest, size)
    return frame


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

    years = result.model.years
    dt = az.from_dict(
        {"prior": {k: shape(v) for k, v in result.inputs.items()},
         "prior_predictive": {k: shape(np.ascontiguousarray(v)) for k, v in result.outputs.items()}},
        dims={k: ["year"] for k in result.outputs} if years else {},
        coords={"year": list(years)} if years else {},
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
