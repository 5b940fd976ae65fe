"""`riskmc ledger record|resolve|show|report`: a track record of the claims as they resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Quiet, command_app, say, text, user_errors

app = command_app(help="Keep a track record of the claims: record runs, resolve outcomes, score them.",
                  short_help="A track record: record runs, resolve, score",
                  no_args_is_help=True)

DEFAULT = Path("priors") / "ledger.sqlite"
LedgerPath = Annotated[Path | None, typer.Option("--ledger", dir_okay=False, metavar="PATH",
                                                 help=f"The ledger (default: {DEFAULT}; for record, ledger.sqlite "
                                                      "beside the run's priors file).")]


@app.command("record")
def record(
    run_dirs: Annotated[list[Path], typer.Argument(exists=True, file_okay=False, metavar="RUN_DIR...",
                                                   help="Run folders whose claims to record.")],
    ledger: LedgerPath = None,
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="The forecasts' date (default: the run's "
                                             "created date, else today).")] = None,
    as_forecast: Annotated[bool, typer.Option("--as-forecast", help="Record a scratch run as a forecast "
                                              "(scored when its claims resolve).")] = False,
    forecasts_only: Annotated[bool, typer.Option("--forecasts-only", help="Skip scenarios and scratch runs "
                                                 "(say so, record the rest), as make record does.")] = False,
    quiet: Quiet = False,
) -> None:
    """Record each run's claim probabilities (± MCSE) with its date, priors hash, seed and
    version. Forecasts are scored once their claims resolve; scenarios are kept as context,
    never scored; scratch runs are refused. Recording the same run again changes nothing."""
    from ..store.folders import check_file_output
    from ..store.io import read_summary_bytes
    from ..store.ledger import Ledger, check_recordable, parse_date, role_of
    skipped = []
    with user_errors():
        if date is not None:
            date = parse_date(date, "--date")
        # Every run is read and checked before anything is recorded; each ledger then
        # takes all of its runs in one transaction.
        by_ledger: dict[Path, list] = {}
        for d in run_dirs:
            summary, raw = read_summary_bytes(d)
            if forecasts_only and role_of(summary) != "forecast":
                skipped.append((d, role_of(summary)))
                continue
            check_recordable(summary, d, as_forecast)  # before any ledger is made
            path = ledger or Path(summary["priors_files"][0]["path"]).parent / "ledger.sqlite"
            by_ledger.setdefault(path, []).append((summary, raw, str(d)))
        for path in by_ledger:
            check_file_output(path, [*run_dirs], option="--ledger")
        done = []
        for path, runs in by_ledger.items():
            with Ledger(path) as led:
                # A run already recorded keeps what it was recorded with: its draws are not re-created.
                grids = [None if led.has(raw) else _grids(d) for _, raw, d in runs]
                done += [(d, s, was, path) for (s, _, d), was in
                         zip(runs, led.record_all(runs, date, as_forecast=as_forecast, grids=grids))]
    if not quiet:
        for d, role in skipped:
            typer.echo(f"{d}: skipped (a {role} run; the ledger scores forecasts)")
        for d, summary, was, path in done:
            n = len(summary["claims"])
            what = "recorded" if was is None else f"already recorded, dated {was}"
            typer.echo(f"{d}: {what} ({n} claim{'s' if n != 1 else ''}) in {path}")


def _grids(run_dir):
    """The run's quantities as quantile grids (its draws re-created), or None, said, when
    they cannot be (its priors or model file changed since the run)."""
    from ..errors import RiskmcError
    from ..runs import Run
    from ..settings import default_workers
    from ..store.quantities import LEVELS
    try:
        run = Run.open(run_dir)
        return (*run.quantile_grids(LEVELS, default_workers()), run.expert_views(LEVELS))
    except RiskmcError as exc:
        say(f"riskmc: note: {run_dir}: its quantities are not recorded ({exc.message}); its claims are")
        return None


@app.command("resolve")
def resolve(
    claim: Annotated[text, typer.Argument(metavar="CLAIM|QUANTITY", parser=text,
                                          help="A recorded claim's name (C2), or a quantity, output[year].")],
    date: Annotated[str, typer.Option(metavar="YYYY-MM-DD", help="When it resolved.")],
    source: Annotated[str, typer.Option(metavar="TEXT", help="Where the outcome is reported.")],
    outcome: Annotated[str | None, typer.Option(metavar="true|false", help="Whether the claim came true.")] = None,
    value: Annotated[float | None, typer.Option(metavar="X", help="The number a quantity turned out to be, in "
                                                "its output's unit (e.g. 171.3 for $171.3B).")] = None,
    ledger: LedgerPath = None,
    replace: Annotated[bool, typer.Option("--replace", help="Change an outcome already recorded.")] = False,
    quiet: Quiet = False,
) -> None:
    """Record whether a claim came true, or the number a quantity turned out to be;
    forecasts dated on or before it are then scored (a quantity's by CRPS, log score, PIT)."""
    from ..store.ledger import Ledger, LedgerUsageError, parse_date
    with user_errors():
        if (outcome is None) == (value is None):
            raise LedgerUsageError("give --outcome true|false for a claim, or --value X for a quantity")
        if value is not None:
            from ..store.quantities import resolve_quantity
            path = ledger or DEFAULT
            with Ledger(path, create=False) as led:
                new = resolve_quantity(led, claim, value, parse_date(date, "--date"), source, replace=replace)
    if value is not None:
        if not quiet:
            typer.echo(f"{claim}: {'resolved' if new else 'already resolved'} at {value:g} in {path}")
        return
    with user_errors():
        outcome = outcome.lower()
        if outcome not in ("true", "false"):
            raise LedgerUsageError(f"--outcome must be true or false, got '{outcome}'")
        date = parse_date(date, "--date")
        path = ledger or DEFAULT
        with Ledger(path, create=False) as led:
            new = led.resolve(claim, outcome == "true", date, source, replace=replace)
    if not quiet:
        typer.echo(f"{claim}: {'resolved' if new else 'already resolved'} {outcome} in {path}")


@app.command("show")
def show(
    ledger: LedgerPath = None,
    quiet: Quiet = False,
) -> None:
    """List the claims: each one's probability at every recorded run, and its outcome."""
    from ..report import fmt
    from ..store import quantities
    from ..store.ledger import Ledger
    from ..store.scores import scored
    with user_errors():
        path = ledger or DEFAULT
        with Ledger(path, create=False, write=False) as led:
            rows = [(c, led.history(c)) for c in led.claims()]
            outcomes = led.outcomes()
            scores = {s.claim: s for s in scored(led)[0]}
            resolved = quantities.scored(led)
    if quiet:
        return
    for c, hist in rows:
        o = outcomes.get(c)
        end = f"  -> {'true' if o.outcome else 'false'} ({o.date})" if o else ""
        s = scores.get(c)
        end += (f", Brier {s.brier:.3f} (forecast of {s.forecast.created}, {s.forecast.run_dir})" if s else
                ", not scored: resolved before any recorded forecast" if o else "")
        typer.echo(f"{c}{end}")
        for f in hist:
            context = "  (scenario: context, not scored)" if f.role == "scenario" else ""
            typer.echo(f"  {f.created}  {fmt.prob(f.probability, f.mcse)}  {f.run_dir}{context}")
    for name, q in resolved.items():
        typer.echo(f"{name}  -> {q['value']:g} ({q['date']})" + ("" if q["scores"] else ", no forecast on record by then"))
        for s in q["scores"]:
            log = ("undefined (beyond the forecast's grid)" if s.log_score is None else f"{s.log_score:.3f}")
            typer.echo(f"  {s.date}  CRPS {s.crps:.4g} ± {s.crps_mcse:.2g}, log score {log}, PIT {s.pit:.3f}  "
                       f"{s.run_dir}")
    if not rows:
        say(f"riskmc: {path} holds no runs yet")


@app.command("report")
def report(
    out: Annotated[Path, typer.Option(file_okay=False, metavar="DIR", help="Folder to write ledger.html and "
                                      "ledger.json into.")],
    ledger: LedgerPath = None,
    quiet: Quiet = False,
) -> None:
    """Write the track record: each claim's probability over time, Brier and log scores of
    the resolved ones, and a calibration diagram once enough have resolved."""
    from ..report.html import render_ledger
    from ..store.commit import Transaction
    from ..store.io import dumps_json
    from ..store.ledger import Ledger, LedgerUsageError
    from ..store.scores import report_data
    with user_errors(out):
        if (out / "summary.json").exists():
            raise LedgerUsageError(f"{out} holds a run: the ledger's page goes in a folder of its own",
                                   hint="give another --out, e.g. reports/ledger")
        path = ledger or DEFAULT
        tx = Transaction(out, kind="ledger", inputs=[path], replace_run=False)
        with Ledger(path, create=False, write=False) as led:
            data = report_data(led)
        with tx.begin():
            tx.write("ledger.json", dumps_json(data))
            tx.write("ledger.html", render_ledger(data, str(path)).encode())
            tx.commit()
    if not quiet:
        typer.echo(out / "ledger.html")
