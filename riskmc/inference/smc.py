"""Tempered sequential Monte Carlo: the posterior when importance sampling cannot be trusted.

Evidence far in the prior's tail leaves a few prior draws with all the weight (Pareto
k-hat above 0.7). Tempering walks there instead: particles start as prior draws and the
likelihood is switched on in stages, likelihood^beta with beta rising from 0 to 1, each
step as large as keeps half the particles' effective size (Del Moral, Doucet and Jasra
2006). After each reweighting the particles are resampled and moved by Metropolis steps
that leave the tempered posterior unchanged.

The moves work in the priors' copula space: each input is its prior's inverse CDF of
Phi(z) through the copula, with z standard normal, so every model and every prior family
is handled alike (a fixed prior's z is never moved: it changes nothing). The proposal is
autoregressive about a Gaussian fitted to the particles, N(m, C):

    z' = m + sqrt(1 - s^2) (z - m) + s L xi,   L L' = C,  xi ~ N(0, I),

which leaves N(m, C) itself unchanged, so the acceptance ratio is the tempered target's
ratio divided by that Gaussian's (a preconditioned Crank-Nicolson move with the
particles' mean and covariance as its reference: Cotter, Roberts, Stuart and White 2013;
in tempered SMC, Kantas, Beskos and Jasra 2014). With s = 1 it is the independent
proposal PyMC's SMC uses, whose acceptance collapses as inputs are added (the estimation
error of C in every direction multiplies into the ratio); with s < 1 a move is local in
every direction at once and its acceptance depends on how far the target is from the
Gaussian along the move, not on the number of inputs. s is tuned each stage towards
TARGET_ACCEPT, and each stage makes as many moves as it takes for the particles to
forget where they started: until the correlation between the particles' positions
before and after the moves, averaged over the inputs (PyMC's criterion), and that of
their log-likelihoods, fall below DECORRELATED (at most MAX_MOVES).

Monte Carlo error comes from independent replicates: REPLICATES populations, each with
its own stream, seeds, temperatures, proposals and moves; an estimate's MCSE is the
spread of the replicates' estimates over sqrt(REPLICATES). Each replicate is a function
of its stream alone, so the numbers do not depend on the worker count.

Evidence the prior cannot reach pushes particles to where the prior gives a chance below
one in 10^12 (|z| > EDGE); the sampler then stops and says which evidence and which
input, rather than report a posterior pressed against the edge of what riskmc can draw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .. import interrupt
from ..errors import ModelError, PriorsError
from ..kernel.engine import CHUNK_SIZE, map_chunks
from ..numeric import blocks, jit
from ..numeric.lookup import ndtr1

REPLICATES = 32
MAX_STAGES = 100
TARGET_ACCEPT = 0.3
DECORRELATED = 0.1   # the particles' mean correlation with where a stage's moves began
MIN_MOVES = 2
MAX_MOVES = 60       # per stage; a stage that needs more is reported in the diagnostics
EDGE = 7.0           # |z| beyond this: P < 1.3e-12 under the prior
INFLATE = 1.5        # the reference Gaussian's variance over the particles', in moved directions
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
    decorrelated: bool   # every replicate's particles forgot where the stage began


class Tempering:
    """The sampler: `stages()` yields a Stage after each; `rows` then holds the posterior
    draws of each replicate (REPLICATES x variables x particles). The replicates advance
    together, as arrays, each with its own stream, temperature, proposal and moves."""

    def __init__(self, kernel, root: np.random.SeedSequence, particles: int, workers: int = 1) -> None:
        self.kernel = kernel
        self.n = particles
        self.workers = workers
        specs = kernel.model.inputs
        self.d = len(specs)
        fixed = [not kernel.priors.priors[s.name].family.varies for s in specs]
        self.moving = np.flatnonzero(~np.asarray(fixed, dtype=bool))        # inputs whose z matters
        self.k = len(self.moving)
        self.evaluations = 0
        dep = kernel.priors.dependence
        self.corr_rows = np.asarray(dep.index, dtype=np.intp)
        self.chol = dep.cholesky if dep.cholesky is not None else np.zeros((0, 0))
        self.rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            root.entropy, spawn_key=(*root.spawn_key, _STREAM, r), pool_size=root.pool_size)))
            for r in range(REPLICATES)]
        self.z = np.stack([g.standard_normal((self.k, self.n)) for g in self.rngs])   # (R, k, n)
        self.ll = self._evaluate(self.z)[1]                                           # (R, n)
        self.beta = np.zeros(REPLICATES)
        self.scale = np.full(REPLICATES, 0.5)   # s of the autoregressive proposal, tuned per stage
        self.acceptance = np.zeros(REPLICATES)
        self.done = np.zeros(REPLICATES, dtype=bool)
        self.undecorrelated = 0                 # stages that hit MAX_MOVES before decorrelating
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

    @property
    def unique(self) -> float:
        """The smallest share of distinct particles in any replicate."""
        return float(min(len(np.unique(self.z[r][0] if self.k else self.ll[r])) for r in range(REPLICATES))
                     / self.n)

    def stages(self) -> Iterator[Stage]:
        for index in range(MAX_STAGES):
            going = np.flatnonzero(~self.done)
            if not len(going):
                return
            interrupt.check()
            ess = self._reweight(going)
            steps, decorrelated = self._move(going)
            self._check_edge()
            self.done[going] = self.beta[going] >= 1.0
            yield Stage(index, float(self.beta.min()), float(np.mean(ess)), float(np.mean(self.acceptance[going])),
                        int(steps), self.evaluations, decorrelated)
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

    def _check_edge(self) -> None:
        """Particles pressed where the prior gives less than a 10^-12 chance: the evidence
        and the prior cannot both hold (its exact posterior lies beyond what the prior can
        be drawn at), and a posterior piled against that edge would be false precision."""
        if not self.k:
            return
        far = np.abs(self.z) > EDGE                                   # (R, k, n)
        share = far.mean(axis=(0, 2))                                 # per input
        j = int(np.argmax(share))
        if share[j] < 0.01:
            return
        name = self.kernel.model.inputs[int(self.moving[j])].name
        e = self._blame()
        raise PriorsError(f"evidence '{e.name}' ({e.describe()}) contradicts the priors: it needs {name} where its "
                          f"prior gives less than a 1e-12 chance (beyond {EDGE:g} sds in the copula), so no "
                          "posterior can be drawn", file=e.file, line=e.line,
                          hint=f"check the evidence's value and unit, or widen the prior of {name}")

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

    def _move(self, going: np.ndarray) -> tuple[int, bool]:
        """Autoregressive Metropolis moves about each replicate's reference Gaussian (see the
        module's docstring) until its particles have decorrelated from where they began.
        Returns the most moves any replicate made, and whether all decorrelated."""
        g, k, n = len(going), self.k, self.n
        if not k:
            return 0, True
        z0 = self.z[going].copy()                                     # (g, k, n)
        ll0 = self.ll[going].copy()
        ref = [_reference(z0[i], n) for i in range(g)]
        s = self.scale[going]                                         # (g,)
        keep = np.sqrt(1.0 - s * s)
        beta = self.beta[going]
        accepted = np.zeros(g)
        tried = np.zeros(g)
        live = np.ones(g, dtype=bool)
        moves = 0
        for step in range(MAX_MOVES):
            interrupt.check()
            idx = np.flatnonzero(live)
            reps = going[idx]
            z = self.z[reps]
            zp = np.empty_like(z)
            extra = np.zeros((len(idx), n))     # log N_ref(z) - log N_ref(z') + log prior(z') - log prior(z)
            for i, (j, r) in enumerate(zip(idx, reps)):
                xi = self.rngs[r].standard_normal((k, n))
                inf, mu, chol, inv = ref[j]
                # Prior-like inputs: a Crank-Nicolson move about the prior itself, whose
                # density then cancels from the ratio exactly.
                zp[i] = keep[j] * z[i] + s[j] * xi
                if len(inf):
                    c = z[i][inf] - mu[:, None]
                    p = mu[:, None] + keep[j] * c + s[j] * (chol @ xi[inf])
                    zp[i][inf] = p
                    wz, wp = inv @ c, inv @ (p - mu[:, None])
                    extra[i] = (0.5 * (np.sum(wp * wp, axis=0) - np.sum(wz * wz, axis=0))
                                - 0.5 * (np.sum(p * p, axis=0) - np.sum(z[i][inf] ** 2, axis=0)))
            lp = self._evaluate(zp)[1]
            with np.errstate(invalid="ignore"):
                log_a = beta[idx][:, None] * (lp - self.ll[reps]) + extra
            log_a = np.where(np.isfinite(lp), log_a, -np.inf)
            u = np.stack([self.rngs[r].random(n) for r in reps])
            ok = np.log(u) < log_a
            for i, r in enumerate(reps):
                m = ok[i]
                self.z[r][:, m] = zp[i][:, m]
                self.ll[r][m] = lp[i][m]
            accepted[idx] += ok.sum(axis=1)
            tried[idx] += n
            moves = step + 1
            if moves >= MIN_MOVES:
                for i, r in zip(idx, reps):
                    if _correlation(z0[i], self.z[r], ll0[i], self.ll[r]) < DECORRELATED:
                        live[i] = False
            if not live.any():
                break
        acc = accepted / np.maximum(tried, 1)
        self.acceptance[going] = acc
        # Tune s for the next stage towards the target acceptance (fixed within a stage, so
        # each stage's moves leave its tempered posterior exactly unchanged).
        self.scale[going] = np.clip(s * np.exp(1.5 * (acc - TARGET_ACCEPT)), 0.01, 1.0)
        if live.any():
            self.undecorrelated += 1
        return moves, not live.any()

    # ------------------------------------------------------------------ the model
    def _evaluate(self, zs: np.ndarray, rows: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
        """Log-likelihoods of copula-space points of the moving inputs (G, k, n), (G, n),
        and with `rows` their rows (G, V, n); in parallel over fixed slices of the draws."""
        k = self.kernel
        g = zs.shape[0]
        total = g * self.n
        z = np.zeros((self.d, total))
        z[self.moving] = zs.transpose(1, 0, 2).reshape(self.k, total)
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
            # Padded blocks, as the kernel's (riskmc.numeric.blocks: rows 4 KiB apart alias in L1).
            u = blocks.empty((self.d, e - a))
            _uniforms(np.ascontiguousarray(z[:, a:e]), u, self.corr_rows, self.chol)  # the copula, from z
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

        for _ in map_chunks(one, parts, self.workers if len(parts) > 1 else 1):
            pass
        self.evaluations += total
        out = np.ascontiguousarray(rows.reshape(-1, g, self.n).transpose(1, 0, 2)) if keep else None
        return out, ll.reshape(g, self.n)


def _reference(z: np.ndarray, n: int):
    """The reference Gaussian of a replicate's moves, from its particles z (k, n): the
    prior N(0, 1) itself for inputs the evidence has not moved (their particles' mean and
    variance within four standard errors of the prior's), and for the others, the
    informed ones, a Gaussian fitted to the particles and widened by INFLATE, so that the
    proposal reaches further into the tails than the particles have yet: (informed
    indices, mean, Cholesky factor, its inverse)."""
    m = z.mean(axis=1)
    v = z.var(axis=1)
    with np.errstate(divide="ignore"):
        moved = (np.abs(m) > 4 * np.sqrt(np.maximum(v, 1e-300) / n)) | (np.abs(np.log(np.maximum(v, 1e-300)))
                                                                        > 4 * math.sqrt(2.0 / n))
    inf = np.flatnonzero(moved)
    if not len(inf):
        return inf, np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0))
    cov = INFLATE * np.atleast_2d(np.cov(z[inf])) + 1e-12 * np.eye(len(inf))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        chol = np.diag(np.sqrt(np.maximum(np.diag(cov), 1e-12)))
    return inf, m[inf], chol, np.linalg.inv(chol)


def _correlation(z0: np.ndarray, z: np.ndarray, ll0: np.ndarray, ll: np.ndarray) -> float:
    """How much the particles still remember where the moves began: the larger of the
    mean correlation over inputs and the log-likelihoods' correlation. An input that has
    not moved at all (no spread) counts as fully correlated."""
    a = z0 - z0.mean(axis=1, keepdims=True)
    b = z - z.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, (a * b).sum(axis=1) / den, 1.0)
    fin = np.isfinite(ll0) & np.isfinite(ll)
    la, lb = ll0[fin] - ll0[fin].mean(), ll[fin] - ll[fin].mean()
    dl = math.sqrt(float((la * la).sum() * (lb * lb).sum()))
    cl = float((la * lb).sum() / dl) if dl > 0 else 0.0
    return max(float(c.mean()), cl)


@jit.njit(nogil=True)
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
