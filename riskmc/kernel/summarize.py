"""Summaries of an in-memory array, through the same reductions a run uses.

For notebooks and tests: `summarize(x, chunk_sizes, sampler)` gives what summary.json
gives for one variable, so known-answer tests exercise the real streaming path.
"""

from __future__ import annotations

import numpy as np

from ..numeric.samplers import SAMPLERS
from ..results import Estimate, Stats
from .finalize import finalize
from .reduce import BINS, PROBS, STATS, Binning, ChunkReduction, Totals, merge, reduce_chunk

__all__ = ["PROBS", "STATS", "probability", "summarize"]


def _reduce(x: np.ndarray, chunk_sizes: list[int], sampler: str, hits=None) -> tuple[Totals, Binning]:
    parts = np.split(np.asarray(x, dtype=float), np.cumsum(chunk_sizes)[:-1])
    b = Binning.from_pilot(parts[0][None, :])
    t = Totals(1, c=0 if hits is None else 1, batch_means=not SAMPLERS[sampler].iid)
    for i, part in enumerate(parts):
        hist = np.zeros((1, BINS + 2), dtype=np.int64)
        h = np.array([int(hits[i])]) if hits is not None else np.zeros(0, dtype=np.int64)
        r: ChunkReduction = reduce_chunk(part[None, :], b, hist, h, batch_means=not SAMPLERS[sampler].iid)
        t.hist += hist
        merge(t, r)
    return t, b


def summarize(x: np.ndarray, chunk_sizes: list[int], sampler: str) -> Stats:
    """Mean, sd and quantiles of one variable, each a value and its MCSE."""
    t, b = _reduce(x, chunk_sizes, sampler)
    return finalize(t, b, sampler, ["x"])[0]["x"]


def probability(hit: np.ndarray, chunk_sizes: list[int], sampler: str) -> Estimate:
    """The probability of an event (boolean per draw) with its MCSE."""
    from .finalize import probabilities
    hit = np.asarray(hit, dtype=bool)
    counts = [int(c.sum()) for c in np.split(hit, np.cumsum(chunk_sizes)[:-1])]
    t, _ = _reduce(hit.astype(float), chunk_sizes, sampler, hits=counts)
    return probabilities(t, sampler)[0]
