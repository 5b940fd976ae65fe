"""Read priors files into a validated PriorSet: parse, compose, fit, check against the model.

Every mistake becomes a PriorsError naming the file, the line, the prior and the fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import math
import os
import pickle
import re
import threading
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PriorsError
from ..settings import FILE_KEYS as RUN_KEYS  # the settings a priors file's [run] table may give
from ..store.textfile import read_text
from . import evidence as evidence_tables
from .copula import Dependence, build_dependence
from .evidence import Evidence
from .families import FAMILIES, Family, make, record
from .fit import Fit, fit
from .toml_lines import LineIndex

TOP_KEYS = ("title", "description", "model", "extends", "run", "priors", "correlations", "scenarios", "claims",
            "evidence")
META_KEYS = ("description", "unit", "source", "owner", "reviewed")
REQUIRED_META = ("description", "unit", "source")
SPEC_KEYS = ("family", "range", "confidence", "value", "lower", "upper", "values", "probs")
PARAM_KEYS = sorted({p for f in FAMILIES.values() for p in f.params} - {"value"})
QUANTILE_KEY = re.compile(r"^p(\d{2})$")
CLAIM_KEYS = ("text", "event", "output", "year", "years", "above", "below", "between", "rises")
SCENARIO_KEYS = ("description", "priors", "evidence")
POOL_KEYS = ("experts", "pool")
EXPERT_KEYS = ("weight", "source", "reviewed", "description")
DEFAULT_CONFIDENCE = 0.9
# A prior may reach past the model's support only by this much probability (a normal for a
# revenue with a tiny sd, say); the sampler clips the rare draw back inside.
OUTSIDE_MASS = 1e-9
# No prior may reach further than this from zero, even one draw in 2^53: a model must be
# able to add, multiply and square such values without overflowing to infinity.
HUGE = 1e100


@dataclass(frozen=True)
class Expert:
    """One expert's view of a prior: their distribution, its weight in the pool, and where."""

    name: str
    family: Family
    weight: float  # normalised: the experts' weights sum to one
    source: str
    reviewed: str | None
    description: str | None
    stated: dict[float, float]
    fit_error: float | None
    line: int | None

    def as_dict(self) -> dict:
        return {"name": self.name, "weight": self.weight, "source": self.source, "reviewed": self.reviewed,
                "description": self.description, "line": self.line,
                "distribution": record(self.family),
                "stated": {_qkey(k): v for k, v in sorted(self.stated.items())},
                "implied": {_qkey(q): float(v) for q, v in zip(IMPLIED, implied3(self.family))},
                "fit_error": self.fit_error}


@dataclass(frozen=True)
class Prior:
    """One validated prior: its distribution, what the expert stated, and where."""

    name: str
    family: Family
    description: str
    unit: str
    source: str
    owner: str | None
    reviewed: str | None
    stated: dict[float, float]  # quantile level -> stated value ({} when given by parameters)
    fit_error: float | None
    file: str
    line: int | None
    experts: tuple[Expert, ...] = ()  # several experts' views, pooled into `family`
    pool: str | None = None           # "linear" or "log", with experts

    def implied(self, probs) -> np.ndarray:
        if tuple(probs) == IMPLIED:
            return implied3(self.family)
        return self.family.quantiles(probs)

    def as_dict(self) -> dict:
        """The prior as the expert wrote it and as riskmc understood it (JSON-ready)."""
        dist = record(self.family)
        return {
            "description": self.description, "unit": self.unit, "source": self.source,
            "owner": self.owner, "reviewed": self.reviewed, "file": self.file, "line": self.line,
            "distribution": dist,
            "stated": {_qkey(k): v for k, v in sorted(self.stated.items())},
            "implied": {_qkey(q): float(v) for q, v in zip(IMPLIED, self.implied(IMPLIED))},
            "fit_error": self.fit_error,
            **({"pool": self.pool, "experts": [x.as_dict() for x in self.experts],
                "disagreement": self.disagreement()} if self.experts else {}),
        }

    def disagreement(self) -> list[dict]:
        """Each pair of experts and how much their 90% intervals overlap (0: not at all)."""
        from .pool import overlap
        ends = {x.name: tuple(float(v) for v in implied3(x.family)[[0, 2]]) for x in self.experts}
        names = [x.name for x in self.experts]
        return [{"a": a, "b": b, "overlap": overlap(ends[a], ends[b])}
                for i, a in enumerate(names) for b in names[i + 1:]]


IMPLIED = (0.05, 0.5, 0.95)


def implied3(fam: Family) -> np.ndarray:
    """The family's p05, p50 and p95, exactly; a beta's (which need SciPy) kept in riskmc.numeric.cache."""
    if fam.name not in ("beta", "pert", "pool"):
        return fam.quantiles(IMPLIED)
    from ..numeric import cache
    k = cache.key("implied", fam.name, fam.key() if fam.name == "pool" else sorted(fam.values.items()), IMPLIED)
    hit = cache.load_json("implied", k)
    if hit is not None and len(hit.get("q", ())) == 3:
        return np.asarray(hit["q"], dtype=float)
    q = fam.quantiles(IMPLIED)
    cache.save_json("implied", k, {"q": [float(v) for v in q]})
    return q


def _qkey(p: float) -> str:
    return f"p{round(100 * p):02d}"


