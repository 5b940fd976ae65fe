"""`riskmc run`: sample the priors, run the model, write the report and files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_CODES
from .common import (
    SAVE_HELP,
    AllowUnused,
    Draws,
    PriorsFile,
    Quiet,
    Sampler,
    Scenario,
    Seed,
    Workers,
    command_app,
    default_out,
    is_terminal,
    say,
    user_errors,
)

app = command_app()
NOT_CONVERGED = next(code for code, text in EXIT_CODES.items() if text.startswith("--target-mcse"))


@app.command("run", short_help="Run the Monte Carlo; write the report, summary and draws")
def run(
    priors: PriorsFile,
    draws: Draws = None,
    seed: Seed = None,
    sampler: Sampler = None,
    workers: Workers = None,
    scenario: Scenario = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Output folder (default: "
                                             "reports/PRIORS_NAME, or reports/PRIORS_NAME-SCENARIO).")] = None,
    save_draws: Annotated[bool | None, typer.Option("--save-draws/--no-save-draws", help=SAVE_HELP,
                                                    show_default=False)] = None,
    target_mcse: Annotated[float | None, typer.Option(metavar="X", help="Add draws until every headline "
                                                      "statistic's MCSE is below X (exit 5 if --max-draws comes "
                                                      "first).")] = None,
    max_draws: Annotated[int | None, typer.Option(metavar="N", help="Ceiling for --target-mcse (default: 100 x "
                                                  "--draws).")] = None,
    netcdf: Annotated[bool, typer.Option("--netcdf", help="Also write draws.nc for arviz (prior = inputs, "
                                         "prior_predictive = outputs); holds every draw in memory.")] = False,
    backend: Annotated[str, typer.Option(metavar="local|dask", help="Threads on this machine, or a Dask cluster; "
                                         "never changes the numbers.")] = "local",
    scheduler: Annotated[str | None, typer.Option(metavar="ADDRESS", help="Dask scheduler (default with --backend "
                                                  "dask: a LocalCluster on 127.0.0.1).")] = None,
    allow_unused: AllowUnused = False,
    scratch: Annotated[bool, typer.Option("--scratch", help="Mark the run as scratch: never recorded as a "
                                          "forecast (any of --draws, --seed, --sampler, --target-mcse does too).")
                       ] = False,
    quiet: Quiet = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the headline (outputs, claims, files) as JSON on "
                                          "stdout, for pipelines; nothing else.")] = False,
    all_scenarios: Annotated[bool, typer.Option("--all-scenarios", help="Run the file as it is and under each of "
                                                "its scenarios, each into its own folder.")] = False,
    depfile: Annotated[Path | None, typer.Option(dir_okay=False, metavar="FILE", help="Also write a make rule "
                                                 "listing the files this run read (like a compiler's -MD).")] = None,
) -> None:
    """Run the Monte Carlo and write report.html, summary.json and draws.parquet."""
    from ..loading import load

    settings = dict(draws=draws, seed=seed, sampler=sampler, workers=workers, save_draws=save_draws,
                    target_mcse=target_mcse, max_draws=max_draws, netcdf=netcdf, backend=backend,
                    scheduler=scheduler, allow_unused=allow_unused, quiet=quiet or as_json, as_json=as_json,
                    role="scratch" if scratch else None)
    if not all_scenarios:
        code, head = _one(priors, scenario, out, depfile, **settings)
        if as_json:
            _print_json(head)
        if code:
            raise typer.Exit(code=code)
        return
    if scenario or out or depfile:
        say("riskmc: error: --all-scenarios writes reports/PRIORS_NAME[-SCENARIO] for each; "
            "drop --scenario, --out and --depfile")
        raise typer.Exit(code=2)
    from .. import interrupt
    from ..api import settings_for
    with user_errors():
        names = load(priors, allow_unused=allow_unused).scenarios
        # Every scenario checked before any folder is written: a mistake in the last one
        # leaves none of them half-made.
        for name in names:
            settings_for(load(priors, scenario=name, allow_unused=allow_unused), draws=draws, seed=seed,
                         sampler=sampler, workers=workers, target_mcse=target_mcse, max_draws=max_draws,
                         backend=backend, scheduler=scheduler, save_draws=save_draws)
        folders = [default_out(priors, name) for name in (None, *names)]
    done, written = [], []
    for name, folder in zip((None, *names), folders):
        interrupt.stop_words(before=tuple(written))   # a stop says which folders are complete
        done.append(_one(priors, name, folder, None, **settings))
        written.append(str(folder))
    if as_json:  # one document for a pipeline: the runs in order, the file as it is first
        _print_json([head for _, head in done])
    codes = [code for code, _ in done]
    if any(codes):
        raise typer.Exit(code=max(codes))


def _print_json(doc) -> None:
    import json
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _one(priors, scenario, out, depfile, *, draws, seed, sampler, workers, save_draws, target_mcse,
         max_draws, netcdf, backend, scheduler, allow_unused, quiet, as_json, role) -> tuple[int, dict | None]:
    """One run into its folder; returns the exit code (0, or 5 when not converged) and,
    with `as_json`, the headline for the caller to print.

    Everything is checked before any folder is made; the run's files, its depfile
    included when it lies in the output folder, reach the folder by one atomic swap.
    """
    from .. import interrupt
    from ..api import Running, load, settings_for
    from ..api import write as write_run
    from ..store.commit import Transaction, write_file

    with user_errors(out):
        out = out or default_out(priors, scenario)
        ps = load(priors, scenario=scenario, allow_unused=allow_unused)
        # The run's settings, resolved once: the command line over [run] over defaults,
        # with what follows from them (the plans, whether draws.parquet is written).
        s = settings_for(ps, draws=draws, seed=seed, sampler=sampler, workers=workers, target_mcse=target_mcse,
                         max_draws=max_draws, backend=backend, scheduler=scheduler, save_draws=save_draws,
                         role=role)
        inside = depfile is not None and _same_folder(depfile.parent, out)
        if inside:
            _check_depfile_name(depfile)
        elif depfile is not None:
            _check_depfile(depfile, ps.sources, out)
        writes = s.writes_draws(ps.model)
        unsaved = None
        # Said when it matters, not at every default run: the folder had draws.parquet
        # (this run drops it), or the command line asked for more draws than the file.
        relevant = (out / "draws.parquet").exists() or any(k in s.given for k in ("draws", "target_mcse",
                                                                                   "max_draws"))
        if not writes and s.save_draws is None and relevant:
            unsaved = (f"draws.parquet not written (it would be about {s.draws_file_bytes(ps.model) >> 20} MiB); "
                       "pass --save-draws to keep every draw")
        with Transaction(out, inputs=ps.sources) as tx:
            tx.begin()
            running = Running(ps, s, keep_draws=netcdf, draws_path=tx.path("draws.parquet") if writes else None,
                              draws_shown=out)
            if is_terminal() and not quiet:
                _with_progress(running, s.plan.draws)
            else:
                for _ in running:
                    pass
            result = running.result
            write_run(result, tx, netcdf=netcdf)
            if depfile is not None:
                rule = make_rule([out / n for n in tx.written], ps.sources)
                if inside:
                    tx.write(depfile.name, rule)
                else:
                    interrupt.check()
                    write_file(depfile, rule)
            tx.commit()
        if not quiet:
            for note in [*([unsaved] if unsaved else []), *result.summary["notes"]]:
                say(f"riskmc: note: {note}")
    head = None
    if as_json:
        from ..store.io import headline
        head = headline(result.summary, out)
    elif not quiet:
        from . import show
        show.run(result.summary, out / "report.html")
    if result.converged is False:
        from ..analyze.summary import worst_headline
        label, stat, worst = worst_headline(ps.model, result.stats)
        say(f"riskmc: target MCSE {target_mcse:g} not reached in {result.draws:,} draws: {label} {stat} has "
            f"{worst:.2g} (raise --max-draws)")
        return NOT_CONVERGED, head
    return 0, head


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a or ".") == os.path.realpath(b)


def _check_depfile_name(depfile: Path) -> None:
    """A depfile in the output folder is committed with the run: not under a name the run's
    own files (or its manifest) take."""
    from ..errors import UsageError
    from ..store.folders import RUN_FILES, plain_name
    if depfile.name in RUN_FILES or not plain_name(depfile.name):
        raise UsageError(f"--depfile {depfile} would take the name of a file the run writes, or a hidden one; "
                         "nothing was written", hint="name it e.g. deps.mk")


def _check_depfile(depfile: Path, sources, out: Path) -> None:
    from ..errors import OutputError, UsageError
    from ..store.folders import check_file_output
    if _same_folder(depfile, out) or Path(os.path.realpath(out)) in Path(os.path.realpath(depfile)).parents:
        raise UsageError(f"--depfile {depfile} names the output folder {out} or a folder inside it; nothing was "
                         "written", hint="name a file, e.g. --depfile " + str(out / "deps.mk"))
    folder = depfile.parent if str(depfile.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("cannot write the depfile: its folder does not exist", file=depfile,
                          hint="create the folder first, or put the depfile in the output folder")
    if depfile.is_dir():
        raise OutputError("cannot write the depfile: it is a folder", file=depfile)
    check_file_output(depfile, sources, option="--depfile")


def make_escape(path) -> str:
    """A path as make reads it in a rule: spaces, '#' and '$' escaped."""
    return str(path).replace("$", "$$").replace("#", "\\#").replace(" ", "\\ ")


def make_rule(targets, sources) -> bytes:
    """A make rule like a compiler's -MD output: the run's files depend on what it read."""
    return (" ".join(make_escape(t) for t in targets) + ": "
            + " ".join(make_escape(s) for s in sources) + "\n").encode()


def _speed_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:,.0f} draws/s" if task.speed else "")

    return Speed()


def _with_progress(running, total) -> None:
    """Run to the end with a progress bar on the terminal: the caller's loop over the run's
    states, advancing the bar by each batch's draws."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("sampling"), BarColumn(), MofNCompleteColumn(), _speed_column(),
               TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("draws", total=total)
        for state in running:
            bar.advance(task, state.draws)
