"""The standard normal's CDF and inverse CDF, without SciPy.

The inverse is Wichura's algorithm AS241 (Applied Statistics 37, 1988), accurate to about
1e-16, the one Python's statistics.NormalDist uses; the CDF is libm's erfc. Both come as
numpy functions (priors, pictures) and as plain scalar functions numba can compile into
the sampling kernels (the copula, the marginals' tails): a run then needs no SciPy at
all, and SciPy's import is a quarter of a second of every command's start.
"""

from __future__ import annotations

import math

import numpy as np

SQRT2 = math.sqrt(2.0)

_A = (2.5090809287301226727e+3, 3.3430575583588128105e+4, 6.7265770927008700853e+4, 4.5921953931549871457e+4,
      1.3731693765509461125e+4, 1.9715909503065514427e+3, 1.3314166789178437745e+2, 3.3871328727963666080e+0)
_B = (5.2264952788528545610e+3, 2.8729085735721942674e+4, 3.9307895800092710610e+4, 2.1213794301586595867e+4,
      5.3941960214247511077e+3, 6.8718700749205790830e+2, 4.2313330701600911252e+1, 1.0)
_C = (7.7454501427834140764e-4, 2.2723844989269184583e-2, 2.4178072517745061177e-1, 1.2704582524523683826e+0,
      3.6478483247632046050e+0, 5.7694972214606914055e+0, 4.6303378461565452959e+0, 1.4234371107496835773e+0)
_D = (1.0507500716444168432e-9, 5.4759380849953449460e-4, 1.5198666563616457197e-2, 1.4810397642748007459e-1,
      6.8976733498510000455e-1, 1.6763848301838038494e+0, 2.0531916266377588219e+0, 1.0)
_E = (2.0103343992922881327e-7, 2.7115555687434875782e-5, 1.2426609473880784386e-3, 2.6532189526576123093e-2,
      2.9656057182850489123e-1, 1.7848265399172913358e+0, 5.4637849111641143699e+0, 6.6579046435011037772e+0)
_F = (2.0442631033899397856e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.8686913114561325910e-4,
      1.4875361290850614853e-2, 1.3692988092273580531e-1, 5.9983220655588793769e-1, 1.0)


def _poly(c, r):
    v = c[0]
    for k in c[1:]:
        v = v * r + k
    return v


def ndtri_scalar(p: float) -> float:
    """x with Phi(x) = p, for 0 <= p <= 1 (infinite at the ends)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * (((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * r + _A[6]) * r
                    + _A[7]) / (((((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + _B[5]) * r
                                 + _B[6]) * r + _B[7])
    r = p if q < 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        x = (((((((_C[0] * r + _C[1]) * r + _C[2]) * r + _C[3]) * r + _C[4]) * r + _C[5]) * r + _C[6]) * r
             + _C[7]) / (((((((_D[0] * r + _D[1]) * r + _D[2]) * r + _D[3]) * r + _D[4]) * r + _D[5]) * r
                          + _D[6]) * r + _D[7])
    else:
        r -= 5.0
        x = (((((((_E[0] * r + _E[1]) * r + _E[2]) * r + _E[3]) * r + _E[4]) * r + _E[5]) * r + _E[6]) * r
             + _E[7]) / (((((((_F[0] * r + _F[1]) * r + _F[2]) * r + _F[3]) * r + _F[4]) * r + _F[5]) * r
                          + _F[6]) * r + _F[7])
    return -x if q < 0.0 else x


def ndtr_scalar(x: float) -> float:
    """Phi(x), the standard normal CDF."""
    return 0.5 * math.erfc(-x / SQRT2)


def ndtri(p) -> np.ndarray:
    """AS241 over an array: the same numbers as ndtri_scalar, element by element."""
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    with np.errstate(all="ignore"):
        r1 = 0.180625 - q * q
        central = q * _poly(_A, r1) / _poly(_B, r1)
        r = np.sqrt(-np.log(np.where(q < 0.0, p, 1.0 - p)))
        mid = _poly(_C, r - 1.6) / _poly(_D, r - 1.6)
        far = _poly(_E, r - 5.0) / _poly(_F, r - 5.0)
        tail = np.where(r <= 5.0, mid, far)
        x = np.where(np.abs(q) <= 0.425, central, np.where(q < 0.0, -tail, tail))
    x = np.where(p <= 0.0, -np.inf, np.where(p >= 1.0, np.inf, x))
    return x if x.ndim else float(x)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def ndtr(x) -> np.ndarray:
    """Phi(x) over an array, from libm's erfc."""
    x = np.asarray(x, dtype=float)
    out = 0.5 * np.asarray(_erfc(-x / SQRT2), dtype=float)
    return out if out.ndim else float(out)


def pdf(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
