"""A track record of claims: each run's claim probabilities and outcomes as they resolve
(riskmc.store.scores scores them).

The ledger is one SQLite file (docs/ledger.md documents its schema, ledger_schema.py
holds it). Every change is one transaction begun with BEGIN IMMEDIATE, so concurrent
writers queue (up to BUSY_MS) instead of interleaving, and a failure leaves the ledger as
it was. The journal is a rollback journal: nothing is left beside the ledger between
commands, and a read-only one can still be read. The schema's version is SQLite's
`user_version`; MIGRATIONS bring an older ledger up to date, in a transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import LedgerError, LedgerUsageError
from .ledger_schema import (
    MIGRATIONS,
    SCHEMA,
    TABLES,
    _check,
    _date,
    _draws,
    _mcse,
    _prob,
    _statements,
    _text,
    check_values,
    wal_at_rest,
)
from .timestamp import _now, not_after_today, parse_date, today  # noqa: F401 (parse_date, today: re-exported)

BUSY_MS = 10_000
@dataclass(frozen=True)
class Forecast:
    claim: str
    created: str
    probability: float
    mcse: float
    draws: int
    title: str
    run_dir: str
    role: str = "forecast"   # or "scenario": context beside the forecasts, never scored


@dataclass(frozen=True)
class Outcome:
    claim: str
    outcome: bool
    date: str
    source: str


class Ledger:
    """An open ledger; use as a context manager. Opening for writing creates or migrates
    the file; `write=False` opens it read-only, so a track record can be read where it
    cannot be written (a read-only folder or file), and leaves nothing beside it."""

    def __init__(self, path: str | Path, *, create: bool = True, write: bool = True) -> None:
        self.path = Path(path)
        self.write = write
        try:
            self._open(create, write)
        except OSError as exc:
            raise LedgerError(f"the ledger cannot be used: {exc.strerror}; nothing was changed", file=_short(path),
                              hint="give another --ledger PATH") from None

    def _open(self, create: bool, write: bool) -> None:
        if not self.path.exists() and not create:
            raise LedgerUsageError("no ledger here yet", hint="record a run first: riskmc ledger record RUN_DIR",
                                   file=self.path)
        if self.path.exists() and not self.path.is_file():
            raise LedgerError("not a ledger: this is a folder", file=self.path)
        if not self.path.parent.is_dir():
            raise LedgerUsageError("the ledger's folder does not exist", file=self.path,
                                   hint="run from the project's folder (the default is relative to it), "
                                        "or give --ledger PATH")
        if write:
            self._check_writable()
        try:
            if write:
                self.db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
            else:
                self.db = self._read_only()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            self._migrate()
        except BaseException as exc:
            self.db.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise

    def _read_only(self) -> sqlite3.Connection:
        """A read-only connection. A ledger an older riskmc left in WAL mode cannot be
        opened read-only from a folder SQLite cannot write its index into: then it is
        read as immutable (nothing can be writing there anyway)."""
        uri = self.path.resolve().as_uri()
        if wal_at_rest(self.path):
            # Opened plainly, SQLite would create -wal and -shm files beside it to read it.
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=BUSY_MS / 1000,
                                   isolation_level=None)
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_MS / 1000, isolation_level=None)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=BUSY_MS / 1000,
                               isolation_level=None)

    def _check_writable(self) -> None:
        """A ledger riskmc cannot write is refused before SQLite opens it: SQLite would
        leave its journal files beside a file it cannot then fold them back into."""
        import os
        folder = self.path.parent
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise LedgerError("the ledger is read-only; nothing was changed", file=self.path,
                              hint="make it writable (chmod u+w), or record into another --ledger PATH")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise LedgerError("the ledger's folder is read-only (SQLite keeps its journal there while it writes); "
                              "nothing was changed", file=self.path,
                              hint="make the folder writable, or record into another --ledger PATH")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()

    def _error(self, exc: sqlite3.Error) -> LedgerError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return LedgerError(f"the ledger is locked by another writer (waited {BUSY_MS / 1000:g} s); "
                               "nothing was changed", file=self.path, hint="try again when it finishes")
        if "not a database" in text or "malformed" in text or "no such table" in text:
            return LedgerError("not a riskmc ledger (the file is damaged or something else); nothing was changed",
                               file=self.path, hint="restore it from a backup, or record into a new --ledger PATH")
        return LedgerError(f"the ledger cannot be used: {text}; nothing was changed", file=self.path)

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version < 0:
            raise LedgerError(f"not a riskmc ledger (its schema version is {version}); nothing was changed",
                              file=self.path, hint="restore it from a backup, or record into a new --ledger PATH")
        if version > SCHEMA:
            raise LedgerError(f"this ledger has schema {version}, newer than this riskmc's ({SCHEMA})",
                              file=self.path, hint="upgrade riskmc to read it")
        if version < SCHEMA:
            if not self.write:
                if version == 0 and not self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise LedgerUsageError("no ledger here yet", file=self.path,
                                           hint="record a run first: riskmc ledger record RUN_DIR")
                raise LedgerError(f"this ledger has schema {version}, older than this riskmc's ({SCHEMA}); it "
                                  "is brought up to date the next time a run is recorded", file=self.path)
            self._retry(self._create)
        self._check_tables()
        check_values(self.db, self.path)
        if self.write:
            # A rollback journal, not WAL: nothing is left beside the ledger between commands,
            # and it can be read from a read-only folder. Writers still queue (BEGIN IMMEDIATE).
            with contextlib.suppress(sqlite3.OperationalError):
                self.db.execute("PRAGMA journal_mode = DELETE")

    def _create(self) -> None:
        """Create or migrate the tables, deciding under the write lock: another process may
        have done it while this one waited, or be doing it now."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            now = self.db.execute("PRAGMA user_version").fetchone()[0]
            if now == 0 and self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise LedgerError("not a riskmc ledger (an SQLite file with other tables); nothing was changed",
                                  file=self.path, hint="record into a new --ledger PATH")
            for v in range(now + 1, SCHEMA + 1):
                for stmt in _statements(MIGRATIONS[v]):
                    self.db.execute(stmt)
            if now < SCHEMA:
                self.db.execute(f"PRAGMA user_version = {SCHEMA}")
            self.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _retry(self, fn):
        """fn(), again while another writer holds the file (SQLite may say so at once,
        without waiting, when two connections race to create it), up to BUSY_MS."""
        deadline = time.monotonic() + BUSY_MS / 1000
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (a full disk): then there is
        # nothing left to roll back, and ROLLBACK would hide the real error.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _check_tables(self) -> None:
        objects = self.db.execute("SELECT type, name FROM sqlite_master").fetchall()
        names = {n for t, n in objects if t == "table"}
        if not set(TABLES) <= names:
            raise LedgerError("not a riskmc ledger (its tables are missing); nothing was changed", file=self.path,
                              hint="restore it from a backup, or record into a new --ledger PATH")
        # A trigger or view someone added would run, or answer, in riskmc's name (a trigger
        # that deletes every forecast on the next record): a ledger riskmc never made.
        alien = sorted(f"{t} {n}" for t, n in objects if t in ("trigger", "view")
                       or (t == "table" and n not in TABLES))
        if alien:
            raise LedgerError(f"not a riskmc ledger (it holds {alien[0]}, which riskmc never makes); nothing was "
                              "changed", file=self.path, hint="restore it from a backup, or record into a new "
                                                                "--ledger PATH")
        if self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise LedgerError("the ledger is damaged (SQLite's integrity check fails); nothing was changed",
                              file=self.path, hint="restore it from a backup, or record into a new --ledger PATH")

    def _write(self, fn):
        """fn(db) in one immediate transaction: all of it, or nothing."""
        from .. import interrupt
        try:
            self._retry(lambda: self.db.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            out = fn(self.db)
            with interrupt.critical():  # the stop watchdog waits for the commit
                self.db.execute("COMMIT")
            return out
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise

    def _read(self, sql: str, args=()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # ------------------------------------------------------------------ writing
    def record(self, summary: dict, raw: bytes, run_dir: str, date: str | None = None) -> str | None:
        """Record a run's claims: None, or the date it was recorded with when this very
        run (same summary.json) is already in, which is then left as it is."""
        return self.record_all([(summary, raw, run_dir)], date)[0]

    def record_all(self, runs: list[tuple[dict, bytes, str]], date: str | None = None, *,
                   as_forecast: bool = False, grids: list[tuple[dict, float, dict] | None] | None = None
                   ) -> list[str | None]:
        """Record several runs' claims in one transaction: all of them, or none (a claim one
        of them states differently refuses the lot). Per run: None, or the date it was
        already recorded with. Forecasts are scored once their claims resolve, scenarios
        kept as context; a scratch run is refused unless `as_forecast`. `grids`: per run,
        its quantities' quantile grids (output[year] or input -> quantiles at
        quantities.LEVELS), the draws they are worth, and each expert's view of each
        pooled prior (prior -> expert -> quantiles), kept to score them when they resolve."""
        for summary, _, run_dir in runs:
            if not summary["claims"]:
                raise LedgerUsageError("this run has no claims to record", file=run_dir,
                                       hint="add [claims.NAME] tables to its priors file")
            check_recordable(summary, run_dir, as_forecast)
        dates = [parse_date(date or (s.get("created") or "")[:10] or dt.date.today().isoformat(), "the run's date")
                 for s, _, _ in runs]
        who = None if len(runs) == 1 else "name"
        grids = grids or [None] * len(runs)
        return self._write(lambda db: [self._insert(db, s, raw, d, c, who, g)
                                       for (s, raw, d), c, g in zip(runs, dates, grids)])

    def _insert(self, db, summary: dict, raw: bytes, run_dir: str, created: str, who=None,
                grid: tuple[dict, float, dict] | None = None) -> str | None:
        key = hashlib.sha256(raw).hexdigest()
        priors = summary["priors_files"][0]
        model = summary["model"]
        claims = summary["claims"]
        old = db.execute("SELECT created FROM runs WHERE run_key = ?", (key,)).fetchone()
        if old:
            return old[0]
        for name, c in claims.items():
            # A claim is known by its name: a new meaning under an old name would join the
            # old claim's history and be scored against the old claim's outcome.
            was = db.execute("SELECT f.event FROM forecasts f JOIN runs r ON r.id = f.run_id WHERE f.claim = ? "
                             "ORDER BY r.created DESC, r.id DESC LIMIT 1", (name,)).fetchone()
            if was and " ".join(was[0].split()) != " ".join(c.get("event", "").split()):
                raise LedgerUsageError(
                    f"claim '{name}' is recorded as \"{was[0]}\", and {'this run' if who is None else run_dir} states it as "
                    f"\"{c.get('event', '')}\"; nothing was recorded", file=self.path,
                    hint="give the new meaning a new name in the priors file (e.g. " + name + "b), "
                         "or record into another --ledger")
        cur = db.execute(
            "INSERT INTO runs (run_key, created, title, priors, priors_sha256, model, model_sha256, scenario, "
            "seed, draws, version, run_dir, recorded, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, created, summary["title"], priors["path"], priors["sha256"], model["name"],
             model.get("sha256", ""), summary.get("scenario"), int(summary["seed"]), int(summary["draws"]),
             summary["riskmc_version"], str(run_dir), _now(),
             "scenario" if role_of(summary) == "scenario" else "forecast"))
        for name, c in claims.items():
            db.execute("INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?)",
                       (cur.lastrowid, name, c.get("text", ""), c.get("event", ""),
                        float(c["probability"]["value"]), float(c["probability"]["mcse"])))
        if grid is not None:
            quantiles, draws, views = grid
            for name, q in quantiles.items():
                db.execute("INSERT INTO quantities VALUES (?, ?, ?, ?)",
                           (cur.lastrowid, name, json.dumps([float(v) for v in q]), float(draws)))
            for name, experts in views.items():
                for expert, q in experts.items():
                    db.execute("INSERT INTO expert_views VALUES (?, ?, ?, ?)",
                               (cur.lastrowid, name, expert, json.dumps([float(v) for v in q])))
        return None

    def has(self, raw: bytes) -> bool:
        """Whether the run with this summary.json is recorded."""
        return bool(self._read("SELECT 1 FROM runs WHERE run_key = ?", (hashlib.sha256(raw).hexdigest(),)))

    def resolve(self, claim: str, outcome: bool, date: str, source: str, *, replace: bool = False) -> bool:
        """Record a claim's outcome; False when the same outcome is already recorded."""
        date = parse_date(date)
        if not source.strip():
            raise LedgerUsageError("--source must say where the outcome is reported")
        known = self.claims()
        if claim not in known:
            # Claim names are short (C1, C2): say them all rather than guess among look-alikes.
            same = [k for k in known if k.lower() == claim.lower()]
            hint = (f"did you mean '{same[0]}'?" if same else
                    f"recorded claims: {', '.join(known[:20])}{', ...' if len(known) > 20 else ''}" if known
                    else "record a run first: riskmc ledger record RUN_DIR")
            raise LedgerUsageError(f"no recorded run has a claim '{claim}'", file=self.path, hint=hint)
        not_after_today(claim, date, self.path)

        def put(db):
            old = db.execute("SELECT outcome, date, source FROM outcomes WHERE claim = ?", (claim,)).fetchone()
            if old is not None:
                if (bool(old[0]), old[1], old[2]) == (outcome, date, source):
                    return False
                if not replace:
                    raise LedgerUsageError(
                        f"claim '{claim}' is already resolved {'true' if old[0] else 'false'} on {old[1]} "
                        f"({old[2]}); nothing was changed", file=self.path,
                        hint="pass --replace to change the recorded outcome")
            db.execute("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                       (claim, int(outcome), date, source, _now()))
            return True

        return self._write(put)

    # ------------------------------------------------------------------ reading
    def claims(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT claim FROM forecasts ORDER BY claim")]

    def history(self, claim: str) -> list[Forecast]:
        """A claim's forecasts, oldest first (by date, then by when they were recorded)."""
        rows = self._read(
            "SELECT f.claim, r.created, f.probability, f.mcse, r.draws, r.title, r.run_dir, r.role FROM forecasts f "
            "JOIN runs r ON r.id = f.run_id WHERE f.claim = ? ORDER BY r.created, r.id", (claim,))
        for r in rows:
            _check(self.path, r, ("forecasts.claim", _text), ("runs.created", _date), ("forecasts.probability", _prob),
                        ("forecasts.mcse", _mcse), ("runs.draws", _draws), ("runs.title", _text),
                        ("runs.run_dir", _text))
        return [Forecast(*r) for r in rows]

    def texts(self) -> dict[str, tuple[str, str]]:
        """Each claim's latest text and event."""
        rows = self._read("SELECT f.claim, f.text, f.event FROM forecasts f JOIN runs r ON r.id = f.run_id "
                          "ORDER BY r.created, r.id")
        for r in rows:
            _check(self.path, r, ("forecasts.claim", _text), ("forecasts.text", _text), ("forecasts.event", _text))
        return {c: (t, e) for c, t, e in rows}

    def outcomes(self) -> dict[str, Outcome]:
        rows = self._read("SELECT claim, outcome, date, source FROM outcomes ORDER BY claim")  # checked on opening
        return {r[0]: Outcome(r[0], bool(r[1]), r[2], r[3]) for r in rows}

    def runs(self) -> int:
        return self._read("SELECT count(*) FROM runs")[0][0]

def check_recordable(summary: dict, run_dir, as_forecast: bool = False) -> None:
    """A scratch run is no forecast: refused, unless the user says to score it anyway."""
    if role_of(summary) == "scratch" and not as_forecast:
        raise LedgerUsageError(
            "a scratch run (a setting that changes its numbers was given on the command line, or --scratch): "
            "not recorded", file=run_dir,
            hint="run the priors file with its own settings, or pass --as-forecast to score it anyway")


def role_of(summary: dict) -> str:
    """A run's role as its summary.json records it (runs made before roles were forecasts)."""
    return summary.get("role", "forecast")


def _short(path, limit: int = 120) -> str:
    text = str(path)
    return text if len(text) <= limit else text[:limit // 2 - 2] + "..." + text[-(limit // 2 - 2):]


