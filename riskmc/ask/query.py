"""Ask a finished run: an event's probability, what else holds given a condition, and the
least change of beliefs that makes a stress hold, without a new run.

A run is reproducible from its seed, so its draws need not have been saved: `ask`
re-simulates them chunk by chunk (each chunk from its own stream, as the run did), after
checking that the priors files and the model are the ones the run used, and reduces each
chunk to a few sums and histograms. Saved draws (draws.parquet) are read instead. Memory
stays bounded, the work runs on every worker, and the answer is the same for any number
of them.

Reverse stress is exponential tilting, the reweighting of the run's draws closest to them
in Kullback-Leibler divergence that makes the stress hold: for P(A) = q, draws in A
weigh q / P(A) and the others (1 - q) / (1 - P(A)); for mean(y) = x, weights exp(lambda y)
with lambda solved from the draws (binned finely in y).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OutputError, PriorsError, SamplingError
from ..kernel.finalize import _cdf_points, _quantile
from ..kernel.reduce import PROBS, Binning
from ..model.events import Cmp, Event, EventError, Trend, Var, resolve

# Fewer draws than this meeting a condition give no conditional answer.
MIN_GIVEN = 100
Y_BINS = 2048
Q_BINS = 2 ** 12


@dataclass(frozen=True)
class Stress:
    """A stress to impose: P(event) = q, or mean(row) = x."""

    kind: str                   # "probability" or "mean"
    value: float
    event: Event | None = None
    row: int | None = None
    label: str = ""

    @property
    def text(self) -> str:
        return f"P({self.event.text}) = {self.value:g}" if self.kind == "probability" else \
            f"mean({self.label}) = {self.value:g}"


_STRESS = re.compile(r"^\s*(?:(P)\s*\((?P<event>.*)\)|mean\s*\(\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)\s*\))"
                     r"\s*=\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_stress(text: str, model) -> Stress:
    """`P(EVENT) = q` or `mean(output[year]) = x` (or `mean(input) = x`)."""
    m = _STRESS.match(text or "")
    if not m:
        raise EventError(f"a stress reads P(EVENT) = q or mean(output[year]) = x, not \"{text}\"",
                         hint='e.g. --stress "P(amazon_eps_upside[2027] > 0) = 0.2"')
    value = float(m.group("value"))
    if m.group("event") is not None:
        if not 0 < value < 1:
            raise EventError(f"a stressed probability must lie strictly between 0 and 1, got {value:g}")
        return Stress("probability", value, event=resolve(m.group("event"), model))
    var = m.group("var")
    ev = resolve(f"{var} > 0", model)   # resolves the name and year, with did-you-mean
    return Stress("mean", value, row=ev.rows[0], label=var)


def claim_event(claim, model) -> Event:
    """A priors file's claim as an event over the model's rows."""
    if claim.event is not None:
        return claim.event
    from ..model.events import BoolOp
    if claim.rises:
        tree = Trend(claim.output, claim.years[0], claim.years[-1], True)
    else:
        years = claim.years or (None,)
        parts = []
        for y in years:
            v = Var(claim.output, y)
            if claim.above is not None:
                parts.append(Cmp(v, ">", claim.above))
            if claim.below is not None:
                parts.append(Cmp(v, "<", claim.below))
        tree = parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))
    ev = resolve(tree.text(), model)
    return Event(tree, ev.rows, ev.uses_inputs, ev._pairs)


# ---------------------------------------------------------------------------- the run again
def verify_sources(summary: dict, folder: Path) -> None:
    """Refuse when the priors files or the model differ from those the run used."""
    for f in summary["priors_files"]:
        p = Path(f["path"])
        try:
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            raise PriorsError(f"the run's priors file {p} is gone: its draws cannot be re-created",
                              file=folder, hint="run it again, or ask from the folder where it ran") from None
        if sha != f["sha256"]:
            raise PriorsError(f"{p} changed since this run (its SHA-256 differs from summary.json's): the run's "
                              "draws cannot be re-created", file=folder,
                              hint="run again and ask the new run, or restore the file")


@dataclass
class Reduction:
    """One chunk's (or the run's) answer-making sums: additive, merged in chunk order."""

    n: int = 0
    groups: dict = field(default_factory=dict)     # name -> {"n", "sums" (2, T), "hist" (T, B+2), "claims" (C,)}
    per_chunk: list = field(default_factory=list)  # (n, {group: n_g}, {group: claims}) per chunk: batch means
    tilt: dict | None = None                       # y-binned sums for a mean stress

    def merge(self, other: Reduction) -> None:
        self.n += other.n
        for g, v in other.groups.items():
            if g not in self.groups:
                self.groups[g] = {k: np.array(x, copy=True) if isinstance(x, np.ndarray) else x for k, x in v.items()}
                continue
            mine = self.groups[g]
            for k in v:
                if k == "min":
                    mine[k] = np.minimum(mine[k], v[k])
                elif k == "max":
                    mine[k] = np.maximum(mine[k], v[k])
                else:
                    mine[k] = mine[k] + v[k]
        self.per_chunk += other.per_chunk
        if other.tilt is not None:
            if self.tilt is None:
                self.tilt = {k: v.copy() for k, v in other.tilt.items()}
            else:
                for k in other.tilt:
                    self.tilt[k] += other.tilt[k]


class Asker:
    """What a question needs from each chunk: its masks, tracked rows and claims."""

    def __init__(self, model, claims: list, track: list[int], binning: Binning, *, event=None, given=None,
                 stress: Stress | None = None, y_edges=None):
        self.model = model
        self.claims = claims            # [(name, Event)]
        self.track = np.asarray(track, dtype=np.intp)
        self.b = binning                # bins of the tracked rows
        self.event, self.given, self.stress = event, given, stress
        self.y_edges = y_edges

    def reduce(self, rows: np.ndarray) -> Reduction:
        x = rows[self.track]
        n = rows.shape[1]
        masks = {"all": None}
        if self.given is not None:
            masks["given"] = self.given.mask(rows)
        if self.event is not None:
            a = self.event.mask(rows)
            masks["event"] = a
            if self.given is not None:
                masks["event_given"] = a & masks["given"]
        if self.stress is not None and self.stress.kind == "probability":
            masks["stress"] = self.stress.event.mask(rows)
        cm = np.stack([e.mask(rows) for _, e in self.claims]) if self.claims else np.zeros((0, n), dtype=bool)
        red = Reduction(n=n)
        counts = {}
        b = self.b
        for g, m in masks.items():
            sub = x if m is None else x[:, m]
            k = sub.shape[1]
            d = sub - b.center[:, None]
            hist = _histogram(sub, b)
            # Draws exactly at each atom (a 0/1 input's values, a constant), and the exact
            # range: a quantile that falls on an atom is that value, never beyond the range.
            atoms = np.array([np.count_nonzero(sub[j] == a) for j, a in zip(b.atom_var, b.atom_val)], dtype=np.int64)
            red.groups[g] = {"n": k, "sums": np.stack([d.sum(axis=1), (d * d).sum(axis=1)]), "hist": hist,
                             "claims": cm.sum(axis=1) if m is None else cm[:, m].sum(axis=1), "atoms": atoms,
                             "min": sub.min(axis=1) if k else np.full(len(sub), np.inf),
                             "max": sub.max(axis=1) if k else np.full(len(sub), -np.inf)}
            counts[g] = k
        red.per_chunk.append((n, counts, {g: red.groups[g]["claims"].copy() for g in masks}))
        if self.stress is not None and self.stress.kind == "mean":
            y = rows[self.stress.row]
            k = np.clip(np.searchsorted(self.y_edges, y, side="right") - 1, 0, len(self.y_edges) - 2)
            nb = len(self.y_edges) - 1
            red.tilt = {"n": np.bincount(k, minlength=nb).astype(float),
                        "y": np.bincount(k, weights=y, minlength=nb),
                        "x": np.stack([np.bincount(k, weights=r, minlength=nb) for r in x]),
                        "x2": np.stack([np.bincount(k, weights=r * r, minlength=nb) for r in x]),
                        "claims": np.stack([np.bincount(k, weights=c.astype(float), minlength=nb) for c in cm])
                        if len(cm) else np.zeros((0, nb))}
        return red


def _histogram(x: np.ndarray, b: Binning) -> np.ndarray:
    """Counts of each tracked row in the bins (under- and overflow at the ends)."""
    v, n = x.shape
    out = np.zeros((v, b.bins + 2), dtype=np.int64)
    if n == 0:
        return out
    k = np.floor((x - b.lo[:, None]) * b.inv_width[:, None])
    k = np.clip(np.nan_to_num(k, nan=-1.0), -1, b.bins).astype(np.int64) + 1
    flat = (k + (b.bins + 2) * np.arange(v)[:, None]).ravel()
    return np.bincount(flat, minlength=v * (b.bins + 2)).reshape(v, b.bins + 2)


def simulate(summary: dict, folder: Path, asker_for, workers: int) -> tuple[Reduction, object]:
    """Re-create the run's draws chunk by chunk (or read its saved draws) and reduce them.

    `asker_for(kernel, first_rows)` builds the Asker from the first chunk's rows (which fix
    the bins); returns the merged Reduction and the kernel.
    """
    from ..kernel.engine import Kernel, Plan, check_workers, map_chunks
    from ..kernel.streams import handle_seed
    from ..loading import load
    verify_sources(summary, folder)
    ps = load(summary["priors_files"][0]["path"], scenario=summary["scenario"], allow_unused=True)
    m = ps.model
    if summary["model"].get("sha256") and m.sha256 != summary["model"]["sha256"]:
        raise PriorsError(f"model '{m.name}' changed since this run (its SHA-256 differs from summary.json's): "
                          "the run's draws cannot be re-created", file=folder,
                          hint="run again and ask the new run, or restore the model file")
    p = Plan(summary["draws"], summary["chunk_size"], summary["sampler"])
    kernel = Kernel(ps, m, handle_seed(summary["seed"]), p, None, None, inputs_rows=True)
    workers = check_workers(workers)
    saved = _saved_rows(summary, folder, m) if (folder / "draws.parquet").exists() else None

    def rows_of(i: int) -> np.ndarray:
        if saved is not None:
            a = i * p.chunk_size
            return saved[:, a:a + p.size(i)]
        return kernel.finite_chunk(i, scratch=True).rows

    asker = asker_for(kernel, np.array(rows_of(0), copy=True))
    total = Reduction()
    for red in map_chunks(lambda i: asker.reduce(rows_of(i)), range(p.n_chunks), workers):
        total.merge(red)
    return total, kernel


def _saved_rows(summary: dict, folder: Path, model) -> np.ndarray:
    """draws.parquet as the kernel's rows (outputs by year, then inputs)."""
    from ..store.io import output_column, read_draws
    frame = read_draws(folder, summary)
    cols = [output_column(o, y) for o in model.output_names for y in (model.years or [None])]
    cols += list(model.input_names)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise OutputError(f"draws.parquet lacks the column {missing[0]}", file=folder,
                          hint="re-run the command that wrote it")
    return np.vstack([frame[c].to_numpy() for c in cols])


