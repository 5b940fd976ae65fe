"""riskmc: Monte Carlo risk analysis, from priors to report.

Names are imported on first use, so `riskmc --help` and a signal handler installed at
start-up do not wait for numpy, numba and SciPy.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "RunResult": ".api", "load": ".loading", "load_priors": ".loading", "run": ".api",
    "sensitivity": ".analyze.sensitivity", "write": ".api",
    "Input": ".model", "Model": ".model", "Output": ".model", "load_model": ".model",
    "ModelError": ".errors", "OutputError": ".errors", "PriorsError": ".errors",
    "RiskmcError": ".errors", "SamplingError": ".errors",
    "fit": ".priors", "Estimate": ".results", "Stats": ".results",
}

__all__ = ["Estimate", "Input", "Model", "ModelError", "Output", "OutputError", "PriorsError", "RiskmcError",
           "RunResult", "SamplingError", "Stats", "__version__", "fit", "load", "load_model", "load_priors",
           "run", "sensitivity", "write"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'riskmc' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __name__)
    value = getattr(module, "load" if name == "load_priors" else name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
