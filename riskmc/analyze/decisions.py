"""Decisions priced by a run: each option's expected payoff and the probability that it
is the best, with their Monte Carlo errors, from the run's own (weighted) draws."""

from __future__ import annotations

import numpy as np

from ..results import DecisionPrice, OptionPrice
from .sample import Sample, sample_of


def payoffs(decision, sample: Sample) -> np.ndarray:
    """Each option's payoff per draw: (options x draws)."""
    return np.array([p.values(sample.rows) for _, p in decision.options])


def price_all(run, decisions: dict, workers: int) -> dict[str, DecisionPrice]:
    """Every decision priced on the run's draws (re-created once for all of them)."""
    if not decisions:
        return {}
    sample = sample_of(run, workers)
    return {name: price(d, sample) for name, d in decisions.items()}


def price(decision, sample: Sample) -> DecisionPrice:
    """One decision on a sample: E[payoff] and P(best) for each option."""
    v = payoffs(decision, sample)
    if not np.all(np.isfinite(v)):
        from ..errors import ModelError
        k = int(np.flatnonzero(~np.all(np.isfinite(v), axis=1))[0])
        option, p = decision.options[k]
        raise ModelError(f"decision '{decision.name}': option '{option}': the payoff \"{p.text}\" is not a finite "
                         "number for every draw", file=decision.file, line=decision.line,
                         hint="a division by zero? guard it, e.g. with max(x, 0.001)")
    top = np.argmax(v, axis=0)
    options = {}
    for k, (option, p) in enumerate(decision.options):
        options[option] = OptionPrice(p.text, sample.mean(v[k]), sample.mean(top == k, indicator=True))
    best = max(options, key=lambda o: options[o].expected.value)
    return DecisionPrice(decision.description, decision.unit, options, best)
