"""The one place a user's seed is normalised, and where per-chunk streams come from."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import SamplingError

SeedLike = int | np.random.SeedSequence | None


def handle_seed(seed: SeedLike) -> np.random.SeedSequence:
    """Return the root SeedSequence for a run.

    An int (0 included) or a SeedSequence replays exactly; None draws fresh entropy,
    which the run records so it can still be replayed. A Generator is refused: its
    state cannot be recorded in summary.json, so a run made from it could not be repeated.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise SamplingError(f"seed must be a non-negative integer, got {seed}")
        return np.random.SeedSequence(int(seed))
    raise SamplingError(
        f"seed must be a non-negative integer, a numpy SeedSequence or None, got {type(seed).__name__}"
    )


def seed_entropy(root: np.random.SeedSequence) -> int:
    """The integer that replays `root` (the recorded seed of a run)."""
    ent = root.entropy
    if not isinstance(ent, numbers.Integral):
        raise SamplingError("seed sequences with non-integer entropy cannot be recorded")
    return int(ent)


def chunk_stream(root: np.random.SeedSequence, chunk: int) -> np.random.Generator:
    """Generator for chunk `chunk`: the same as child `chunk` of `root.spawn(...)`.

    Built directly from the spawn key, so any worker (thread, process, Dask) can make
    stream i without spawning the i - 1 before it.
    """
    child = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, chunk), pool_size=root.pool_size
    )
    return np.random.Generator(np.random.PCG64(child))
