"""`riskmc run`: sample the priors, run the model, write the report and files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..api import run as api_run
from ..api import write as write_run
from ..engine import default_workers
from .common import is_terminal, say, user_errors

app = typer.Typer()


@app.command("run")
def run(
    priors: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                           help="Priors file, e.g. priors/base.toml.")],
    draws: Annotated[int | None, typer.Option(min=1, help="Number of draws (default: the file's [run] draws, else 100000).")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed; the same seed gives the same numbers (default: the file's [run] seed).")] = None,
    sampler: Annotated[str | None, typer.Option(help="mc, lhs or sobol (default: the file's, else mc).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker threads (default: all cores); never changes the numbers.")] = None,
    scenario: Annotated[str | None, typer.Option(help="Apply the file's [scenarios.NAME] overlay.")] = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, help="Output folder (default: reports/<priors file stem>[-<scenario>]/).")] = None,
    save_draws: Annotated[bool | None, typer.Option(help="Write draws.parquet, one row per draw (default: only up to 100,000 draws).", show_default=False)] = None,
    allow_unused: Annotated[bool, typer.Option(help="Warn instead of failing on priors the model does not use.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    depfile: Annotated[Path | None, typer.Option(dir_okay=False, help="Also write a make rule listing the priors files this run read (like a compiler's -MD).")] = None,
) -> None:
    """Run the Monte Carlo and write report.html, summary.json and draws.parquet."""
    out = out or Path("reports") / (priors.stem + (f"-{scenario}" if scenario else ""))
    with user_errors():
        from ..io import prepare_dir
        prepare_dir(out)
        if is_terminal() and not quiet:
            result = _with_progress(priors, draws, seed, sampler, workers, scenario, allow_unused)
        else:
            result = api_run(priors, draws=draws, seed=seed, sampler=sampler, workers=workers,
                             scenario=scenario, allow_unused=allow_unused)
        for note in result.summary["notes"]:
            if not quiet:
                say(f"riskmc: note: {note}")
        paths = write_run(result, out, save_draws=save_draws)
        if depfile is not None:
            from ..io import write_bytes
            targets = " ".join(str(p) for p in paths.values())
            sources = " ".join(f.path for f in result.priors.files)
            write_bytes(depfile, f"{targets}: {sources}\n".encode())
    if not quiet:
        typer.echo(paths["report"])


def _speed_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:,.0f} draws/s" if task.speed else "")

    return Speed()


def _with_progress(priors, draws, seed, sampler, workers, scenario, allow_unused):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..priors import load
    ps = load(priors, scenario=scenario, allow_unused=allow_unused)
    total = draws or ps.run.get("draws", 100_000)
    columns = (TextColumn("sampling"), BarColumn(), MofNCompleteColumn(), _speed_column(),
               TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("draws", total=total)
        return api_run(ps, draws=draws, seed=seed, sampler=sampler,
                       workers=workers or default_workers(),
                       progress=lambda n: bar.advance(task, n))
