"""Tempered sequential Monte Carlo: the posterior when importance sampling cannot be trusted.

Evidence far in the prior's tail leaves a few prior draws with all the weight (Pareto
k-hat above 0.7). Tempering walks there instead: particles start as prior draws and the
likelihood is switched on in stages, likelihood^beta with beta rising from 0 to 1, each
step as large as keeps half the particles' effective size (Del Moral, Doucet and Jasra
2006). After each reweighting the particles are resampled and moved by Metropolis steps
that leave the tempered posterior unchanged.

The moves work in the priors' copula space: each input is its prior's inverse CDF of
Phi(z) through the copula, with z standard normal, so every model and every prior family
is handled alike. A proposal is drawn independently from a normal fitted to the
particles (independent Metropolis-Hastings, PyMC's default SMC kernel); the acceptance
ratio is the tempered likelihood ratio times the N(0, I) prior ratio times the
proposal's reverse ratio.

Monte Carlo error comes from independent replicates: REPLICATES populations, each with
its own stream, seeds, temperatures and steps; an estimate's MCSE is the spread of the
replicates' estimates over sqrt(REPLICATES). Each replicate is a function of its stream
alone, so the numbers do not depend on the worker count.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _jit, blocks, interrupt
from ._sampling import ndtr1
from .engine import CHUNK_SIZE
from .errors import ModelError, PriorsError

REPLICATES = 32
MAX_STAGES = 100
MOVED = 0.99  # the chance each particle moves at least once per stage

def spread(d: int) -> float:
    """How much wider than the particles a proposal is (variance factor): a resampled
    population is narrower than its target and a proposal as narrow keeps it so; but in
    d dimensions a wider proposal's acceptance falls fast, so less as d grows."""
    return 1.0 + 1.0 / math.sqrt(d)
_EPS = 2.0 ** -53
# A spawn key no chunk of a run uses (chunks use one index; this uses two).
_STREAM = 0x736D63