@dataclass(frozen=True)
class Claim:
    """A thesis stated as an event on a model output."""

    name: str
    text: str
    output: str
    years: tuple[int, ...]
    above: float | None = None
    below: float | None = None
    rises: bool = False
    event: Any = None  # a riskmc.model.events.Event, for a claim written as `event = "..."`

    def describe(self) -> str:
        if self.event is not None:
            return self.event.text
        if not self.years:  # a model without years
            if self.above is not None and self.below is not None:
                return f"{self.above:g} <= {self.output} <= {self.below:g}"
            return f"{self.output} > {self.above:g}" if self.above is not None else f"{self.output} < {self.below:g}"
        yrs = f"{self.years[0]}" if len(self.years) == 1 else f"{self.years[0]}-{self.years[-1]}"
        if self.rises:
            return f"{self.output} rises every year {yrs}"
        if self.above is not None and self.below is not None:
            return f"{self.above:g} <= {self.output}[{yrs}] <= {self.below:g}"
        if self.above is not None:
            return f"{self.output}[{yrs}] > {self.above:g}"
        return f"{self.output}[{yrs}] < {self.below:g}"


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class ModelRef:
    """The model a priors file names: `market`, or a path relative to `base`."""

    ref: Any
    base: Path
    file: str | None
    line: int | None


@dataclass(frozen=True)
class PriorSet:
    """Everything a run needs from the priors files, validated against their model."""

    title: str
    priors: dict[str, Prior]
    dependence: Dependence
    claims: dict[str, Claim]
    run: dict[str, Any]
    files: tuple[SourceFile, ...]
    scenario: str | None
    scenarios: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    model: Any = None  # the riskmc.Model these priors were checked against and feed
    evidence: dict[str, Evidence] = field(default_factory=dict)  # what was observed, by name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.priors)

    @property
    def path(self) -> str:
        return self.files[0].path

    @property
    def sources(self) -> list[str]:
        """Every file a run of these priors reads: the priors files, then a model file."""
        out = [f.path for f in self.files]
        if self.model is not None and self.model.source is not None:
            out.append(str(self.model.source))
        return out


# --------------------------------------------------------------------------- reading
@dataclass
class _Doc:
    path: Path
    data: dict
    lines: LineIndex
    sha256: str


# Names become folder names, file columns and parts of events: letters, digits, _ - . only.
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


# Parsed priors files by the SHA-256 of their bytes, pickled: a file is read by
# model_ref, then by load, then once per scenario that `priors check` validates. Each
# reader unpickles its own copy of the tables (a twentieth of parsing the TOML again),
# so no load can change what the next one reads; the key is the content, never stale.
_PARSED: dict[str, tuple[bytes, LineIndex]] = {}
_PARSED_MAX = 32
_PARSED_LOCK = threading.Lock()  # library users may load priors from several threads


def _read(path: Path) -> _Doc:
    text, raw = read_text(path)
    digest = hashlib.sha256(raw).hexdigest()
    with _PARSED_LOCK:
        kept = _PARSED.get(digest)
    if kept is not None:
        return _Doc(path, pickle.loads(kept[0]), kept[1], digest)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg).strip()
        msg = msg[:1].lower() + msg[1:]
        raise PriorsError(f"malformed TOML: {msg}", file=path, line=line,
                          hint="see https://toml.io for the syntax") from exc
    except RecursionError as exc:
        raise PriorsError("malformed TOML: values nested too deeply", file=path, line=_deep_line(text),
                          hint="a priors file nests tables and lists a few levels at most") from exc
    doc = _Doc(path, data, LineIndex(text), digest)
    try:
        kept = (pickle.dumps(data), doc.lines)
    except RecursionError:  # nested too deeply to copy: parsed again when read again
        return doc
    with _PARSED_LOCK:
        while _PARSED and len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[digest] = kept
    return doc


def _deep_line(text: str, limit: int = 100) -> int | None:
    """The line where brackets and braces first nest `limit` deep (outside strings and
    comments): where a file that is nested too deeply for the parser goes wrong."""
    depth, line, i, n = 0, 1, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            end = text.find(quote, i + len(quote))
            while quote == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(quote, end + 1)
            stop = n if end < 0 else end + len(quote)
            line += text.count("\n", i, stop)
            i = stop
            continue
        elif c in "[{":
            depth += 1
            if depth >= limit:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(sorted(choices))}"


class _Where:
    """Builds errors that point at a key in one document."""

    def __init__(self, doc: _Doc):
        self.doc = doc

    def error(self, message: str, *path: str, hint: str | None = None) -> PriorsError:
        return PriorsError(message, file=self.doc.path, line=self.doc.lines.line(*path), hint=hint)


def _load_chain(path: Path, seen: tuple[Path, ...] = (), top: _Where | None = None) -> list[_Doc]:
    """The file and its `extends` ancestors, root first. A mistake in what `extends` names
    (a folder, a FIFO, a binary file...) is reported at the `extends` line that names it;
    a cycle at the first file's `extends` line, where the chain was entered."""
    resolved = path.resolve()
    doc = _read(path)
    w = _Where(doc)
    top = top or w
    for key in doc.data:
        if key not in TOP_KEYS:
            raise w.error(f"unknown top-level key '{key}'", key, hint=_did_you_mean(key, TOP_KEYS))
    parent = doc.data.get("extends")
    if parent is None:
        return [doc]
    if not isinstance(parent, str):
        raise w.error("'extends' must be a file name in quotes", "extends")
    if not parent.strip():
        raise w.error("'extends' must name a priors file, got an empty name", "extends",
                      hint='e.g. extends = "base.toml", or remove the line')
    parent_path = path.parent / parent
    try:
        exists = parent_path.exists()
    except OSError as exc:
        raise w.error(f"'extends' names a path the system refuses: {exc.strerror}", "extends",
                      hint="name a priors file, e.g. extends = \"base.toml\"") from None
    if not exists:
        raise w.error(f"'extends' names a missing file: {parent}", "extends",
                      hint=f"no file at {parent_path}")
    if parent_path.resolve() in (*seen, resolved):
        cycle = " -> ".join(p.name for p in (*seen, resolved, parent_path.resolve()))
        raise top.error(f"'extends' makes a cycle: {cycle}", "extends", hint="remove one of the 'extends' lines")
    try:
        read_text(parent_path)  # the file itself: a folder, a FIFO, binary or too large is this line's mistake
    except PriorsError as exc:
        raise w.error(f"'extends' names {parent}: {exc.message}", "extends", hint=exc.hint) from exc
    try:
        chain = _load_chain(parent_path, (*seen, resolved), top)
    except PriorsError as exc:
        raise _redacted(exc, path) from exc
    return chain + [doc]


