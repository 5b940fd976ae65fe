"""`riskmc seek`: how far one prior's median must move for a target to hold."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    Draws,
    Json,
    PriorsFile,
    Quiet,
    Sampler,
    Scenario,
    Seed,
    Workers,
    command_app,
    print_json,
    user_errors,
)

app = command_app()


@app.command("seek", short_help="Goal seek: how far one prior must move for a target")
def seek(
    file: PriorsFile,
    vary: Annotated[str, typer.Option(metavar="PRIOR", help="The prior whose median moves (its shape kept).")],
    target: Annotated[str, typer.Option(metavar="TARGET", help='"P(EVENT) = q" or "mean(output[year]) = x".')],
    draws: Draws = None,
    seed: Seed = None,
    sampler: Sampler = None,
    workers: Workers = None,
    scenario: Scenario = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Goal seek: the median of one prior at which a target holds, with its Monte Carlo error.

    Each step re-runs the model with the same seed (common random numbers), so the
    search is smooth and deterministic.
    """
    from ..ask.seek import seek as do_seek

    with user_errors():
        res = do_seek(file, vary=vary, target=target, draws=draws, seed=seed, sampler=sampler, workers=workers,
                      scenario=scenario)
    if as_json:
        print_json(res)
    elif not quiet:
        from . import show
        show.seek(res)