def particles_per_replicate(draws: int) -> int:
    """Particles in each replicate: a 64th of the run's draws, from 256 to 512 (8,192 to
    16,384 in all). Each costs tens of model evaluations, so the fallback stays within
    seconds; with fewer, the replicates' spread understated their error (checked over
    many seeds in the tests)."""
    return int(min(512, max(256, draws // (2 * REPLICATES))))


@dataclass(frozen=True)
class Stage:
    """One tempering stage, over all replicates still going."""

    index: int
    beta: float          # the smallest temperature reached by any replicate
    ess: float           # mean effective sample size after reweighting, as a share of particles
    acceptance: float    # mean acceptance of the Metropolis moves
    steps: int           # largest number of moves a replicate made
    evaluations: int     # model evaluations so far


class Tempering:
    """The sampler: `stages()` yields a Stage after each; `rows` then holds the posterior
    draws of each replicate (REPLICATES x variables x particles). The replicates advance
    together, as arrays, each with its own stream, temperature, step size and steps."""

    def __init__(self, kernel, root: np.random.SeedSequence, particles: int, workers: int = 1) -> None:
        self.kernel = kernel
        self.n = particles
        self.workers = workers
        self.d = len(kernel.model.inputs)
        self.evaluations = 0
        dep = kernel.priors.dependence
        self.corr_rows = np.asarray(dep.index, dtype=np.intp)
        self.chol = dep.cholesky if dep.cholesky is not None else np.zeros((0, 0))
        self.rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            root.entropy, spawn_key=(*root.spawn_key, _STREAM, r), pool_size=root.pool_size)))
            for r in range(REPLICATES)]
        self.z = np.stack([g.standard_normal((self.d, self.n)) for g in self.rngs])   # (R, d, n)
        self.ll = self._evaluate(self.z)[1]                                           # (R, n)
        self.beta = np.zeros(REPLICATES)
        self.acceptance = np.full(REPLICATES, 0.5)
        self.done = np.zeros(REPLICATES, dtype=bool)
        if not np.isfinite(self.ll).any(axis=1).all():
            e = self._blame()
            raise PriorsError(f"evidence '{e.name}' ({e.describe()}): no prior draw is consistent with it: it "
                              "needs what the prior cannot give", file=e.file, line=e.line,
                              hint="check its values and bounds against the prior predictive ranges in the "
                                   "report of a run without it")

    @property
    def rows(self) -> np.ndarray:
        """Every row (outputs, then inputs) of each replicate's particles, (R, V, n): the
        model once more on the final particles (the moves carry only their likelihoods)."""
        return self._evaluate(self.z, rows=True)[0]

    def stages(self) -> Iterator[Stage]:
        for index in range(MAX_STAGES):
            going = np.flatnonzero(~self.done)
            if not len(going):
                return
            interrupt.check()
            ess = self._reweight(going)
            a = np.clip(self.acceptance[going], 1e-3, 0.99)
            # Metropolis steps so that a particle has moved with 99% chance.
            steps = np.clip(np.ceil(np.log(1 - MOVED) / np.log1p(-a)), 2, 25).astype(int)
            acc = self._move(going, steps)
            self.acceptance[going] = acc
            self.done[going] = self.beta[going] >= 1.0
            yield Stage(index, float(self.beta.min()), float(np.mean(ess)), float(np.mean(acc)),
                        int(steps.max()), self.evaluations)
        e = self._blame()
        raise PriorsError(f"evidence '{e.name}' ({e.describe()}) could not be reached in {MAX_STAGES} tempering "
                          "stages: it is far beyond what the prior believes", file=e.file, line=e.line,
                          hint="check its value and unit; or widen the priors it contradicts")

    def _blame(self):
        """The piece of evidence the particles are furthest from: the one whose best
        log-likelihood among them is lowest."""
        lik = self.kernel.likelihood
        if len(lik.evidence) == 1:
            return lik.evidence[0]
        rows = self._evaluate(self.z, rows=True)[0]
        flat = rows.transpose(1, 0, 2).reshape(rows.shape[1], -1)
        best = lik.terms(np.ascontiguousarray(flat)).max(axis=1)
        return lik.evidence[int(np.argmin(best))]

    # ------------------------------------------------------------------ one stage
    def _reweight(self, going: np.ndarray) -> np.ndarray:
        """Raise each replicate's beta as far as keeps half its effective sample (found by
        bisection), then resample; returns the ESS shares reached."""
        ll = self.ll[going]
        finite = np.isfinite(ll)
        base = np.where(finite, ll, 0.0)
        target = 0.5 * finite.sum(axis=1)
        if not target.all():
            e = self._blame()
            raise PriorsError(f"evidence '{e.name}' ({e.describe()}): a population lost every particle consistent "
                              "with it", file=e.file, line=e.line, hint="check its values and bounds")

        def ess(delta):
            a = np.where(finite, delta[:, None] * base, -np.inf)
            w = np.exp(a - a.max(axis=1, keepdims=True))
            return w.sum(axis=1) ** 2 / (w * w).sum(axis=1), w

        left = 1.0 - self.beta[going]
        e_left, _ = ess(left)
        lo, hi = np.zeros_like(left), left.copy()
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            ok = ess(mid)[0] >= target
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        full = e_left >= target
        delta = np.where(full, left, np.where(lo > 0, lo, hi))
        e, w = ess(delta)
        self.beta[going] = np.where(full, 1.0, self.beta[going] + delta)
        # Systematic resampling: one uniform per replicate, from its own stream.
        grid = np.arange(self.n)
        for k, r in enumerate(going):
            c = np.cumsum(w[k] / w[k].sum())
            c[-1] = 1.0
            pick = np.minimum(np.searchsorted(c, (self.rngs[r].random() + grid) / self.n, side="right"),
                              self.n - 1)
            self.z[r], self.ll[r] = self.z[r][:, pick], self.ll[r][pick]
        return e / self.n

    def _move(self, going: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Independent Metropolis-Hastings in copula space (PyMC's SMC kernel): proposals
        drawn from a normal fitted to each population, so one accepted move is a fresh
        draw, however narrow the posterior has become in some directions."""
        g = len(going)
        mu = self.z[going].mean(axis=2)                                   # (g, d)
        chol = np.empty((g, self.d, self.d))
        for k, r in enumerate(going):
            cov = spread(self.d) * np.atleast_2d(np.cov(self.z[r])) + 1e-10 * np.eye(self.d)
            try:
                chol[k] = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                chol[k] = np.diag(np.sqrt(np.maximum(np.diag(cov), 1e-10)))
        inv = np.linalg.inv(chol)

        def log_q(k, z):  # the proposal's log-density, up to a constant shared by all
            w = inv[k] @ (z - mu[k][:, None])
            return -0.5 * np.sum(w * w, axis=0)

        accepted = np.zeros(g)
        for s in range(int(steps.max())):
            interrupt.check()
            live = np.flatnonzero(steps > s)
            reps = going[live]
            xi = np.stack([self.rngs[r].standard_normal((self.d, self.n)) for r in reps])
            z = self.z[reps]
            zp = mu[live][:, :, None] + chol[live] @ xi
            lp = self._evaluate(zp)[1]
            q = np.stack([log_q(k, z[i]) - log_q(k, zp[i]) for i, k in enumerate(live)])
            with np.errstate(invalid="ignore"):
                log_a = self.beta[reps][:, None] * (lp - self.ll[reps]) - 0.5 * (
                    np.sum(zp * zp, axis=1) - np.sum(z * z, axis=1)) + q
            log_a = np.where(np.isfinite(lp), log_a, -np.inf)
            u = np.stack([self.rngs[r].random(self.n) for r in reps])
            ok = np.log(u) < log_a
            for k, r in enumerate(reps):
                m = ok[k]
                self.z[r][:, m] = zp[k][:, m]
                self.ll[r][m] = lp[k][m]
            accepted[live] += ok.sum(axis=1)
        return accepted / (steps * self.n)

    # ------------------------------------------------------------------ the model
    def _evaluate(self, zs: np.ndarray, rows: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
        """Log-likelihoods of copula-space points (G, d, n), (G, n), and with `rows` their
        rows (G, V, n); in parallel over fixed slices of the draws."""
        k = self.kernel
        g = zs.shape[0]
        z = np.ascontiguousarray(zs.transpose(1, 0, 2).reshape(self.d, g * self.n))
        total = z.shape[1]
        keep = rows
        rows = np.empty((k.n_rows, total)) if keep else None
        ll = np.empty(total)
        # Large slices keep the priors' lookup tables warm in cache (4,096-draw slices
        # measured twice the cost per draw of 16,384), one or more per worker. A draw's
        # numbers do not depend on its slice.
        step = min(CHUNK_SIZE, max(4096, -(-total // self.workers)))
        parts = [(a, min(a + step, total)) for a in range(0, total, step)]

        def one(part):
            a, e = part
            # Padded blocks, as the kernel's (riskmc.blocks: rows 4 KiB apart alias in L1).
            u = blocks.empty((self.d, e - a))
            _uniforms(z[:, a:e], u, self.corr_rows, self.chol)   # the copula, from z directly
            x = blocks.empty((self.d, e - a))
            k.marginals(u, x)
            block = blocks.empty((k.n_rows, e - a))
            k.fill_rows(0, a, x, block)
            # Moves need only the likelihood (a NaN one is never accepted); the final rows
            # are checked whole.
            bad = ~np.isfinite(block) if keep else np.zeros((0, 0), dtype=bool)
            if bad.any():
                i = int(np.flatnonzero(bad.any(axis=0))[0])
                v = int(np.flatnonzero(bad[:, i])[0])
                inputs = ", ".join(f"{n}={float(x[j, i]):.6g}" for j, n in enumerate(k.model.input_names))
                raise ModelError(f"the model gave {float(block[v, i])} for {k.labels[v]} while weighing the "
                                 f"evidence; the draw's inputs: {inputs}",
                                 hint="check the model's equations at these inputs")
            if keep:
                rows[:, a:e] = block
            k.likelihood(block, ll[a:e])

        if self.workers > 1 and len(parts) > 1:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                list(pool.map(one, parts))
        else:
            for p in parts:
                one(p)
        self.evaluations += total
        out = np.ascontiguousarray(rows.reshape(-1, g, self.n).transpose(1, 0, 2)) if keep else None
        return out, ll.reshape(g, self.n)


def estimates(rows: np.ndarray, names: list[str], claims=None) -> tuple[dict, list[dict]]:
    """Statistics of every variable and each claim's probability from the replicates'
    final particles (R x V x n): pooled values, MCSE from the replicates' spread."""
    from .reduce import PROBS
    r, v, n = rows.shape
    pooled = rows.transpose(1, 0, 2).reshape(v, r * n)
    levels = list(PROBS.values())
    q_pool = np.quantile(pooled, levels, axis=1)              # (5, V)
    q_rep = np.quantile(rows, levels, axis=2)                 # (5, R, V)
    m_rep = rows.mean(axis=2)                                 # (R, V)
    s_rep = rows.std(axis=2, ddof=1)
    root = math.sqrt(r)
    out = {}
    for j, name in enumerate(names):
        res = {"mean": {"value": float(pooled[j].mean()), "mcse": float(m_rep[:, j].std(ddof=1) / root)},
               "sd": {"value": float(pooled[j].std(ddof=1)), "mcse": float(s_rep[:, j].std(ddof=1) / root)}}
        for i, key in enumerate(PROBS):
            res[key] = {"value": float(q_pool[i, j]), "mcse": float(q_rep[i, :, j].std(ddof=1) / root)}
        out[name] = res
    probs = []
    if claims is not None and claims.count.size:
        hits = np.stack([claims(np.ascontiguousarray(rows[k])) for k in range(r)]) / n   # (R, C)
        for c in range(hits.shape[1]):
            p = float(hits[:, c].mean())
            # Never below a binomial's error for the pooled particles: no claim is certain.
            a, b = p * r * n + 1.0, (1 - p) * r * n + 1.0
            floor = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
            probs.append({"value": p, "mcse": max(float(hits[:, c].std(ddof=1) / root), floor)})
    return out, probs


@_jit.njit(nogil=True)
def _uniforms(z, u, rows, chol):  # pragma: no cover - compiled
    """The priors' uniforms from copula-space z: u = Phi(z), except that rows `rows` are
    first correlated, Phi(chol @ z[rows]) (riskmc.priors.copula, without its round trip
    through Phi^-1); kept inside (0, 1) as the samplers' uniforms are."""
    for j in range(z.shape[0]):
        for i in range(z.shape[1]):
            u[j, i] = min(max(ndtr1(z[j, i]), _EPS), 1.0 - _EPS)
    k = rows.shape[0]
    for i in range(z.shape[1]):
        for a in range(k):
            s = 0.0
            for b in range(a + 1):
                s += chol[a, b] * z[rows[b], i]
            u[rows[a], i] = min(max(ndtr1(s), _EPS), 1.0 - _EPS)
