"""Read priors files into a validated PriorSet: parse, compose, fit, check against the model.

Every mistake becomes a PriorsError naming the file, the line, the prior and the fix.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import PriorsError
from ..settings import FILE_KEYS as RUN_KEYS  # the settings a priors file's [run] table may give
from . import evidence as evidence_tables
from .build import _build_prior
from .claims import _build_claim
from .compose import _check_name, _did_you_mean, _Doc, _Entry, _load_chain, _merge_prior, _redacted, _Where
from .copula import build_dependence
from .decisions import build_decision
from .priorset import ModelRef, Prior, PriorSet, SourceFile

SCENARIO_KEYS = ("description", "priors", "evidence")


def model_ref(path: str | Path) -> ModelRef:
    """Which model a priors file (or a file it extends) names with `model = "..."`."""
    path = Path(path)
    try:
        chain = _load_chain(path)
    except PriorsError as exc:
        raise _redacted(exc, path) from exc.__cause__
    for doc in reversed(chain):
        if "model" in doc.data:
            return ModelRef(doc.data["model"], doc.path.parent, str(doc.path), doc.lines.line("model"))
    raise PriorsError("the file names no model", file=path,
                      hint='add model = "market" (the essay\'s model, built in) or model = "models/NAME.py" '
                           "(a model of your own) at the top")


def load(path: str | Path, *, model, scenario: str | None = None, allow_unused: bool = False) -> PriorSet:
    """Load, compose and validate a priors file (and what it extends) against `model`.

    `model` is the riskmc.Model the priors feed: its inputs need one prior each, its
    outputs and years are what claims may name. With `scenario`, that
    `[scenarios.NAME]` overlay is applied last.
    """
    try:
        return _load(Path(path), scenario, model, allow_unused)
    except PriorsError as exc:
        raise _redacted(exc, Path(path)) from exc.__cause__


def _some(names: list[str], most: int = 6) -> str:
    """A few names and how many more: a hint stays one readable line."""
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more} more that riskmc priors show lists" if more > 0 else "")


def _overlaid(scenario: str, table: dict, doc, entries: dict) -> dict:
    """The priors scenario `scenario` changes, each merged over the files' own entry."""
    w = _Where(doc)
    out = {}
    for name, overlay in _table(w, table, "priors", ("scenarios", scenario)).items():
        if name not in entries:
            raise w.error(f"scenario '{scenario}' changes prior '{name}', which no file defines",
                          "scenarios", scenario, "priors", name, hint=_did_you_mean(name, entries))
        out[name] = _Entry(_merge_prior(entries[name].table, overlay), doc, ("scenarios", scenario, "priors", name))
    return out