# ---------------------------------------------------------------------------- answers
def _prob(h: float, n: float) -> dict:
    """A proportion and its MCSE (the sd of Beta(h + 1, n - h + 1), as runs report claims)."""
    a, b = h + 1.0, n - h + 1.0
    return {"value": h / n if n else float("nan"), "mcse": math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))}


def _batch_prob(per_chunk, group: str, num, full: int) -> dict:
    """A ratio's batch-means MCSE over whole chunks (LHS and Sobol: chunks are the replicates)."""
    vals = [num(c) / c[1][group] for c in per_chunk if c[0] == full and c[1][group] > 0]
    tot_n = sum(c[1][group] for c in per_chunk)
    est = sum(num(c) for c in per_chunk) / tot_n
    se = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else float("nan")
    return {"value": est, "mcse": max(se, 1.0 / (full * math.sqrt(6.0 * len(per_chunk))))}


def _view(g: dict, b: Binning):
    class V:
        pass
    v = V()
    v.hist, v.atoms, v.n = g["hist"], g.get("atoms"), g["n"]
    return v


def _group_stats(g: dict, b: Binning, j: int, vmin, vmax) -> dict:
    """Mean, sd and quantiles of tracked row j in a group, with MCSE (order-statistic bands).
    A row that is one value in the group (a constant) is that value, with no error."""
    from ..kernel.finalize import _one_sigma_band
    n = g["n"]
    if "min" in g:
        vmin, vmax = g["min"], g["max"]
    if vmin[j] == vmax[j]:
        return _constant(vmin[j])
    m1 = g["sums"][0, j] / n
    var = max(g["sums"][1, j] / n - m1 * m1, 0.0)
    sd = math.sqrt(var * n / max(n - 1, 1))
    edges, cum = _cdf_points(_view(g, b), b, j)
    out = {"mean": {"value": float(b.center[j] + m1), "mcse": sd / math.sqrt(n)},
           "sd": {"value": sd, "mcse": sd / math.sqrt(2 * max(n - 1, 1))}}
    for key, p in PROBS.items():
        q = _quantile(edges, cum, p, vmin[j], vmax[j])
        lo, hi = _one_sigma_band(n, p)
        out[key] = {"value": q, "mcse": (_quantile(edges, cum, hi, vmin[j], vmax[j])
                                         - _quantile(edges, cum, lo, vmin[j], vmax[j])) / 2}
    return out


