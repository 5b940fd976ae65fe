"""Priors: read, fit and validate what domain experts write in priors/*.toml."""

from .families import FAMILIES, Family
from .fit import TOLERANCE, Fit, fit
from .load import load, model_ref
from .priorset import Claim, ModelRef, Prior, PriorSet

__all__ = ["FAMILIES", "TOLERANCE", "Claim", "Family", "Fit", "ModelRef", "Prior", "PriorSet", "fit", "load",
           "model_ref"]
