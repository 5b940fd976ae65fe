"""Reading a priors file bound to its model: what every command starts with.

Kept apart from riskmc.api so that checking priors imports neither the kernel nor numba.
"""

from __future__ import annotations

from pathlib import Path

from . import priors as priors_files
from .model import Model, resolve
from .priors import PriorSet


def load(path: str | Path, *, model: Model | str | None = None, scenario: str | None = None,
         allow_unused: bool = False) -> PriorSet:
    """A priors file, checked against the model it feeds and bound to it.

    The model is the one the file names (`model = "market"` or `model = "models/x.py"`),
    or `model`: a riskmc.Model, a built-in's name, or a model file's path.
    """
    if model is None:
        ref = priors_files.model_ref(path)
        model = resolve(ref.ref, ref.base, where=(ref.file, ref.line))
    elif not isinstance(model, Model):
        model = resolve(str(model), Path.cwd())
    return priors_files.load(path, model=model, scenario=scenario, allow_unused=allow_unused)