def _constant(c: float) -> dict:
    """The statistics of a value that does not vary: itself, exactly, with no error."""
    return {k: {"value": float(c) if k != "sd" else 0.0, "mcse": 0.0} for k in ("mean", "sd", *PROBS)}


def track_rows(model) -> tuple[list[int], list[str], list[str]]:
    """Rows a question reports on: every input, then each headline output in the last year."""
    t = model.width
    n_out = len(model.outputs) * t
    rows, labels, units = [], [], []
    for j, i in enumerate(model.inputs):
        rows.append(n_out + j)
        labels.append(i.name)
        units.append(i.unit)
    for k, o in enumerate(model.outputs):
        if o.headline:
            rows.append(k * t + t - 1)
            labels.append(o.name if model.years is None else f"{o.name}[{model.years[-1]}]")
            units.append(o.unit)
    return rows, labels, units


def ask(folder: str | Path, event: str | None = None, *, given: str | None = None, stress: str | None = None,
        workers: int | None = None) -> dict:
    """Answer questions of a finished run (JSON-ready): P(event); with `given`, the
    conditional probability and what else holds; with `stress`, the least reweighting of
    the draws that makes it hold and which beliefs it moves."""
    from ..store.io import read_summary
    folder = Path(folder)
    summary = read_summary(folder)
    if "evidence" in summary:
        raise SamplingError("asking a run with evidence is not supported yet: its answers would need the "
                            "posterior's weights", hint="ask a run of the same priors without evidence")
    if event is None and given is None and stress is None:
        raise SamplingError("ask for something: an EVENT, --given EVENT or --stress")
    state = {}

    def asker_for(kernel, first_rows):
        m = kernel.model
        ev = resolve(event, m) if event else None
        gv = resolve(given, m) if given else None
        st = parse_stress(stress, m) if stress else None
        claims = [(n, claim_event(c, m)) for n, c in kernel.priors.claims.items()]
        track, labels, units = track_rows(m)
        x = first_rows[track]
        b = Binning.from_pilot(x)
        b = Binning(lo=b.lo, width=b.width * (b.bins / Q_BINS), center=b.center, pilot_q=b.pilot_q,
                    atom_var=b.atom_var, atom_val=b.atom_val, bins=Q_BINS)
        y_edges = None
        if st is not None and st.kind == "mean":
            y = first_rows[st.row]
            lo, hi = np.quantile(y, [0.001, 0.999])
            span = (hi - lo) or max(abs(lo), 1.0) * 1e-9
            y_edges = np.concatenate([[-np.inf], np.linspace(lo - span, hi + span, Y_BINS - 1), [np.inf]])
        state.update(labels=labels, units=units, ev=ev, gv=gv, st=st, b=b, claims=claims)
        return Asker(m, claims, track, b, event=ev, given=gv, stress=st, y_edges=y_edges)

    red, kernel = simulate(summary, folder, asker_for, workers)
    return _answer(summary, red, kernel, state)


