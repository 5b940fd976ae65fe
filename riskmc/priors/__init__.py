"""Priors: read, fit and validate what domain experts write in priors/*.toml."""

from .families import FAMILIES, Family
from .fit import TOLERANCE, Fit, fit
from .load import Claim, ModelRef, Prior, PriorSet, load, model_ref

__all__ = ["FAMILIES", "TOLERANCE", "Claim", "Family", "Fit", "ModelRef", "Prior", "PriorSet", "fit", "load",
           "model_ref"]
