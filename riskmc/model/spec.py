"""How a model declares what it needs and what it gives, so priors can be checked."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Input:
    """A model input: name, unit, and the support any prior for it must stay inside."""

    name: str
    unit: str
    description: str
    lower: float = -math.inf
    upper: float = math.inf


@dataclass(frozen=True)
class Output:
    """A yearly model output; `headline` outputs lead the report and drive --target-mcse."""

    name: str
    unit: str
    label: str
    headline: bool = False
    kind: str = "level"  # "share", "level" or "ratio": how the report formats it
