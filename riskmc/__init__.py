"""riskmc: Monte Carlo risk analysis of the custom-silicon thesis, from priors to report."""

__version__ = "0.1.0"

from .api import RunResult, run, sensitivity, write  # noqa: E402
from .errors import OutputError, PriorsError, RiskmcError, SamplingError  # noqa: E402
from .priors import fit, load  # noqa: E402

load_priors = load

__all__ = ["OutputError", "PriorsError", "RiskmcError", "RunResult", "SamplingError",
           "__version__", "fit", "load", "load_priors", "run", "sensitivity", "write"]