def _redacted(exc: PriorsError, top: Path) -> PriorsError:
    """An error in a file outside the priors' folder names the file and line but quotes
    none of its content: `extends` could name any file this user can read."""
    if exc.file is None or not exc.quotes_file or _inside(Path(exc.file), top.parent):
        return exc
    return PriorsError("not a usable priors file (riskmc quotes nothing from files outside the "
                       "priors' folder: check it there)", file=exc.file, line=exc.line)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except OSError:
        return False


# --------------------------------------------------------------------------- composing
def _merge_prior(old: dict | None, new: dict) -> dict:
    """A child's keys override the parent's.

    Stating the distribution a new way (family, range, quantiles or value) replaces the
    parent's whole distribution; giving only parameters (`p = 0.5`) adjusts the parent's.
    """
    if old is None:
        return dict(new)
    if any(k in ("family", "range", "value") or QUANTILE_KEY.match(k) for k in new):
        old = {k: v for k, v in old.items() if not _is_spec_key(k) and k not in ("experts", "pool")}
    if isinstance(new.get("experts"), dict):
        # Experts replace a single stated distribution, and merge with the parent's experts
        # one by one: a scenario can change one expert's view or weight, or add an expert.
        if "experts" not in old:  # the single view's citation was for that view
            old = {k: v for k, v in old.items() if k not in ("source", "reviewed")}
        old = {k: v for k, v in old.items() if not _is_spec_key(k)}
        mine = old.get("experts") if isinstance(old.get("experts"), dict) else {}
        weighs = any(isinstance(t, dict) and "weight" in t for t in new["experts"].values())
        if weighs and not any(isinstance(t, dict) and "weight" in t for t in mine.values()):
            # An overlay that weighs experts the parent left equal: the others keep weight 1.
            mine = {k: {**t, "weight": 1.0} if isinstance(t, dict) else t for k, t in mine.items()}
        merged = dict(mine)
        for name, table in new["experts"].items():
            both = isinstance(mine.get(name), dict) and isinstance(table, dict)
            merged[name] = _merge_prior(mine[name], table) if both else table
        return {**old, **new, "experts": merged}
    return {**old, **new}


def _is_spec_key(key: str) -> bool:
    return key in SPEC_KEYS or key in PARAM_KEYS or bool(QUANTILE_KEY.match(key))


@dataclass
class _Entry:
    table: dict
    doc: _Doc
    path: tuple[str, ...]


def model_ref(path: str | Path) -> ModelRef:
    """Which model a priors file (or a file it extends) names with `model = "..."`."""
    path = Path(path)
    try:
        chain = _load_chain(path)
    except PriorsError as exc:
        raise _redacted(exc, path) from exc.__cause__
    for doc in reversed(chain):
        if "model" in doc.data:
            return ModelRef(doc.data["model"], doc.path.parent, str(doc.path), doc.lines.line("model"))
    raise PriorsError("the file names no model", file=path,
                      hint='add model = "market" (the essay\'s model, built in) or model = "models/NAME.py" '
                           "(a model of your own) at the top")


def load(path: str | Path, *, model, scenario: str | None = None, allow_unused: bool = False) -> PriorSet:
    """Load, compose and validate a priors file (and what it extends) against `model`.

    `model` is the riskmc.Model the priors feed: its inputs need one prior each, its
    outputs and years are what claims may name. With `scenario`, that
    `[scenarios.NAME]` overlay is applied last.
    """
    try:
        return _load(Path(path), scenario, model, allow_unused)
    except PriorsError as exc:
        raise _redacted(exc, Path(path)) from exc.__cause__