def _load(path: Path, scenario, model, allow_unused) -> PriorSet:
    inputs, outputs = model.inputs, model.outputs
    path = Path(path)
    chain = _load_chain(path)
    top = chain[-1]

    entries: dict[str, _Entry] = {}
    corr: dict[str, tuple[Any, _Doc]] = {}
    claims: dict[str, tuple[dict, _Doc]] = {}
    decisions: dict[str, tuple[dict, _Doc]] = {}
    evidence: dict[str, tuple[Any, _Doc, tuple[str, ...]]] = {}
    scenarios: dict[str, tuple[dict, _Doc]] = {}
    run: dict[str, Any] = {}
    title = ""
    for doc in chain:
        w = _Where(doc)
        d = doc.data
        for key in ("title", "description"):
            if key in d and not isinstance(d[key], str):
                raise w.error(f"'{key}' must be text in quotes", key)
        title = d.get("title", title)
        run_table = _table(w, d, "run")
        for key, value in run_table.items():
            if key not in RUN_KEYS:
                raise w.error(f"unknown key '{key}' in [run]", "run", key, hint=_did_you_mean(key, RUN_KEYS))
            run[key] = value
        for name, table in _table(w, d, "priors").items():
            _check_name(w, "prior", name, ("priors", name))
            if not isinstance(table, dict):
                raise w.error(f"prior '{name}' must be a table: [priors.{name}]", "priors", name)
            old = entries.get(name)
            entries[name] = _Entry(_merge_prior(old.table if old else None, table), doc, ("priors", name))
        for key, value in _table(w, d, "correlations").items():
            corr[key] = (value, doc)
        for name, table in _table(w, d, "claims").items():
            _check_name(w, "claim", name, ("claims", name))
            claims[name] = (table, doc)
        for name, table in _table(w, d, "decisions").items():
            _check_name(w, "decision", name, ("decisions", name))
            decisions[name] = (table, doc)
        for name, table in _table(w, d, "evidence").items():
            _check_name(w, "evidence", name, ("evidence", name))
            evidence[name] = (table, doc, ("evidence", name))
        for name, table in _table(w, d, "scenarios").items():
            _check_name(w, "scenario", name, ("scenarios", name))
            if not isinstance(table, dict):
                raise w.error(f"scenario '{name}' must be a table: [scenarios.{name}]", "scenarios", name)
            scenarios[name] = (table, doc)

    for name, (table, doc) in scenarios.items():
        w = _Where(doc)
        for key in table:
            if key not in SCENARIO_KEYS:
                raise w.error(f"unknown key '{key}' in scenario '{name}'", "scenarios", name, key,
                              hint=_did_you_mean(key, SCENARIO_KEYS))
        if "description" in table and not isinstance(table["description"], str):
            raise w.error(f"scenario '{name}': 'description' must be text in quotes",
                          "scenarios", name, "description")
        for pname, overlay in _table(w, table, "priors", ("scenarios", name)).items():
            if not isinstance(overlay, dict):
                raise w.error(f"scenario '{name}' changes prior '{pname}': that must be a table: "
                              f"[scenarios.{name}.priors.{pname}]", "scenarios", name, "priors", pname)
    if scenario is not None:
        if scenario not in scenarios:
            known = ", ".join(sorted(scenarios)) or "none defined"
            close = difflib.get_close_matches(scenario, list(scenarios), n=1, cutoff=0.6)
            raise PriorsError(f"unknown scenario '{scenario}'", file=top.path,
                              hint=f"did you mean '{close[0]}'?" if close else f"scenarios in this file: {known}")
    plain = dict(entries)   # the priors as the files state them, before any overlay
    if scenario is not None:
        table, doc = scenarios[scenario]
        w = _Where(doc)
        entries.update(_overlaid(scenario, table, doc, plain))
        for name, ev in _table(w, table, "evidence", ("scenarios", scenario)).items():
            _check_name(w, "evidence", name, ("scenarios", scenario, "evidence", name))
            evidence[name] = (ev, doc, ("scenarios", scenario, "evidence", name))

    by_name = {i.name: i for i in inputs}
    warnings = []
    unused = [n for n in entries if n not in by_name]
    for name in unused:
        e = entries[name]
        close = difflib.get_close_matches(name, [n for n in by_name if n not in entries], n=1, cutoff=0.6)
        if close and not allow_unused:
            raise _Where(e.doc).error(f"[priors.{name}] names no input of model '{model.name}'", *e.path,
                                      hint=f"did you mean '{close[0]}'?")
        msg = f"prior '{name}' is not used by model '{model.name}'"
        # A near-miss of a prior some file already gives (an overlay's typo): say so first.
        near = difflib.get_close_matches(name, [n for n in by_name if n in entries], n=1, cutoff=0.85)
        if near and not allow_unused:
            raise _Where(e.doc).error(
                msg, *e.path, hint=f"did you mean '{near[0]}'? To change that prior, use its exact name; to add "
                f"a new one, add riskmc.Input(\"{name}\") to a model of your own (docs/models.md)")
        if not allow_unused:
            raise _Where(e.doc).error(
                msg, *e.path, hint=f"its inputs are {_some(list(by_name))}; to use this prior, add "
                f"riskmc.Input(\"{name}\") to a model of your own (docs/models.md), or pass --allow-unused")
        warnings.append(str(PriorsError(msg, file=e.doc.path, line=e.doc.lines.line(*e.path))))
    missing = [n for n in by_name if n not in entries]
    if missing:
        raise PriorsError(f"model '{model.name}' needs priors that no file gives: {', '.join(missing)}",
                          file=top.path, hint="add a [priors.NAME] table for each")

    priors = {}
    notes: list[str] = []
    for spec in inputs:
        e = entries[spec.name]
        priors[spec.name] = _build_prior(spec, e, notes)
    # The other scenarios' changed priors are built too (each prior a fit the cache keeps):
    # a file that `priors check` refuses for a scenario is refused by every run of it.
    for other, (table, doc) in scenarios.items():
        if other != scenario:
            for name, e in _overlaid(other, table, doc, plain).items():
                if name in by_name:
                    _build_prior(by_name[name], e, [])

    dependence = build_dependence(
        {k: v for k, (v, _) in corr.items()}, list(priors),
        locate=lambda key: _where_corr(corr, key),
        discrete={n for n, p in priors.items() if p.family.discrete or p.family.name == "fixed"},
    )
    out_names = {o.name for o in outputs}
    built_claims = {name: _build_claim(name, table, _Where(doc), out_names, model.years, model)
                    for name, (table, doc) in claims.items()}
    built_decisions = {name: build_decision(name, table, _Where(doc), model) for name, (table, doc) in decisions.items()}
    built_evidence = {}
    for name, (table, doc, where) in evidence.items():
        w = _Where(doc)

        def err(message, key=None, hint=None, w=w, where=where, name=name):
            return w.error(f"evidence '{name}': {message}", *where, *((key,) if key else ()), hint=hint)
        e = evidence_tables.build(name, table, err, model, lambda n: _support(priors[n], by_name[n]))
        built_evidence[name] = replace(e, file=str(doc.path), line=doc.lines.line(*where))
    evidence_tables.contradictions(list(built_evidence.values()), lambda e: (e.file, e.line))
    _check_run(run, top)
    return PriorSet(
        title=title or path.stem,
        priors=priors,
        dependence=dependence,
        claims=built_claims,
        run=run,
        files=tuple(SourceFile(str(d.path), d.sha256) for d in reversed(chain)),
        scenario=scenario,
        scenarios=tuple(sorted(scenarios)),
        warnings=tuple(warnings + notes + list(dependence.notes)),
        model=model,
        evidence=built_evidence,
        decisions=built_decisions,
    )


def _support(prior: Prior, spec) -> tuple[float, float]:
    """The values an input's prior can reach, inside the model's bounds for it."""
    lo, hi = prior.family.support()
    return max(lo, spec.lower), min(hi, spec.upper)



def _where_corr(corr, key):
    if key in corr:
        doc = corr[key][1]
        return doc.path, doc.lines.line("correlations", key)
    doc = next(iter(corr.values()))[1] if corr else None
    return (doc.path, doc.lines.line("correlations")) if doc else (None, None)


def _table(w: _Where, d: dict, key: str, prefix: tuple[str, ...] = ()) -> dict:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise w.error(f"'{key}' must be a table: [{'.'.join((*prefix, key))}]", *prefix, key)
    return value


def _check_run(run: dict, top: _Doc) -> None:
    """The [run] table's settings, by the validators every run's settings go through
    (riskmc.settings): a mistake here names the file and the line."""
    from ..settings import SETTINGS, SettingError
    w = _Where(top)
    for key in RUN_KEYS:
        if key in run:
            try:
                run[key] = SETTINGS[key].check(run[key])
            except SettingError as exc:
                raise w.error(f"[run] {key} {exc.file_message.removeprefix(key + ' ')}", "run", key,
                              hint=exc.hint) from None

