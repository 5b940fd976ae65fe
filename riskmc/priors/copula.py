"""Dependence between priors: stated rank correlations through a Gaussian copula.

The copula acts on uniforms before each marginal's inverse CDF, so every marginal stays
exactly as stated whatever the correlations (and whichever sampler made the uniforms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import PriorsError

SEPARATOR = "~"


@dataclass(frozen=True)
class Dependence:
    """Rank correlations among some priors, ready to apply to uniforms."""

    names: tuple[str, ...] = ()          # the priors involved, in model order
    index: tuple[int, ...] = ()          # their columns among all priors
    spearman: np.ndarray | None = None   # as stated (or repaired), names x names
    cholesky: np.ndarray | None = None   # of the normal-space (Pearson) matrix
    pairs: tuple[tuple[str, str, float], ...] = ()
    repaired: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def apply(self, u: np.ndarray) -> np.ndarray:
        """Correlate rows `index` of u (priors x draws) in place, in one compiled pass; return u."""
        if self.cholesky is None:
            return u
        from ..numeric.lookup import copula
        copula(u, np.asarray(self.index, dtype=np.intp), self.cholesky, np.empty(len(self.index)))
        return u


def spearman_to_pearson(rho_s):
    """The normal-space correlation giving rank correlation rho_s under a Gaussian copula."""
    return 2 * np.sin(np.pi * np.asarray(rho_s) / 6)


def pearson_to_spearman(r):
    return 6 / np.pi * np.arcsin(np.asarray(r) / 2)


def nearest_correlation(a: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Higham's (2002) alternating projections: the nearest valid correlation matrix."""
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(iterations):
        r = y - ds
        vals, vecs = np.linalg.eigh(r)
        x = (vecs * np.maximum(vals, 1e-10)) @ vecs.T
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.eigvalsh(y).min() > -1e-12:
            break
    return y


def _factor(r: np.ndarray) -> np.ndarray:
    """A matrix L with L @ L.T = r, rows of unit length (so each margin stays N(0, 1)).

    Cholesky, with a tiny jitter for exactly singular (+/-1) matrices; a matrix singular
    to rounding (an eigenvalue of -1e-12 from 1.0, 1.0 and 0.99999999996) gets the
    symmetric square root of its clipped eigen-decomposition instead.
    """
    try:
        chol = np.linalg.cholesky(r + 1e-12 * np.eye(len(r)))
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(r)
        chol = vecs * np.sqrt(np.maximum(vals, 0.0))
    return chol / np.linalg.norm(chol, axis=1, keepdims=True)


def build_dependence(table: dict, names: list[str], locate, discrete: set[str]) -> Dependence:
    """Validate `[correlations]` and build the copula.

    `locate(key)` gives (file, line) for messages; priors in `discrete` (events, constants)
    cannot be correlated through a continuous copula and are refused by name.
    """
    def err(message, key=None, hint=None):
        file, line = locate(key)
        return PriorsError(message, file=file, line=line, hint=hint)

    repair = table.get("repair", False)
    if not isinstance(repair, bool):
        raise err("[correlations] repair must be true or false", "repair")
    pairs: dict[tuple[str, str], float] = {}
    for key, value in table.items():
        if key == "repair":
            continue
        parts = [p.strip() for p in key.split(SEPARATOR)]
        if len(parts) != 2 or not all(parts):
            raise err(f"correlation key '{key}' must name two priors: \"a {SEPARATOR} b\"", key)
        for p in parts:
            if p not in names:
                import difflib
                close = difflib.get_close_matches(p, names, n=1)
                raise err(f"correlation '{key}' names unknown prior '{p}'", key,
                          hint=f"did you mean '{close[0]}'?" if close else "check the prior's name")
            if p in discrete:
                raise err(f"correlation '{key}': prior '{p}' is an event or a constant and cannot "
                          "be correlated", key, hint="correlate continuous priors only")
        a, b = parts
        if a == b:
            raise err(f"correlation '{key}' pairs a prior with itself", key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1 <= value <= 1:
            raise err(f"correlation '{key}' must be a number in [-1, 1], got {value!r}", key)
        pair = tuple(sorted((a, b), key=names.index))
        if pair in pairs:
            raise err(f"correlation between '{a}' and '{b}' is given twice", key)
        pairs[pair] = float(value)
    if not pairs:
        return Dependence()

    involved = sorted({p for pair in pairs for p in pair}, key=names.index)
    pos = {n: i for i, n in enumerate(involved)}
    s = np.eye(len(involved))
    for (a, b), v in pairs.items():
        s[pos[a], pos[b]] = s[pos[b], pos[a]] = v
    r = spearman_to_pearson(s)
    np.fill_diagonal(r, 1.0)
    vals, vecs = np.linalg.eigh(r)
    notes = []
    repaired = False
    if vals.min() < -1e-10:
        weak = vecs[:, 0]
        culprits = [n for n, c in zip(involved, weak) if abs(c) > 0.15]
        culprit_pairs = [f"{a} ~ {b}" for (a, b) in pairs if a in culprits and b in culprits]
        if not repair:
            raise err("these correlations cannot hold together (the matrix is not positive "
                      f"semi-definite): {', '.join(culprit_pairs)}", None,
                      hint="loosen one of them, or set repair = true in [correlations] to use "
                           "the nearest valid matrix")
        r = nearest_correlation(r)
        new_s = pearson_to_spearman(r)
        changes = []
        for (a, b), v in pairs.items():
            nv = float(new_s[pos[a], pos[b]])
            if abs(nv - v) > 5e-4:
                changes.append(f"{a} ~ {b}: {v:.3f} -> {nv:.3f}")
        notes.append("correlations repaired to the nearest valid matrix: " + "; ".join(changes))
        s = new_s
        repaired = True
        pairs = {k: float(new_s[pos[k[0]], pos[k[1]]]) for k in pairs}
    chol = _factor(r)
    return Dependence(
        names=tuple(involved), index=tuple(names.index(n) for n in involved),
        spearman=s, cholesky=chol,
        pairs=tuple((a, b, v) for (a, b), v in pairs.items()),
        repaired=repaired, notes=tuple(notes),
    )