def _answer(summary: dict, red: Reduction, kernel, st: dict) -> dict:
    b, labels, units = st["b"], st["labels"], st["units"]
    sampler = summary["sampler"]
    full = summary["chunk_size"]
    g_all = red.groups["all"]
    # The observed range bounds every quantile.
    vmin, vmax = g_all["min"], g_all["max"]

    def prob(group_num, group_den, num):
        if sampler == "mc":
            return _prob(num, red.groups[group_den]["n"] if group_den != "all" else red.n)
        return _batch_prob(red.per_chunk, group_den, group_num, full)

    out = {"run": {"title": summary["title"], "seed": summary["seed"], "draws": summary["draws"],
                   "sampler": sampler, "priors": summary["priors_files"][0]["path"],
                   "scenario": summary["scenario"]}}
    if st["ev"] is not None:
        out["event"] = st["ev"].text
        out["probability"] = prob(lambda c: c[1]["event"], "all", red.groups["event"]["n"])
    claims = st["claims"]
    base = {name: prob(lambda c, k=k: c[2]["all"][k], "all", int(g_all["claims"][k]))
            for k, (name, _) in enumerate(claims)}
    out["claims"] = {name: {"event": e.text, "probability": base[name]} for name, e in claims}
    stats_all = {lab: _group_stats(g_all, b, j, vmin, vmax) for j, lab in enumerate(labels)}
    if st["gv"] is not None:
        g = red.groups["given"]
        n_c = g["n"]
        out["given"] = {"event": st["gv"].text, "draws": n_c,
                        "probability": prob(lambda c: c[1]["given"], "all", n_c)}
        if n_c < MIN_GIVEN:
            need = int(math.ceil(summary["draws"] * MIN_GIVEN / max(n_c, 1) / 10 ** 5) * 10 ** 5)
            raise SamplingError(f"only {n_c:,} of {summary['draws']:,} draws meet \"{st['gv'].text}\": too few "
                                f"for a conditional answer (at least {MIN_GIVEN})",
                                hint=f"run more draws (about {need:,}) and ask that run")
        if st["ev"] is not None:
            out["conditional"] = prob(lambda c: c[1]["event_given"], "given", red.groups["event_given"]["n"])
        for k, (name, _) in enumerate(claims):
            out["claims"][name]["given"] = prob(lambda c, k=k: c[2]["given"][k], "given", int(g["claims"][k]))
        out["moved"] = _moved({lab: _group_stats(g, b, j, vmin, vmax) for j, lab in enumerate(labels)},
                              stats_all, units)
    if st["st"] is not None:
        out["stress"] = _stressed(st["st"], red, b, labels, units, claims, stats_all, vmin, vmax)
    return out


