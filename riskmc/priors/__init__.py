"""Priors: read, fit and validate what domain experts write in priors/*.toml."""

from .families import FAMILIES, Family
from .fit import TOLERANCE, Fit, fit
from .load import Claim, Prior, PriorSet, load

__all__ = ["FAMILIES", "TOLERANCE", "Claim", "Family", "Fit", "Prior", "PriorSet", "fit", "load"]
