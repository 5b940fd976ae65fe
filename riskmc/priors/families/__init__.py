"""Distribution families a prior can take, each with the same verbs; one module each.

Every family maps uniforms to values by its inverse CDF (`ppf`), so one path serves
plain Monte Carlo, Latin hypercube, Sobol and the copula alike. Densities and CDFs are
numpy (and the normal functions of riskmc.numeric.normal); only a beta's exact quantiles and
CDF ask SciPy, imported then: reading priors and drawing a report need no SciPy.
`scipy()` gives each family's SciPy distribution, the reference the tests hold it to.
A new family is one new module here, imported below: nothing else names it.
"""

# Each module registers its family on import; this order is the order messages list them in.
# isort: off
from . import normal, lognormal, beta, uniform, triangular, pert, truncnormal  # noqa: F401
from . import fixed, bernoulli, discrete, metalog  # noqa: F401
from . import pool  # noqa: F401 (experts' pools: recorded in summary.json, never stated in a priors file)
# isort: on
from .base import FAMILIES, RECORDED, Family, make, rebuild, record, register
from .bernoulli import Bernoulli
from .beta import BETA_MAX, Beta
from .discrete import Discrete
from .fixed import Fixed
from .lognormal import LogNormal
from .metalog import Metalog
from .normal import Normal
from .pert import Pert
from .triangular import Triangular
from .truncnormal import TruncNormal
from .uniform import Uniform

__all__ = ["BETA_MAX", "FAMILIES", "RECORDED", "Bernoulli", "Beta", "Discrete", "Family", "Fixed", "LogNormal",
           "Metalog", "Normal", "Pert", "Triangular", "TruncNormal", "Uniform", "make", "rebuild", "record", "register"]