def _load(path: Path, scenario, model, allow_unused) -> PriorSet:
    inputs, outputs = model.inputs, model.outputs
    path = Path(path)
    chain = _load_chain(path)
    top = chain[-1]

    entries: dict[str, _Entry] = {}
    corr: dict[str, tuple[Any, _Doc]] = {}
    claims: dict[str, tuple[dict, _Doc]] = {}
    evidence: dict[str, tuple[Any, _Doc, tuple[str, ...]]] = {}
    scenarios: dict[str, tuple[dict, _Doc]] = {}
    run: dict[str, Any] = {}
    title = ""
    for doc in chain:
        w = _Where(doc)
        d = doc.data
        for key in ("title", "description"):
            if key in d and not isinstance(d[key], str):
                raise w.error(f"'{key}' must be text in quotes", key)
        title = d.get("title", title)
        run_table = _table(w, d, "run")
        for key, value in run_table.items():
            if key not in RUN_KEYS:
                raise w.error(f"unknown key '{key}' in [run]", "run", key, hint=_did_you_mean(key, RUN_KEYS))
            run[key] = value
        for name, table in _table(w, d, "priors").items():
            _check_name(w, "prior", name, ("priors", name))
            if not isinstance(table, dict):
                raise w.error(f"prior '{name}' must be a table: [priors.{name}]", "priors", name)
            old = entries.get(name)
            entries[name] = _Entry(_merge_prior(old.table if old else None, table), doc, ("priors", name))
        for key, value in _table(w, d, "correlations").items():
            corr[key] = (value, doc)
        for name, table in _table(w, d, "claims").items():
            _check_name(w, "claim", name, ("claims", name))
            claims[name] = (table, doc)
        for name, table in _table(w, d, "evidence").items():
            _check_name(w, "evidence", name, ("evidence", name))
            evidence[name] = (table, doc, ("evidence", name))
        for name, table in _table(w, d, "scenarios").items():
            _check_name(w, "scenario", name, ("scenarios", name))
            if not isinstance(table, dict):
                raise w.error(f"scenario '{name}' must be a table: [scenarios.{name}]", "scenarios", name)
            scenarios[name] = (table, doc)

    for name, (table, doc) in scenarios.items():
        w = _Where(doc)
        for key in table:
            if key not in SCENARIO_KEYS:
                raise w.error(f"unknown key '{key}' in scenario '{name}'", "scenarios", name, key,
                              hint=_did_you_mean(key, SCENARIO_KEYS))
        if "description" in table and not isinstance(table["description"], str):
            raise w.error(f"scenario '{name}': 'description' must be text in quotes",
                          "scenarios", name, "description")
        for pname, overlay in _table(w, table, "priors", ("scenarios", name)).items():
            if not isinstance(overlay, dict):
                raise w.error(f"scenario '{name}' changes prior '{pname}': that must be a table: "
                              f"[scenarios.{name}.priors.{pname}]", "scenarios", name, "priors", pname)
    if scenario is not None:
        if scenario not in scenarios:
            known = ", ".join(sorted(scenarios)) or "none defined"
            raise PriorsError(f"unknown scenario '{scenario}'", file=top.path,
                              hint=f"scenarios in this file: {known}")
        table, doc = scenarios[scenario]
        w = _Where(doc)
        for name, overlay in _table(w, table, "priors", ("scenarios", scenario)).items():
            if name not in entries:
                raise w.error(f"scenario '{scenario}' changes prior '{name}', which no file defines",
                              "scenarios", scenario, "priors", name,
                              hint=_did_you_mean(name, entries))
            entries[name] = _Entry(_merge_prior(entries[name].table, overlay), doc,
                                   ("scenarios", scenario, "priors", name))
        for name, ev in _table(w, table, "evidence", ("scenarios", scenario)).items():
            _check_name(w, "evidence", name, ("scenarios", scenario, "evidence", name))
            evidence[name] = (ev, doc, ("scenarios", scenario, "evidence", name))

    by_name = {i.name: i for i in inputs}
    warnings = []
    unused = [n for n in entries if n not in by_name]
    for name in unused:
        e = entries[name]
        close = difflib.get_close_matches(name, [n for n in by_name if n not in entries], n=1, cutoff=0.6)
        if close and not allow_unused:
            raise _Where(e.doc).error(f"[priors.{name}] names no input of model '{model.name}'", *e.path,
                                      hint=f"did you mean '{close[0]}'?")
        msg = f"prior '{name}' is not used by model '{model.name}'"
        # A near-miss of a prior some file already gives (an overlay's typo): say so first.
        near = difflib.get_close_matches(name, [n for n in by_name if n in entries], n=1, cutoff=0.85)
        if near and not allow_unused:
            raise _Where(e.doc).error(
                msg, *e.path, hint=f"did you mean '{near[0]}'? To change that prior, use its exact name; to add "
                f"a new one, add riskmc.Input(\"{name}\") to a model of your own (docs/models.md)")
        if not allow_unused:
            raise _Where(e.doc).error(
                msg, *e.path, hint=f"its inputs are {', '.join(by_name)}; to use this prior, add "
                f"riskmc.Input(\"{name}\") to a model of your own (docs/models.md), or pass --allow-unused")
        warnings.append(str(PriorsError(msg, file=e.doc.path, line=e.doc.lines.line(*e.path))))
    missing = [n for n in by_name if n not in entries]
    if missing:
        raise PriorsError(f"model '{model.name}' needs priors that no file gives: {', '.join(missing)}",
                          file=top.path, hint="add a [priors.NAME] table for each")

    priors = {}
    notes: list[str] = []
    for spec in inputs:
        e = entries[spec.name]
        priors[spec.name] = _build_prior(spec, e, notes)

    dependence = build_dependence(
        {k: v for k, (v, _) in corr.items()}, list(priors),
        locate=lambda key: _where_corr(corr, key),
        discrete={n for n, p in priors.items() if p.family.discrete or p.family.name == "fixed"},
    )
    out_names = {o.name for o in outputs}
    built_claims = {name: _build_claim(name, table, _Where(doc), out_names, model.years, model)
                    for name, (table, doc) in claims.items()}
    built_evidence = {}
    for name, (table, doc, where) in evidence.items():
        w = _Where(doc)

        def err(message, key=None, hint=None, w=w, where=where, name=name):
            return w.error(f"evidence '{name}': {message}", *where, *((key,) if key else ()), hint=hint)
        e = evidence_tables.build(name, table, err, model, lambda n: _support(priors[n], by_name[n]))
        built_evidence[name] = replace(e, file=str(doc.path), line=doc.lines.line(*where))
    evidence_tables.contradictions(list(built_evidence.values()), lambda e: (e.file, e.line))
    _check_run(run, top)
    return PriorSet(
        title=title or path.stem,
        priors=priors,
        dependence=dependence,
        claims=built_claims,
        run=run,
        files=tuple(SourceFile(str(d.path), d.sha256) for d in reversed(chain)),
        scenario=scenario,
        scenarios=tuple(sorted(scenarios)),
        warnings=tuple(warnings + notes + list(dependence.notes)),
        model=model,
        evidence=built_evidence,
    )