def _moved(cond: dict, base: dict, units: list[str]) -> list[dict]:
    """Each tracked quantity, conditional against unconditional, ranked by the shift of
    its mean in unconditional sds."""
    rows = []
    for (lab, c), unit in zip(cond.items(), units):
        a = base[lab]
        sd = a["sd"]["value"]
        shift = (c["mean"]["value"] - a["mean"]["value"]) / sd if sd > 0 else 0.0
        rows.append({"name": lab, "unit": unit, "shift_sd": shift, "before": a, "after": c})
    rows.sort(key=lambda r: -abs(r["shift_sd"]))
    return rows


def _stressed(s: Stress, red: Reduction, b: Binning, labels, units, claims, stats_all, vmin, vmax) -> dict:
    n = red.n
    if s.kind == "probability":
        gA = red.groups["stress"]
        nA = gA["n"]
        if nA == 0 or nA == n:
            raise SamplingError(f"no draw {'meets' if nA == 0 else 'misses'} \"{s.event.text}\": no reweighting "
                                "of this run's draws can make the stress hold", hint="ask a run with more draws")
        p = nA / n
        wa, wb = s.value / p, (1 - s.value) / (1 - p)
        ess = 1.0 / (s.value ** 2 / nA + (1 - s.value) ** 2 / (n - nA))
        g_all = red.groups["all"]
        notA = {"n": n - nA, "sums": g_all["sums"] - gA["sums"], "hist": g_all["hist"] - gA["hist"],
                "claims": g_all["claims"] - gA["claims"], "atoms": g_all["atoms"] - gA["atoms"]}
        # The stressed distribution: the mixture q (given A) + (1 - q) (given not A).
        after = {}
        for j, lab in enumerate(labels):
            if vmin[j] == vmax[j]:
                after[lab] = _constant(vmin[j])
                continue
            sa, sb = _group_stats(gA, b, j, vmin, vmax), _group_stats(notA, b, j, vmin, vmax)
            hist = (wa * gA["hist"][j] + wb * notA["hist"][j])[None, :]
            mine = b.atom_var == j
            m = {"n": n, "hist": hist, "atoms": wa * gA["atoms"][mine] + wb * notA["atoms"][mine]}
            edges, cum = _cdf_points(_view(m, _one(b, j)), _one(b, j), 0)
            mean = s.value * sa["mean"]["value"] + (1 - s.value) * sb["mean"]["value"]
            ex2 = s.value * (sa["sd"]["value"] ** 2 + sa["mean"]["value"] ** 2) + (1 - s.value) * (
                sb["sd"]["value"] ** 2 + sb["mean"]["value"] ** 2)
            sd = math.sqrt(max(ex2 - mean * mean, 0.0))
            res = {"mean": {"value": mean, "mcse": math.hypot(s.value * sa["mean"]["mcse"],
                                                               (1 - s.value) * sb["mean"]["mcse"])},
                   "sd": {"value": sd, "mcse": sd / math.sqrt(2 * max(ess - 1, 1))}}
            for key, pr in PROBS.items():
                q = _quantile(edges, cum, pr, vmin[j], vmax[j])
                se = math.sqrt(pr * (1 - pr) / ess)
                res[key] = {"value": q, "mcse": (_quantile(edges, cum, min(pr + se, 1), vmin[j], vmax[j])
                                                 - _quantile(edges, cum, max(pr - se, 0), vmin[j], vmax[j])) / 2}
            after[lab] = res
        stressed_claims = {}
        for k, (name, _) in enumerate(claims):
            pa = _prob(int(gA["claims"][k]), nA)
            pb = _prob(int(notA["claims"][k]), n - nA)
            stressed_claims[name] = {"value": s.value * pa["value"] + (1 - s.value) * pb["value"],
                                     "mcse": math.hypot(s.value * pa["mcse"], (1 - s.value) * pb["mcse"])}
        return {"stress": s.text, "from": p, "ess": ess, "weights": [wa, wb],
                "claims": stressed_claims, "moved": _moved(after, stats_all, units)}
    t = red.tilt
    keep = t["n"] > 0
    nb, yb = t["n"][keep], t["y"][keep] / t["n"][keep]
    lo, hi = yb.min(), yb.max()
    if not lo < s.value < hi:
        raise SamplingError(f"no reweighting of this run's draws gives mean({s.label}) = {s.value:g}: its draws "
                            f"range over {lo:.6g} to {hi:.6g}", hint="choose a mean inside that range")
    scale = max(abs(hi - lo), 1e-300)

    def tilted_mean(lam):
        a = lam * (yb - yb.mean()) / scale
        w = nb * np.exp(a - a.max())
        return float(np.sum(w * yb) / np.sum(w)), w

    a_, b_ = -1.0, 1.0
    while tilted_mean(a_)[0] > s.value:
        a_ *= 2
    while tilted_mean(b_)[0] < s.value:
        b_ *= 2
    for _ in range(200):
        mid = 0.5 * (a_ + b_)
        if tilted_mean(mid)[0] < s.value:
            a_ = mid
        else:
            b_ = mid
    lam = 0.5 * (a_ + b_)
    _, w = tilted_mean(lam)
    wb = w / nb                      # the weight of one draw in each bin
    W = float(np.sum(w))
    ess = W * W / float(np.sum(nb * wb * wb))
    after = {}
    for j, lab in enumerate(labels):
        if vmin[j] == vmax[j]:
            after[lab] = {k: v for k, v in _constant(vmin[j]).items() if k in ("mean", "sd")}
            continue
        sx, sx2 = t["x"][j][keep], t["x2"][j][keep]
        mean = float(np.sum(wb * sx) / W)
        sd = math.sqrt(max(float(np.sum(wb * sx2) / W) - mean * mean, 0.0))
        after[lab] = {"mean": {"value": mean, "mcse": sd / math.sqrt(ess)},
                      "sd": {"value": sd, "mcse": sd / math.sqrt(2 * max(ess - 1, 1))}}
    stressed_claims = {}
    for k, (name, _) in enumerate(claims):
        pr = float(np.sum(wb * t["claims"][k][keep]) / W)
        stressed_claims[name] = {"value": pr, "mcse": math.sqrt(max(pr * (1 - pr), 1.0 / ess) / ess)}
    moved = []
    for lab, unit in zip(labels, units):
        a = stats_all[lab]
        sd = a["sd"]["value"]
        moved.append({"name": lab, "unit": unit, "before": a, "after": after[lab],
                      "shift_sd": (after[lab]["mean"]["value"] - a["mean"]["value"]) / sd if sd > 0 else 0.0})
    moved.sort(key=lambda r: -abs(r["shift_sd"]))
    return {"stress": s.text, "from": float(np.sum(nb * yb) / np.sum(nb)), "ess": ess,
            "lambda": lam / scale, "claims": stressed_claims, "moved": moved}


def _one(b: Binning, j: int) -> Binning:
    """Row j's bins (and atoms) alone."""
    mine = b.atom_var == j
    return Binning(lo=b.lo[j:j + 1], width=b.width[j:j + 1], center=b.center[j:j + 1], pilot_q=b.pilot_q[j:j + 1],
                   atom_var=np.zeros(int(mine.sum()), dtype=np.intp), atom_val=b.atom_val[mine], bins=b.bins)
