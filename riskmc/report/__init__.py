"""The HTML report (what most users ever see of a run) and the priors page."""

from .html import render, render_ask, render_compare, render_priors, render_voi

__all__ = ["render", "render_ask", "render_compare", "render_priors", "render_voi"]
