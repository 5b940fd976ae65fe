"""Analyses of a run's draws: claims priced as probabilities, and what drives the outputs."""

from .claims import price_claims
from .drivers import rank_drivers

__all__ = ["price_claims", "rank_drivers"]
