"""Market models: pure functions from input arrays to yearly output arrays."""

from . import market
from .spec import Input, Output

__all__ = ["Input", "Output", "market"]
