"""The per-chunk weighted reduction, for runs with evidence: what a chunk adds to the
importance-sampling posterior (riskmc.inference.weighted finishes it).

Every draw's weight is its likelihood, exp(loglik) <= 1 (riskmc.kernel.likelihood). A chunk
adds weighted sums, weighted histograms (of w and w^2, on the posterior's own bins) and
weighted claim hits, exactly as the prior's reduction adds counts; it also keeps its
largest weights with the draws that carry them, for Pareto smoothing at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..numeric.fused_weighted import coarse_mass, reduce_weighted, weights
from .reduce import Binning

# The posterior's histograms: fewer bins than the prior's (2^13), over the posterior's own
# range, so each variable's (w, w^2) bins fit a core's L1 cache while the scatter runs.
WBINS = 2 ** 11


def tail_length(draws: int) -> int:
    """How many of the largest weights are Pareto-smoothed: 3 sqrt(S), or S / 5 in a small
    run (Vehtari et al. 2024)."""
    return int(math.floor(3 * math.sqrt(draws))) if draws > 225 else draws // 5


def posterior_binning(prior: Binning, x: np.ndarray, w: np.ndarray) -> Binning:
    """Bins for the weighted histograms, from the pilot's draws x (V, n) and weights w:
    the range holding the weighted 0.5%-99.5% (read off 1,024 coarse bins of the prior's
    range, one pass), tripled, inside the prior's range. Too few effective pilot draws
    to tell (under 100): the prior's range."""
    top = prior.lo + prior.width * prior.bins
    total = w.sum()
    sq = (w * w).sum()
    ess = total * total / sq if sq > 0 else 0.0
    if ess < 100:
        return replace(prior, width=prior.width * prior.bins / WBINS, bins=WBINS, weighted=None)
    v = x.shape[0]
    coarse = 1024
    step = (top - prior.lo) / coarse
    mass = np.zeros((v, coarse))
    coarse_mass(np.ascontiguousarray(x), np.ascontiguousarray(w, dtype=float), prior.lo, step, mass)
    cum = np.cumsum(mass, axis=1) / total
    first = np.argmax(cum > 0.005, axis=1)            # the bin holding the 0.5% point
    last = np.argmax(cum >= 0.995, axis=1)            # and the 99.5% point
    qlo = prior.lo + first * step
    qhi = prior.lo + (last + 1) * step
    span = qhi - qlo
    lo = np.maximum(qlo - span, prior.lo)
    hi = np.minimum(qhi + span, top)
    return replace(prior, lo=lo, width=(hi - lo) / WBINS, center=(x @ w) / total, bins=WBINS, weighted=None)


class Tail:
    """The `size` largest log-weights seen, their draws' indices and inputs (inputs x k);
    ties go to the earlier draw, so the set never depends on the order chunks arrive in.
    Inputs, not outputs: the run re-evaluates the model on the few it finally smooths,
    instead of copying every candidate's outputs as it goes."""

    def __init__(self, size: int, d: int) -> None:
        self.size = size
        self.ll = np.empty(0)
        self.index = np.empty(0, dtype=np.int64)
        self.inputs = np.empty((d, 0))

    def take(self, ll: np.ndarray, first: int, inputs: np.ndarray) -> None:
        """A whole chunk's log-weights (draws first, first + 1, ...) and inputs block."""
        if not self.size:
            return
        keep = np.flatnonzero(ll > -np.inf)
        if len(keep) > self.size:
            keep = keep[_top(ll[keep], keep, self.size)]
        self._set(np.concatenate([self.ll, ll[keep]]), np.concatenate([self.index, first + keep]),
                  np.concatenate([self.inputs, inputs[:, keep]], axis=1))

    def merge(self, other: Tail) -> None:
        if len(other.ll):
            self._set(np.concatenate([self.ll, other.ll]), np.concatenate([self.index, other.index]),
                      np.concatenate([self.inputs, other.inputs], axis=1))

    def _set(self, ll, index, inputs) -> None:
        if len(ll) > self.size:
            keep = _top(ll, index, self.size)
            ll, index, inputs = ll[keep], index[keep], inputs[:, keep]
        self.ll, self.index, self.inputs = ll, index, inputs

    def order(self) -> np.ndarray:
        """Positions from the smallest weight to the largest (ties: the later draw first)."""
        return np.lexsort((-self.index, self.ll))


def _top(ll: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest ll, ties broken towards the smaller index, in position order."""
    n = len(ll)
    cut = np.partition(ll, n - k)[n - k]
    above = np.flatnonzero(ll > cut)
    tied = np.flatnonzero(ll == cut)
    tied = tied[np.argsort(index[tied], kind="stable")[:k - len(above)]]
    return np.sort(np.concatenate([above, tied]))


@dataclass
class WeightedSums:
    """A chunk's (or a run's) weighted reduction: additive, merged in chunk order."""

    v: int
    c: int
    atoms: int
    tail_size: int
    d: int = 0                       # inputs per draw (the tail keeps them)
    w: float = 0.0                   # sum of weights
    w2: float = 0.0                  # sum of squared weights
    sums: np.ndarray = None          # (6, V): see _weighted.reduce_weighted
    hist: np.ndarray = None          # (V, WBINS + 2, 2): w and w^2 per bin
    atom_w: np.ndarray = None        # (A, 2)
    hits: np.ndarray = None          # (C, 2): w and w^2 of the draws where each claim holds
    carrying: int = 0                # draws with a weight above 0
    tail: Tail = field(default=None)

    def __post_init__(self):
        self.sums = np.zeros((6, self.v))
        self.atom_w = np.zeros((self.atoms, 2))
        self.hits = np.zeros((self.c, 2))
        self.tail = Tail(self.tail_size, self.d)
        self._ll: list[np.ndarray] = []

    def add(self, x: np.ndarray, ll: np.ndarray, first: int, b: Binning, hist: np.ndarray,
            claims=None) -> None:
        """Add a sub-block x (V, m) whose draws (first, first + 1, ...) have log-weights ll;
        the histogram goes into `hist` (a batch's, like the prior's counts)."""
        w = np.empty_like(ll)
        w2 = np.empty_like(ll)
        s, s2 = weights(ll, w, w2)
        self.w += s
        self.w2 += s2
        self.carrying += int(np.count_nonzero(w))
        reduce_weighted(x, w, w2, b.lo, b.inv_width, b.center, b.bins, b.atom_var, b.atom_val,
                        hist, self.sums, self.atom_w, np.empty(x.shape[1], dtype=np.int64))
        if claims is not None and self.c:
            claims.weighted(x, w, w2, self.hits)
        self._ll.append(ll.copy())

    def close(self, first: int, inputs: np.ndarray) -> None:
        """End of a chunk whose draws start at `first`: keep its largest weights' inputs."""
        if self._ll:
            self.tail.take(np.concatenate(self._ll), first, inputs)
            self._ll = []

    def merge(self, other: WeightedSums) -> None:
        self.w += other.w
        self.w2 += other.w2
        self.sums += other.sums
        self.atom_w += other.atom_w
        self.hits += other.hits
        self.carrying += other.carrying
        self.tail.merge(other.tail)


def tail_capacity(draws: int) -> int:
    """Weights a run keeps to smooth at the end: the tail of its largest plan, and its cut-off."""
    return tail_length(draws) + 1