def _support(prior: Prior, spec) -> tuple[float, float]:
    """The values an input's prior can reach, inside the model's bounds for it."""
    lo, hi = prior.family.support()
    return max(lo, spec.lower), min(hi, spec.upper)


def _check_name(w: _Where, kind: str, name: str, path: tuple[str, ...]) -> None:
    if not NAME.match(name):
        raise w.error(f"{kind} name '{name}' may hold only letters, digits, '_', '-' and '.' "
                      "(it becomes part of file and folder names)", *path,
                      hint="rename it, e.g. " + (re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or kind))


def _where_corr(corr, key):
    if key in corr:
        doc = corr[key][1]
        return doc.path, doc.lines.line("correlations", key)
    doc = next(iter(corr.values()))[1] if corr else None
    return (doc.path, doc.lines.line("correlations")) if doc else (None, None)


def _table(w: _Where, d: dict, key: str, prefix: tuple[str, ...] = ()) -> dict:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise w.error(f"'{key}' must be a table: [{'.'.join((*prefix, key))}]", *prefix, key)
    return value


def _check_run(run: dict, top: _Doc) -> None:
    """The [run] table's settings, by the validators every run's settings go through
    (riskmc.settings): a mistake here names the file and the line."""
    from ..settings import SETTINGS, SettingError
    w = _Where(top)
    for key in RUN_KEYS:
        if key in run:
            try:
                run[key] = SETTINGS[key].check(run[key])
            except SettingError as exc:
                raise w.error(f"[run] {key} {exc.file_message.removeprefix(key + ' ')}", "run", key,
                              hint=exc.hint) from None


