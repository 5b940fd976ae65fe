"""The HTML report: what most users ever see of a run."""

from .html import render

__all__ = ["render"]
