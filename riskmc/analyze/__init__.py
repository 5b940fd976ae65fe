"""Analyses of a run: claims as events on outputs, and what drives the outputs."""

from ..kernel.claims import ClaimCounter, hits
from .drivers import rank_drivers

__all__ = ["ClaimCounter", "hits", "rank_drivers"]