# --------------------------------------------------------------------------- one prior
def _number(err, key, value) -> float:
    """value as a float; `err` builds the error (it names the prior, expert or claim)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise err(f"'{key}' must be a finite number, got {value!r}", key)
    return float(value)


def _build_prior(spec, e: _Entry, notes: list[str] | None = None) -> Prior:
    """One prior, checked against `spec`, the riskmc.Input it feeds (name, unit, support).

    A prior states one distribution, or several experts' (`[priors.NAME.experts.WHO]`),
    pooled; `notes` collects what the user should hear about but need not fix."""
    w = _Where(e.doc)
    t = e.table
    name = spec.name
    where = f"prior '{name}'"

    def err(message, key=None, hint=None):
        return w.error(f"{where}: {message}", *e.path, *((key,) if key else ()), hint=hint)

    pooled = "experts" in t or "pool" in t
    allowed = set(META_KEYS) | (set(POOL_KEYS) if pooled else set(SPEC_KEYS) | set(PARAM_KEYS))
    for key in t:
        if pooled and (_is_spec_key(key) or key == "family"):
            raise err(f"give the distribution in each expert's table, not here ('{key}')", key,
                      hint=f"move it under [priors.{name}.experts.NAME], or remove [priors.{name}.experts]")
        if key not in allowed and not QUANTILE_KEY.match(key):
            raise err(f"unknown key '{key}'", key,
                      hint=_did_you_mean(key, sorted(allowed) + ([] if pooled else ["p05", "p50", "p95"])))
    for key in REQUIRED_META:
        if key == "source" and pooled and key not in t:
            continue  # each expert cites their own
        if key not in t:
            hint = ("cite where the figure comes from, or write source = \"assumption\""
                    if key == "source" else f"add {key} = \"...\"")
            raise err(f"missing '{key}'", hint=hint)
        if not isinstance(t[key], str) or not t[key].strip():
            raise err(f"'{key}' must be non-empty text", key)
    if "owner" in t and not isinstance(t["owner"], str):
        raise err("'owner' must be text in quotes", "owner")
    reviewed = _reviewed(t, err)
    if pooled:
        experts, kind, fam = _build_experts(spec, e, t, err, notes if notes is not None else [])
        source = t.get("source") or "; ".join(f"{x.name}: {x.source}" for x in experts)
        return Prior(name=name, family=fam, description=t["description"], unit=t["unit"], source=source,
                     owner=t.get("owner"), reviewed=reviewed, stated={}, fit_error=None,
                     file=str(e.doc.path), line=e.doc.lines.line(*e.path), experts=experts, pool=kind)
    fam, stated, fit_result = _state(spec, t, err)
    _check_reach(fam, spec, err)
    return Prior(name=name, family=fam, description=t["description"], unit=t["unit"],
                 source=t["source"], owner=t.get("owner"), reviewed=reviewed, stated=stated,
                 fit_error=fit_result.error if fit_result else None,
                 file=str(e.doc.path), line=e.doc.lines.line(*e.path))


def _reviewed(t: dict, err) -> str | None:
    reviewed = t.get("reviewed")
    if isinstance(reviewed, dt.datetime) or (reviewed is not None and not isinstance(reviewed, (dt.date, str))):
        raise err("'reviewed' must be a date such as 2025-12-02", "reviewed")
    return str(reviewed) if reviewed is not None else None


def _build_experts(spec, e: _Entry, t: dict, err, notes: list[str]):
    """The experts of a pooled prior, each stated as a prior can be, and their pool."""
    from .pool import POOLS, make_pool
    name = spec.name
    w = _Where(e.doc)
    kind = t.get("pool", "linear")
    if kind not in POOLS:
        raise err(f"pool must be \"linear\" (a mixture of the experts: the default) or \"log\" (a "
                  f"compromise between them), got {kind!r}", "pool")
    table = t.get("experts")
    if not isinstance(table, dict) or not table:
        raise err("'experts' needs at least one expert's table", "experts" if "experts" in t else "pool",
                  hint=f"add [priors.{name}.experts.NAME] with the expert's range and source")
    experts = []
    for xname, xt in table.items():
        path = (*e.path, "experts", xname)
        _check_name(w, "expert", xname, path)

        def xerr(message, key=None, hint=None, xname=xname, path=path):
            return w.error(f"prior '{name}', expert '{xname}': {message}", *path, *((key,) if key else ()),
                           hint=hint)

        if not isinstance(xt, dict):
            raise xerr(f"must be a table: [priors.{name}.experts.{xname}]")
        allowed = set(EXPERT_KEYS) | set(SPEC_KEYS) | set(PARAM_KEYS)
        for key in xt:
            if key not in allowed and not QUANTILE_KEY.match(key):
                raise xerr(f"unknown key '{key}'", key, hint=_did_you_mean(key, sorted(allowed)))
        if not any(_is_spec_key(k) or k == "family" for k in xt):
            others = [x for x in table if x != xname]
            close = difflib.get_close_matches(xname, others, n=1, cutoff=0.6)
            if close:
                raise xerr(f"is not one of this prior's experts ({', '.join(others)}): did you mean '{close[0]}'?",
                           hint="a new expert needs a range or quantiles, and a source")
            raise xerr("states no distribution", hint="give range = [low, high] (90% sure) or quantiles")
        if not isinstance(xt.get("source"), str) or not xt["source"].strip():
            raise xerr("missing 'source'" if "source" not in xt else "'source' must be non-empty text",
                       "source" if "source" in xt else None,
                       hint="cite where this view comes from, or write source = \"assumption\"")
        if "description" in xt and not isinstance(xt["description"], str):
            raise xerr("'description' must be text in quotes", "description")
        weight = 1.0
        if "weight" in xt:
            if isinstance(xt["weight"], bool) or not isinstance(xt["weight"], (int, float)):
                raise xerr(f"weight must be a number, got {xt['weight']!r}", "weight",
                           hint="e.g. weight = 2 counts this expert twice as much as one with weight = 1")
            weight = _number(xerr, "weight", xt["weight"])
            if not weight > 0:
                raise xerr(f"weight must be positive, got {weight:g}", "weight",
                           hint="to leave this expert out, delete or comment out their table")
        fam, stated, fit_result = _state(spec, {"unit": t.get("unit"), **xt}, xerr)
        if fam.discrete or fam.name == "fixed":
            raise xerr(f"states {fam.describe()}; experts are pooled as continuous distributions",
                       hint="state a range or quantiles")
        _check_reach(fam, spec, xerr)
        experts.append(Expert(name=xname, family=fam, weight=weight, source=xt["source"],
                              reviewed=_reviewed(xt, xerr), description=xt.get("description"),
                              stated=stated, fit_error=fit_result.error if fit_result else None,
                              line=e.doc.lines.line(*path)))
    given = [x for x, xt in table.items() if "weight" in xt]
    if given and len(given) != len(table):
        lacking = next(x for x in table if x not in given)
        raise w.error(f"prior '{name}': expert '{lacking}' has no weight, though "
                      f"{', '.join(repr(g) for g in given)} {'has' if len(given) == 1 else 'have'} one",
                      *e.path, "experts", lacking, hint="give every expert a weight, or none (equal weights)")
    total = sum(x.weight for x in experts)
    where = f"{e.doc.path}:{e.doc.lines.line(*e.path, 'experts') or e.doc.lines.line(*e.path)}"
    if len(experts) == 1:
        notes.append(f"{where}: prior '{name}' has one expert, so there is nothing to pool: "
                     f"add another as [priors.{name}.experts.NAME]")
    elif given and abs(total - 1.0) > 1e-9 and len({x.weight for x in experts}) > 1:
        shares = ", ".join(f"{x.name} {x.weight / total:.3g}" for x in experts)
        notes.append(f"{where}: prior '{name}': the experts' weights sum to {total:g}, so they count in "
                     f"proportion: {shares}")
    try:
        pool = make_pool([x.family for x in experts], [x.weight for x in experts], kind)
    except PriorsError as exc:
        raise err(exc.message, "pool" if "pool" in t else "experts") from None
    if kind == "log":
        ends = {x.name: implied3(x.family)[[0, 2]] for x in experts}
        apart = [(a, b) for i, a in enumerate(ends) for b in list(ends)[i + 1:]
                 if ends[a][1] < ends[b][0] or ends[b][1] < ends[a][0]]
        if apart:
            a, b = apart[0]
            notes.append(f"{where}: prior '{name}': experts {a} and {b} share no value in their 90% intervals; a log "
                         "pool finds a compromise that neither of them believes: pool = \"linear\" keeps both views")
    experts = tuple(replace(x, weight=x.weight / total) for x in experts)
    return experts, kind, pool


def _state(spec, t: dict, err):
    """The distribution a table states (parameters, quantiles, a range or a value), fitted."""
    quantiles = {}
    for key, value in t.items():
        m = QUANTILE_KEY.match(key)
        if m:
            level = int(m.group(1))
            if not 1 <= level <= 99:
                raise err(f"quantile key '{key}' must be between p01 and p99", key)
            quantiles[level / 100] = _number(err, key, value)
    family = t.get("family")
    if family is not None and (not isinstance(family, str) or family not in FAMILIES):
        raise err(f"unknown family '{family}'", "family", hint=_did_you_mean(str(family), FAMILIES))
    _check_percent(spec, t, quantiles, err)
    # With quantiles or a range, lower and upper bound the fitted family (beta, truncnormal,
    # metalog): they are not a second way of stating the distribution.
    fitted = bool(quantiles) or "range" in t
    params = [k for k in PARAM_KEYS if k in t and not (fitted and k in ("lower", "upper"))]
    ways = [n for n, given in (("parameters", (bool(params) or family == "discrete") and family is not None),
                               ("quantiles", bool(quantiles)), ("range", "range" in t),
                               ("value", "value" in t)) if given]
    if not ways:
        if params and family is None:
            raise err(f"parameters {', '.join(params)} given without a family", hint="add family = \"...\"")
        raise err("no distribution given",
                  hint="give range = [low, high] (90% sure), quantiles such as p05/p95, "
                       "family with its parameters, or value")
    if len(ways) > 1:
        raise err(f"give the distribution one way only, not {' and '.join(ways)}")
    bounds = {k: _number(err, k, t[k]) for k in ("lower", "upper") if k in t}

    stated: dict[float, float] = {}
    fit_result: Fit | None = None
    try:
        if ways == ["value"]:
            fam = make("fixed", {"value": _number(err, "value", t["value"])})
        elif ways == ["parameters"] and family == "discrete":
            vals, probs = t.get("values"), t.get("probs")
            if not (isinstance(vals, list) and isinstance(probs, list)):
                raise err("family discrete needs values = [...] and probs = [...]", "family")
            fam = make("discrete", {}, points=tuple(_number(err, "values", v) for v in vals),
                       weights=tuple(_number(err, "probs", v) for v in probs))
        elif ways == ["parameters"]:
            cls = FAMILIES[family]
            missing = [p for p in cls.params if p not in t]
            if missing:
                raise err(f"family {family} needs {', '.join(missing)}", missing[0])
            extra = [p for p in params if p not in cls.params and p not in cls.optional]
            if extra:
                raise err(f"family {family} has no parameter '{extra[0]}'", extra[0],
                          hint=f"its parameters are {', '.join((*cls.params, *cls.optional))}")
            values = {p: _number(err, p, t[p]) for p in cls.params}
            values.update(bounds)
            fam = make(family, values)
        else:
            if ways == ["range"]:
                rng = t["range"]
                if (not isinstance(rng, list) or len(rng) != 2):
                    raise err("'range' must be two numbers: [low, high]", "range")
                lo, hi = (_number(err, "range", v) for v in rng)
                if not lo < hi:
                    raise err(f"range low ({lo:g}) must be less than high ({hi:g})", "range")
                conf = _number(err, "confidence", t.get("confidence", DEFAULT_CONFIDENCE))
                if not 0 < conf < 1:
                    raise err(f"confidence must be between 0 and 1 (0.9 means 90% sure), got {conf:g}",
                              "confidence")
                tail = round((1 - conf) / 2, 12)  # 0.05, not 0.04999...
                quantiles = {tail: lo, 1 - tail: hi}
            elif "confidence" in t:
                raise err("'confidence' goes with 'range'", "confidence")
            probs = sorted(quantiles)
            qs = [quantiles[p] for p in probs]
            key = "range" if "range" in t else f"p{round(probs[0] * 100):02d}"
            try:
                fit_result = fit(probs, qs, family, bounds)
            except PriorsError as exc:
                raise err(exc.message, "family" if "family" in t else key, hint=exc.hint) from exc
            fam = fit_result.family
            stated = dict(zip(probs, qs))
    except PriorsError as exc:
        if exc.file is not None:
            raise
        raise err(exc.message, hint=exc.hint) from exc

    return fam, stated, fit_result


def _check_reach(fam: Family, spec, err) -> None:
    """A family the model can compute with, inside what the model accepts for its input."""
    name = spec.name
    lo, hi = fam.support()
    if math.isfinite(lo) and math.isfinite(hi):
        ends = np.array([lo, hi])
    else:
        with np.errstate(all="ignore"):
            ends = np.asarray(fam.ppf(np.array([2.0 ** -53, 1 - 2.0 ** -53])), dtype=float)
    if not np.all(np.isfinite(ends)) or np.max(np.abs(ends)) > HUGE:
        raise err(f"{fam.describe()} reaches values too large to compute with "
                  f"(beyond {HUGE:.0e} in its far tails)",
                  hint=f"state {name} in a smaller unit, or narrow its range")
    if _mass_outside(fam, spec.lower, spec.upper) > OUTSIDE_MASS:
        span = f"[{spec.lower:g}, {spec.upper:g}]"
        lo, hi = fam.support()
        raise err(f"{fam.describe()} puts {100 * _mass_outside(fam, spec.lower, spec.upper):.2g}% "
                  f"of its draws outside what the model accepts for {name}, {span} ({spec.unit})",
                  hint="choose a family bounded to that range (beta with lower/upper, truncnormal)")


PERCENT_UNITS = ("percent", "%", "pct", "percentage")


def _check_percent(spec, t: dict, quantiles: dict, err) -> None:
    """A share written in percent (the commonest slip): say what it should read."""
    if not (spec.unit == "fraction" or (spec.lower >= 0 and spec.upper <= 1)):
        return
    numbers = {}
    if isinstance(t.get("range"), list) and all(isinstance(v, (int, float)) for v in t["range"]):
        numbers["range"] = list(t["range"])
    elif quantiles:
        numbers.update({_qkey(p): v for p, v in sorted(quantiles.items())})
    elif isinstance(t.get("value"), (int, float)) and not isinstance(t.get("value"), bool):
        numbers["value"] = t["value"]
    flat = [v for v in numbers.values() for v in (v if isinstance(v, list) else [v])]
    in_percent = bool(flat) and all(1 < v <= 100 for v in flat)
    if not (in_percent or str(t.get("unit", "")).strip().lower() in PERCENT_UNITS):
        return
    percent_unit = str(t.get("unit", "")).strip().lower() in PERCENT_UNITS
    if not in_percent:
        fix, unit = 'unit = "fraction"', ""
    elif "range" in numbers:
        fix = f"range = [{numbers['range'][0] / 100:.2f}, {numbers['range'][1] / 100:.2f}]"
    else:
        fix = ", ".join(f"{k} = {v / 100:.4g}" for k, v in numbers.items())
    unit = ' and unit = "fraction"' if percent_unit and in_percent else ""
    key = next(iter(numbers), None) if in_percent else ("unit" if "unit" in t else None)
    raise err(f"{spec.name} is a fraction between 0 and 1, not a percentage", key, hint=f"did you mean {fix}{unit}?")


def _mass_outside(fam: Family, lower: float, upper: float) -> float:
    lo, hi = fam.support()
    if lo >= lower and hi <= upper:
        return 0.0
    if fam.name in ("beta", "pert"):  # SciPy's incomplete beta: kept in riskmc.numeric.cache
        from ..numeric import cache
        k = cache.key("outside", fam.name, sorted(fam.values.items()), lower, upper)
        hit = cache.load_json("implied", k)
        if hit is not None and isinstance(hit.get("mass"), float):
            return hit["mass"]
    below = float(fam.cdf(np.array(lower))) if lo < lower else 0.0
    above = 1.0 - float(fam.cdf(np.array(upper))) if hi > upper else 0.0
    if fam.name in ("beta", "pert"):
        cache.save_json("implied", k, {"mass": below + above})
    return below + above


# --------------------------------------------------------------------------- claims
def _build_claim(name: str, t: dict, w: _Where, outputs: set[str], model_years: tuple[int, ...] | None,
                 model=None) -> Claim:
    path = ("claims", name)

    def err(message, key=None, hint=None):
        return w.error(f"claim '{name}': {message}", *path, *((key,) if key else ()), hint=hint)

    if not isinstance(t, dict):
        raise err("must be a table")
    for key in t:
        if key not in CLAIM_KEYS:
            raise err(f"unknown key '{key}'", key, hint=_did_you_mean(key, CLAIM_KEYS))
    if "event" in t:
        from ..model.events import EventError, resolve
        others = [k for k in t if k not in ("event", "text")]
        if others:
            raise err(f"give the event one way: event = \"...\", or output with a condition, not both "
                      f"('{others[0]}')", others[0])
        if not isinstance(t["event"], str):
            raise err("'event' must be text in quotes, e.g. event = \"nvidia_share[2030] < 0.5\"", "event")
        try:
            ev = resolve(t["event"], model)
        except EventError as exc:
            raise err(exc.message, "event", hint=exc.hint) from None
        text = t.get("text", "")
        if not isinstance(text, str):
            raise err("'text' must be text", "text")
        return Claim(name=name, text=text, output="", years=(), event=ev)
    out = t.get("output")
    if not isinstance(out, str):
        raise err("'output' must name one output in quotes", "output",
                  hint=f"one of: {', '.join(sorted(outputs))}")
    if out not in outputs:
        raise err(f"unknown output '{out}'", "output", hint=_did_you_mean(str(out), outputs))
    if model_years is None:
        if "year" in t or "years" in t:
            raise err("this model has no years: drop 'year' and 'years'", "year" if "year" in t else "years")
        years = ()
    elif ("year" in t) == ("years" in t):
        raise err("give exactly one of 'year' or 'years'")
    elif "year" in t:
        if isinstance(t["year"], bool) or not isinstance(t["year"], int):
            raise err("'year' must be one year, e.g. year = 2030", "year")
        years = (t["year"],)
    else:
        if not isinstance(t["years"], list) or not t["years"]:
            raise err("'years' must be a list of years, e.g. years = [2025, 2026, 2027]", "years")
        years = tuple(t["years"])
    if years and any(isinstance(y, bool) or not isinstance(y, int) or y not in model_years for y in years):
        raise err(f"years must lie in {model_years[0]}-{model_years[-1]}", "year" if "year" in t else "years")
    if len(set(years)) != len(years):
        raise err("'years' names a year twice", "years")
    kinds = [k for k in ("above", "below", "between", "rises") if k in t]
    if len(kinds) != 1 or (kinds == ["above", "below"]):
        raise err("give exactly one condition: above, below, between or rises")
    above = below = None
    rises = False
    if "between" in t:
        b = t["between"]
        if not (isinstance(b, list) and len(b) == 2):
            raise err("'between' must be [low, high]", "between")
        above, below = (_number(err, "between", v) for v in b)
        if not above < below:
            raise err("'between' low must be less than high", "between")
    elif "above" in t:
        above = _number(err, "above", t["above"])
    elif "below" in t:
        below = _number(err, "below", t["below"])
    else:
        rises = t["rises"] is True
        if not rises:
            raise err("'rises' must be true", "rises")
        if len(years) < 2:
            raise err("'rises' needs two or more years", "years")
    text = t.get("text", "")
    if not isinstance(text, str):
        raise err("'text' must be text", "text")
    return Claim(name=name, text=text, output=out, years=tuple(sorted(years)),
                 above=above, below=below, rises=rises)
