"""The ledger's schema: its tables, how an older one is migrated, and what a value riskmc
writes looks like (a ledger edited by hand past SQLite's integrity check is refused whole).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from ..errors import LedgerError

SCHEMA = 4
TABLES = ("runs", "forecasts", "outcomes", "quantities", "quantity_outcomes", "expert_views")
ROLES = ("forecast", "scenario")  # what a recorded run is: scored, or context beside the forecasts
MIGRATIONS = {
    1: """
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    run_key       TEXT NOT NULL UNIQUE,  -- SHA-256 of summary.json: the same run is recorded once
    created       TEXT NOT NULL,         -- the forecast's date, YYYY-MM-DD
    title         TEXT NOT NULL,
    priors        TEXT NOT NULL,         -- the priors file's path, as the run recorded it
    priors_sha256 TEXT NOT NULL,
    model         TEXT NOT NULL,
    model_sha256  TEXT NOT NULL,
    scenario      TEXT,
    seed          INTEGER NOT NULL,
    draws         INTEGER NOT NULL,
    version       TEXT NOT NULL,         -- riskmc's version
    run_dir       TEXT NOT NULL,
    recorded      TEXT NOT NULL          -- when it was recorded, UTC
);
CREATE TABLE forecasts (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    claim       TEXT NOT NULL,
    text        TEXT NOT NULL,
    event       TEXT NOT NULL,
    probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    mcse        REAL NOT NULL CHECK (mcse >= 0),
    PRIMARY KEY (run_id, claim)
);
CREATE INDEX forecasts_by_claim ON forecasts(claim);
CREATE TABLE outcomes (
    claim    TEXT PRIMARY KEY,
    outcome  INTEGER NOT NULL CHECK (outcome IN (0, 1)),
    date     TEXT NOT NULL,
    source   TEXT NOT NULL,
    recorded TEXT NOT NULL
);
""",
    # What each run is for (summary.json's role): forecasts are scored, scenarios kept as
    # context. Runs recorded before roles were forecasts.
    2: """
ALTER TABLE runs ADD COLUMN role TEXT NOT NULL DEFAULT 'forecast'
""",
    # Quantities (an output in a year) forecast as distributions, and the numbers they
    # resolve to: each recorded run's quantile grid, scored by CRPS, log score and PIT.
    3: """
CREATE TABLE quantities (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name   TEXT NOT NULL,        -- output[year]
    grid   TEXT NOT NULL,        -- JSON: its quantiles at levels (k + 0.5) / K, k = 0 .. K - 1
    draws  REAL NOT NULL CHECK (draws > 0),  -- the draws the grid is worth (effective sample size)
    PRIMARY KEY (run_id, name)
);
CREATE TABLE quantity_outcomes (
    name     TEXT PRIMARY KEY,
    value    REAL NOT NULL,
    date     TEXT NOT NULL,
    source   TEXT NOT NULL,
    recorded TEXT NOT NULL
)
""",
    # Each expert's stated view of a prior, as each recorded run pooled it: scored when
    # the prior's value resolves, and the expert weighted by that record (store/cooke.py).
    4: """
CREATE TABLE expert_views (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name   TEXT NOT NULL,        -- the prior (an input of the model)
    expert TEXT NOT NULL,
    grid   TEXT NOT NULL,        -- JSON: the view's quantiles at the quantities' levels
    PRIMARY KEY (run_id, name, expert)
)
""",
}



def _statements(script: str) -> list[str]:
    """A migration's statements, run one by one inside its transaction (executescript
    would commit on its own)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def check_values(db, path) -> None:
    """Every value is one riskmc writes, before anything is read or written: a ledger
    edited by hand into nonsense is refused whole, and left as it is."""
    runs = ("SELECT created, title, priors, priors_sha256, model, model_sha256, seed, draws, version, run_dir, "
            "role FROM runs")
    for r in db.execute(runs):
        _check(path, r, ("runs.created", _date), ("runs.title", _text), ("runs.priors", _text),
                    ("runs.priors_sha256", _text), ("runs.model", _text), ("runs.model_sha256", _text),
                    ("runs.seed", _whole), ("runs.draws", _draws), ("runs.version", _text),
                    ("runs.run_dir", _text), ("runs.role", _role))
    for r in db.execute("SELECT claim, text, event, probability, mcse FROM forecasts"):
        _check(path, r, ("forecasts.claim", _text), ("forecasts.text", _text), ("forecasts.event", _text),
                    ("forecasts.probability", _prob), ("forecasts.mcse", _mcse))
    for r in db.execute("SELECT name, value, date, source FROM quantity_outcomes"):
        _check(path, r, ("quantity_outcomes.name", _text), ("quantity_outcomes.value", _finite),
                    ("quantity_outcomes.date", _date), ("quantity_outcomes.source", _text))
    for r in db.execute("SELECT name, expert, grid FROM expert_views"):
        _check(path, r, ("expert_views.name", _text), ("expert_views.expert", _text), ("expert_views.grid", _grid))
    for r in db.execute("SELECT claim, outcome, date, source FROM outcomes"):
        _check(path, r, ("outcomes.claim", _text), ("outcomes.outcome", _bit), ("outcomes.date", _date),
                    ("outcomes.source", _text))

def _check(path, row: tuple, *columns) -> None:
    """A value riskmc never writes (edited by hand: 0 draws, an MCSE of 1e308, a text
    stored as bytes) makes the ledger unusable as a record: say which, change nothing."""
    for value, (name, ok) in zip(row, columns):
        if not ok(value):
            shown = repr(value) if not isinstance(value, bytes) else f"{len(value)} bytes of binary data"
            raise LedgerError(f"the ledger holds a value riskmc never writes: {name} = {_clip(shown)}; nothing "
                              "was changed", file=path,
                              hint="restore it from a backup, or record into a new --ledger PATH")


def _text(v) -> bool:
    return isinstance(v, str)


def _date(v) -> bool:
    if not isinstance(v, str) or len(v) != 10:
        return False
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _grid(v) -> bool:
    """A JSON list of finite numbers in order, as riskmc writes a quantile grid."""
    import json
    try:
        g = json.loads(v) if isinstance(v, str) else None
    except ValueError:
        return False
    return (isinstance(g, list) and len(g) > 0 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                       and math.isfinite(x) for x in g)
            and all(a <= b for a, b in zip(g, g[1:])))


def _prob(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0


def _mcse(v) -> bool:
    # A probability's Monte Carlo error is at most 0.5.
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 0.5


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _draws(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _role(v) -> bool:
    return v in ROLES


def _bit(v) -> bool:
    return v in (0, 1) and not isinstance(v, float)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def wal_at_rest(path: Path) -> bool:
    """A ledger an older riskmc left in WAL mode (its header says so), that no one is
    writing now (no -wal file beside it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    wal = Path(str(path) + "-wal")
    return len(head) == 20 and head[:16] == b"SQLite format 3\x00" and head[18:20] == b"\x02\x02" and not wal.exists()


