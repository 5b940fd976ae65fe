"""The samplers: plain Monte Carlo, Latin hypercube and scrambled Sobol, one object each.

A sampler knows everything that differs between them: whether its draws are independent
(then a figure's error comes from the draws themselves; otherwise from the spread between
whole chunks, each an independent randomisation: batch means), how large its chunks are
for a run of a given size, the fewest draws it runs, and how it draws a chunk's uniforms.
Every sampler returns a (d, n) array of uniforms in the open interval (0, 1), one
contiguous row per prior; the copula and each prior's inverse CDF turn them into inputs,
so all samplers honour dependence. Nothing heavy is imported until a sampler draws
(`riskmc --help` reads these names).
"""

from __future__ import annotations

import math

# Fixed, not tuned to the worker count: results must not depend on it. A power of two
# so every chunk is a whole Sobol block.
CHUNK_SIZE = 2 ** 14
# LHS and Sobol runs estimate their Monte Carlo error from the spread between chunks,
# each an independent randomisation: at least MIN_REPLICATES of them (so at least
# MIN_REPLICATES * 64 draws). Below SMALL_RUN draws, chunks of MIN_CHUNK draws, 64 or
# more of them: with 32 larger ones a quantile's error bar covered 90-93% instead of 95%
# (a stratified quantile's error has a part, of order n^-3/4, that a few large blocks
# under-represent; make validate holds the coverage).
MIN_REPLICATES = 32
MIN_CHUNK = 32
SMALL_RUN = 8 * 1024
# Keeps inverse CDFs finite: no double is closer to 0 or 1 than a sampler could mean.
_EPS = 2.0 ** -53


class Sampler:
    """One way to draw a chunk's uniforms, and what follows from it."""

    name: str = ""
    iid: bool = True           # draws independent: each figure's error from the draws themselves
    least: int = 1             # the fewest draws a run takes

    def chunk_size(self, draws: int) -> int:
        """Draws per chunk for a run of `draws`: fixed by the draws alone, never by the workers."""
        return CHUNK_SIZE

    def rounded(self, draws: int, chunk_size: int) -> tuple[int, str | None]:
        """The draws a run takes (and a note, when that differs from what was asked)."""
        return draws, None

    def draw(self, n: int, d: int, rng, out=None):
        """n points in the d-dimensional unit cube as (d, n), from `rng` alone; `out`, a
        C-contiguous (d, n) buffer, is filled where the sampler can (the same numbers)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"Sampler({self.name!r})"


class MonteCarlo(Sampler):
    """Independent uniforms: plain Monte Carlo."""

    name = "mc"

    def draw(self, n, d, rng, out=None):
        import numpy as np
        u = rng.random((d, n)) if out is None else rng.random(out=out)
        # Random points can be exactly 0 (never 1): keep inverse CDFs finite.
        np.maximum(u, _EPS, out=u)
        return u


class _Blocked(Sampler):
    """A stratified sampler: each chunk one independent randomisation, errors by batch means."""

    iid = False
    least = MIN_REPLICATES * 64

    def chunk_size(self, draws):
        """MIN_CHUNK in a run under SMALL_RUN draws, else the largest power of two that
        still gives MIN_REPLICATES chunks, at most CHUNK_SIZE."""
        if draws < SMALL_RUN:
            return MIN_CHUNK
        return min(CHUNK_SIZE, 2 ** int(math.floor(math.log2(draws / MIN_REPLICATES))))

    def _finish(self, u):
        import numpy as np
        u = np.ascontiguousarray(u.T)
        np.maximum(u, _EPS, out=u)
        return u


class LatinHypercube(_Blocked):
    """Latin hypercube: each input's range cut into n strata, one draw in each."""

    name = "lhs"

    def draw(self, n, d, rng, out=None):
        from scipy.stats import qmc
        return self._finish(qmc.LatinHypercube(d, rng=rng).random(n))


class Sobol(_Blocked):
    """Scrambled Sobol points: chunks are whole blocks of a power of two."""

    name = "sobol"

    def rounded(self, draws, chunk_size):
        if not draws % chunk_size:
            return draws, None
        up = math.ceil(draws / chunk_size) * chunk_size
        return up, f"sobol needs whole blocks of {chunk_size} draws: ran {up} draws instead of {draws}"

    def draw(self, n, d, rng, out=None):
        if n & (n - 1):
            from ..errors import SamplingError
            raise SamplingError(f"a Sobol chunk needs a power-of-two size, got {n}")
        from scipy.stats import qmc
        return self._finish(qmc.Sobol(d, scramble=True, rng=rng).random_base2(int(math.log2(n))))


SAMPLERS: dict[str, Sampler] = {s.name: s for s in (MonteCarlo(), LatinHypercube(), Sobol())}


def sampler(name: str) -> Sampler:
    """The sampler of that name (names are checked once, in riskmc.settings)."""
    try:
        return SAMPLERS[name]
    except KeyError:
        from ..errors import SamplingError
        raise SamplingError(f"unknown sampler '{name}'", hint=f"use one of {', '.join(SAMPLERS)}") from None
