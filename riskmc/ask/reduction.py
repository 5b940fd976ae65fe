"""What a question needs from each chunk of a run: a few sums and histograms per group of
draws (all, those meeting the condition, the event, ...), additive and merged in chunk
order, so memory stays bounded and the answer is the same on any number of workers.

A weighted run's groups hold weighted sums (each draw's weight and its square, for the
self-normalised estimator's delta-method errors), through the same compiled reduction
the run's own posterior uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernel.reduce import Binning
from ..numeric.fused_weighted import reduce_weighted


@dataclass
class Reduction:
    """One chunk's (or the run's) answer-making sums: additive, merged in chunk order."""

    n: int = 0
    groups: dict = field(default_factory=dict)     # name -> sums, histograms, claims, range (see Asker)
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
                 stress=None, y_edges=None, y_center: float = 0.0):
        self.model = model
        self.claims = claims            # [(name, Event)]
        self.track = np.asarray(track, dtype=np.intp)
        self.b = binning                # bins of the tracked rows
        self.event, self.given, self.stress = event, given, stress
        self.y_edges = y_edges
        self.y_center = y_center        # the stressed output's sums are kept about this

    def masks(self, rows: np.ndarray) -> dict:
        """Each group's draws (None: all of them)."""
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
        return masks

    def reduce(self, rows: np.ndarray, w: np.ndarray | None = None, w2: np.ndarray | None = None,
               tail: np.ndarray | None = None) -> Reduction:
        """The sums of draws `rows` (variables x draws); with weights w (and their squares
        w2), weighted sums. A `tail` (the indices of draws already counted, the
        Pareto-smoothed ones) changes their weights: it adds weight, not draws."""
        if w is not None:
            return self._weighted(rows, w, w2, tail is not None)
        x = rows[self.track]
        n = rows.shape[1]
        masks = self.masks(rows)
        cm = self._claims(rows)
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
            red.tilt = self._tilt(rows, x, cm, np.ones(n), np.ones(n))
        return red

    def _claims(self, rows: np.ndarray) -> np.ndarray:
        n = rows.shape[1]
        return np.stack([e.mask(rows) for _, e in self.claims]) if self.claims else np.zeros((0, n), dtype=bool)

    def _weighted(self, rows, w, w2, correction: bool) -> Reduction:
        x = rows[self.track]
        n = rows.shape[1]
        b = self.b
        cm = self._claims(rows).astype(float)
        red = Reduction(n=0 if correction else n)
        for g, m in self.masks(rows).items():
            sub = np.ascontiguousarray(x if m is None else x[:, m])
            ws = np.ascontiguousarray(w if m is None else w[m])
            ws2 = np.ascontiguousarray(w2 if m is None else w2[m])
            k = sub.shape[1]
            v = len(sub)
            hist = np.zeros((v, b.bins + 2, 2))
            sums = np.zeros((6, v))
            atoms = np.zeros((len(b.atom_var), 2))
            if k:
                reduce_weighted(sub, ws, ws2, b.lo, b.inv_width, b.center, b.bins, b.atom_var, b.atom_val,
                                hist, sums, atoms, np.empty(k, dtype=np.int64))
            c = cm if m is None else cm[:, m]
            keep = ws > 0
            red.groups[g] = {"n": 0 if correction else k, "w": float(ws.sum()), "w2": float(ws2.sum()),
                             "sums": sums, "hist": hist, "atoms": atoms,
                             "claims": np.stack([c @ ws, c @ ws2], axis=1) if len(c) else np.zeros((0, 2)),
                             "min": sub[:, keep].min(axis=1) if keep.any() else np.full(v, np.inf),
                             "max": sub[:, keep].max(axis=1) if keep.any() else np.full(v, -np.inf)}
        if self.stress is not None and self.stress.kind == "mean":
            red.tilt = self._tilt(rows, x, cm, w, w2)
        return red

    def _tilt(self, rows, x, cm, w, w2) -> dict:
        """Sums per bin of the stressed output y, for tilting and for the tilted estimates'
        delta-method errors: weight, squared weight and their products with y, with each
        tracked row (about its centre) and with each claim."""
        y = rows[self.stress.row]
        edges = self.y_edges
        k = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, len(edges) - 2)
        nb = len(edges) - 1
        yc = y - self.y_center

        def binned(v):
            return np.bincount(k, weights=v, minlength=nb)

        def rows_binned(v):  # (R, n) -> (R, nb), one bincount
            if not len(v):
                return np.zeros((0, nb))
            idx = (k + nb * np.arange(len(v))[:, None]).ravel()
            return np.bincount(idx, weights=v.ravel(), minlength=len(v) * nb).reshape(len(v), nb)
        d = x - self.b.center[:, None]
        d2 = d * d
        c = cm.astype(float)
        return {"n": binned(w), "n2": binned(w2), "y": binned(w * y), "yc": binned(w * yc), "ycc": binned(w * yc * yc),
                "n2y": binned(w2 * yc), "n2yy": binned(w2 * yc * yc),
                "x": rows_binned(w * x), "x2": rows_binned(w * x * x),
                "d": rows_binned(w * d), "dd": rows_binned(w * d2), "dy": rows_binned(w * d * yc),
                "ddy": rows_binned(w * d2 * yc),
                "q1": rows_binned(w2 * d), "q2": rows_binned(w2 * d2), "q3": rows_binned(w2 * d2 * d),
                "q4": rows_binned(w2 * d2 * d2), "qy": rows_binned(w2 * d * yc), "q2y": rows_binned(w2 * d2 * yc),
                "claims": rows_binned(w * c), "cy": rows_binned(w * c * yc), "qc": rows_binned(w2 * c),
                "qcy": rows_binned(w2 * c * yc)}


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
