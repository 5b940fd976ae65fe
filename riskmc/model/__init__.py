"""Models: what a run evaluates. Users write their own (riskmc.Model, in a .py file);
riskmc ships the market model of the essay. This package is the only place that names it.
"""

from .files import BUILTINS, load_model, resolve
from .spec import Input, Model, Output

__all__ = ["BUILTINS", "Input", "Model", "Output", "load_model", "resolve"]
