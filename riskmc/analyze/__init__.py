"""Analyses of a run: claims as events on outputs, and what drives the outputs."""

from .claims import claim_hits, hits
from .drivers import rank_drivers

__all__ = ["claim_hits", "hits", "rank_drivers"]
