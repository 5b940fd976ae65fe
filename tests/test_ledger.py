"""The claims ledger: scores against hand-computed values, which forecast is scored,
idempotent recording, concurrent writers, migrations, and every error in one line with
its exit code and the ledger unchanged."""

import json
import math
import re
import sqlite3

import pytest
from scipy import stats
from typer.testing import CliRunner

from riskmc.cli import app
from riskmc.store import ledger as L
from riskmc.store import scores as S
from riskmc.store.timestamp import today
from tests.conftest import ROOT

runner = CliRunner()


def summary(claims: dict[str, tuple[float, float]], seed: int = 1, draws: int = 10_000,
            event: str = "y > 0") -> tuple[dict, bytes]:
    """The parts of a summary.json the ledger reads."""
    s = {"riskmc_version": "test", "created": None, "title": "t", "seed": seed, "draws": draws, "scenario": None,
         "priors_files": [{"path": "priors/t.toml", "sha256": "ab" * 32}],
         "model": {"name": "m", "sha256": "cd" * 32},
         "claims": {k: {"text": f"claim {k}", "event": event, "probability": {"value": p, "mcse": e}}
                    for k, (p, e) in claims.items()}}
    return s, json.dumps(s, sort_keys=True).encode()


def test_scores_match_hand_computed_values(tmp_path):
    with L.Ledger(tmp_path / "l.sqlite") as led:
        led.record(*summary({"A": (0.7, 0.01), "B": (0.2, 0.02)}), "r1", "2026-01-01")
        led.resolve("A", True, "2026-06-30", "report")
        led.resolve("B", False, "2026-06-30", "report")
        scores, unscored = S.scored(led)
    by = {s.claim: s for s in scores}
    assert unscored == []
    # A: (0.7 - 1)^2 = 0.09, ln 0.7; B: (0.2 - 0)^2 = 0.04, ln 0.8.
    assert by["A"].brier == pytest.approx(0.09) and by["B"].brier == pytest.approx(0.04)
    assert by["A"].log == pytest.approx(math.log(0.7)) and by["B"].log == pytest.approx(math.log(0.8))
    # Monte Carlo errors by the delta method: |d(p - o)^2/dp| = 2|p - o|, |d ln p/dp| = 1/p.
    assert by["A"].brier_mcse == pytest.approx(2 * 0.3 * 0.01) and by["B"].brier_mcse == pytest.approx(2 * 0.2 * 0.02)
    assert by["A"].log_mcse == pytest.approx(0.01 / 0.7) and by["B"].log_mcse == pytest.approx(0.02 / 0.8)
    mean = S.mean_score(scores, "brier")
    assert mean.value == pytest.approx(0.065)
    assert mean.mcse == pytest.approx((0.006 + 0.008) / 2)  # an upper bound: one run's claims share draws
    assert mean.se == pytest.approx(math.sqrt(((0.09 - 0.065) ** 2 + (0.04 - 0.065) ** 2) / 1 / 2))


def test_a_certain_forecast_that_fails_is_scored_as_half_a_draw(tmp_path):
    """0 hits in 10,000 draws is not certainty: the log score reads it as 0.5/10,000."""
    with L.Ledger(tmp_path / "l.sqlite") as led:
        led.record(*summary({"A": (0.0, 0.0)}, draws=10_000), "r1", "2026-01-01")
        led.resolve("A", True, "2026-06-30", "report")
        (s,), _ = S.scored(led)
    assert s.brier == 1.0 and s.log == pytest.approx(math.log(0.5 / 10_000))


def test_the_forecast_on_record_when_the_claim_resolved_is_scored(tmp_path):
    with L.Ledger(tmp_path / "l.sqlite") as led:
        led.record(*summary({"A": (0.3, 0.01)}, seed=1), "r1", "2026-01-01")
        led.record(*summary({"A": (0.6, 0.01)}, seed=2), "r2", "2026-05-01")
        led.record(*summary({"A": (0.99, 0.01)}, seed=3), "r3", "2026-08-01")  # after the fact
        led.resolve("A", True, "2026-06-30", "report")
        (s,), _ = S.scored(led)
        assert [f.probability for f in led.history("A")] == [0.3, 0.6, 0.99]
    assert s.forecast.probability == 0.6 and s.brier == pytest.approx(0.16)


def test_recording_the_same_run_twice_changes_nothing(tmp_path):
    s, raw = summary({"A": (0.5, 0.01)})
    with L.Ledger(tmp_path / "l.sqlite") as led:
        assert led.record(s, raw, "r1", "2026-01-01") is None
        assert led.record(s, raw, "r1", "2030-01-01") == "2026-01-01"  # the first date stays
        assert led.runs() == 1 and len(led.history("A")) == 1


def test_a_claim_that_changes_meaning_is_refused(tmp_path):
    path = tmp_path / "l.sqlite"
    with L.Ledger(path) as led:
        led.record(*summary({"A": (0.5, 0.01)}), "r1", "2026-01-01")
        with pytest.raises(L.LedgerUsageError) as e:
            led.record(*summary({"A": (0.9, 0.01)}, seed=2, event="y > 1"), "r2", "2026-02-01")
        assert str(e.value) == (f"{path}: claim 'A' is recorded as \"y > 0\", and this run states it as \"y > 1\"; "
                                "nothing was recorded (give the new meaning a new name in the priors file (e.g. Ab), "
                                "or record into another --ledger)")
        assert led.runs() == 1
        led.record(*summary({"A": (0.6, 0.01)}, seed=3, event="y  >  0"), "r3", "2026-03-01")  # spacing only
        assert led.runs() == 2


def at_once(n: int, work) -> list[Exception]:
    """work(k) on n threads started together; the exceptions they raised."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(work, k) for k in range(n)]
    return [f.exception() for f in futures if f.exception() is not None]


def test_concurrent_writers_all_land(tmp_path):
    """Eight threads, each with its own connection, record five runs each at once."""
    path = tmp_path / "l.sqlite"
    L.Ledger(path).db.close()

    def writer(k):
        with L.Ledger(path) as led:
            for j in range(5):
                led.record(*summary({"A": (0.5, 0.01)}, seed=100 * k + j), f"r{k}-{j}", "2026-01-01")

    assert at_once(8, writer) == []
    with L.Ledger(path) as led:
        assert led.runs() == 40 and len(led.history("A")) == 40


def test_concurrent_first_writers_of_a_new_ledger_all_land(tmp_path):
    """Six threads create and write the same new ledger at once, ten times over."""
    for trial in range(10):
        path = tmp_path / f"l{trial}.sqlite"

        def writer(k, path=path):
            with L.Ledger(path) as led:
                led.record(*summary({"A": (0.5, 0.01)}, seed=k), f"r{k}", "2026-01-01")

        assert at_once(6, writer) == [], trial
        with L.Ledger(path) as led:
            assert led.runs() == 6


def test_a_damaged_page_is_refused_unchanged(tmp_path):
    path = tmp_path / "l.sqlite"
    with L.Ledger(path) as led:
        for k in range(40):
            led.record(*summary({f"c{j}": (0.5, 0.01) for j in range(20)}, seed=k), f"r{k}", "2026-01-01")
    data = bytearray(path.read_bytes())
    assert len(data) > 16 * 4096
    page = data.rfind(b"r20") // 4096 * 4096   # a page of the runs table's rows (not the header's)
    assert page > 0
    for i in range(page + 200, page + 4000):  # scribble over it
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(L.LedgerError, match="damaged"):
        with L.Ledger(path) as led:
            led.record(*summary({"c0": (0.5, 0.01)}, seed=99), "r99", "2026-01-01")
    assert path.read_bytes() == bytes(data)


def test_a_full_disk_is_one_error_and_the_ledger_unchanged(tmp_path):
    path = tmp_path / "l.sqlite"
    with L.Ledger(path) as led:
        led.record(*summary({"A": (0.5, 0.01)}), "r0", "2026-01-01")
        before = list(led.db.iterdump())
        pages = led.db.execute("PRAGMA page_count").fetchone()[0]
        led.db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
        big = {f"c{j}-{'x' * 200}": (0.5, 0.01) for j in range(400)}
        with pytest.raises(L.LedgerError, match="database or disk is full; nothing was changed"):
            led.record(*summary(big, seed=2), "r1", "2026-01-02")
        assert list(led.db.iterdump()) == before


def test_calibration_bins_with_jeffreys_intervals(tmp_path):
    with L.Ledger(tmp_path / "l.sqlite") as led:
        claims = {f"c{k}": (0.1 if k < 6 else 0.9, 0.001) for k in range(12)}
        led.record(*summary(claims), "r1", "2026-01-01")
        for k in range(12):  # 1 of 6 low forecasts came true, 5 of 6 high ones
            led.resolve(f"c{k}", (k == 0) or (k >= 6 and k != 11), "2026-06-30", "report")
        scores, _ = S.scored(led)
    bins = S.calibration(scores)
    assert [(b.lo, b.n, b.observed) for b in bins] == [(0.0, 6, pytest.approx(1 / 6)), (0.8, 6, pytest.approx(5 / 6))]
    assert bins[0].interval == pytest.approx(tuple(stats.beta(1.5, 5.5).ppf([0.05, 0.95])))
    assert S.calibration(scores[:9]) is None  # fewer than MIN_CALIBRATION


def test_a_newer_or_foreign_database_is_refused_unchanged(tmp_path):
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(L.LedgerError, match=r"this ledger has schema 99, newer than this riskmc's \(4\)"):
        L.Ledger(newer)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    before = foreign.read_bytes()
    with pytest.raises(L.LedgerError, match="an SQLite file with other tables"):
        L.Ledger(foreign)
    assert foreign.read_bytes() == before


def test_the_schema_is_documented():
    doc = (ROOT / "docs" / "ledger.md").read_text()
    for table in L.TABLES:
        assert f"`{table}`" in doc
    for line in (L.MIGRATIONS[1] + L.MIGRATIONS[3] + L.MIGRATIONS[4]).splitlines():
        word = line.strip().split(" ")[0]
        if line.startswith("    ") and word.isidentifier() and word.upper() != word:
            assert f"`{word}`" in doc, word


def test_a_schema_3_ledger_migrates_forward_in_one_transaction(tmp_path):
    """A ledger riskmc wrote before expert views were kept gains their table, its runs kept."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for v in (1, 2, 3):
        for stmt in L._statements(L.MIGRATIONS[v]):
            db.execute(stmt)
    db.execute("PRAGMA user_version = 3")
    db.close()
    with L.Ledger(path) as led:
        led.record(*summary({"c0": (0.5, 0.01)}, seed=1), "r1", "2026-01-01")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM expert_views").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    db.close()


# ------------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real forecasts of the base case (different seeds, set in their priors files' [run]
    tables: a seed given on the command line would make a scratch run), in a project-like
    folder; and a scratch run and a scenario of it."""
    root = tmp_path_factory.mktemp("proj")
    (root / "priors").mkdir()
    for k in (1, 2):
        path = root / "priors" / f"f{k}.toml"
        path.write_text(f'extends = "{ROOT / "priors" / "base.toml"}"\n[run]\nseed = {k}\ndraws = 4096\n')
        r = runner.invoke(app, ["run", str(path), "--out", str(root / f"r{k}"), "--quiet"])
        assert r.exit_code == 0, r.output
    for name, extra in (("scratch", ["--draws", "2048"]), ("scenario", ["--scenario", "trainium-slip"])):
        r = runner.invoke(app, ["run", str(root / "priors" / "f1.toml"), *extra, "--out", str(root / name), "-q"])
        assert r.exit_code == 0, r.output
    return root


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_record_resolve_report(runs, tmp_path):
    led = tmp_path / "l.sqlite"
    r = invoke("ledger", "record", runs / "r1", "--ledger", led, "--date", "2026-01-15")
    assert r.exit_code == 0 and r.output == f"{runs / 'r1'}: recorded (4 claims) in {led}\n"
    r = invoke("ledger", "record", runs / "r1", runs / "r2", "--ledger", led, "--date", "2026-04-15")
    assert r.output.splitlines()[0] == f"{runs / 'r1'}: already recorded, dated 2026-01-15 (4 claims) in {led}"
    assert invoke("ledger", "resolve", "C2", "--outcome", "false", "--date", "2026-11-30", "--source", "10-K",
                  "--ledger", led).exit_code == 0
    r = invoke("ledger", "show", "--ledger", led)
    assert "C2  -> false (2026-11-30), Brier " in r.output and "(forecast of 2026-04-15, " in r.output
    out = tmp_path / "rep"
    assert invoke("ledger", "report", "--out", out, "--ledger", led).exit_code == 0
    data = json.loads((out / "ledger.json").read_text())
    assert data["runs"] == 2 and data["scored"] == 1 and len(data["claims"]["C2"]["history"]) == 2
    p = data["claims"]["C2"]["history"][-1]["probability"]
    assert data["brier"]["value"] == pytest.approx(p ** 2)
    html = (out / "ledger.html").read_text()
    assert "Brier score <strong>" in html and "a calibration diagram needs at least 10" in html


@pytest.mark.parametrize("args, code, message", [
    (["resolve", "C9", "--outcome", "true", "--date", "2026-07-31", "--source", "x"], 2,
     "{led}: no recorded run has a claim 'C9' (recorded claims: C1, C2, C3, C4)"),
    (["resolve", "C2", "--outcome", "maybe", "--date", "2026-07-31", "--source", "x"], 2,
     "--outcome must be true or false, got 'maybe'"),
    (["resolve", "C2", "--outcome", "true", "--date", "31/12/2026", "--source", "x"], 2,
     "--date must be a date such as 2026-03-31, got '31/12/2026'"),
    (["resolve", "C1", "--outcome", "true", "--date", "2026-07-31", "--source", "x"], 2,
     "{led}: claim 'C1' is already resolved false on 2026-06-30 (q); nothing was changed (pass --replace "
     "to change the recorded outcome)"),
    (["record", "{r1}", "--date", "2026-1-5"], 2, "--date must be a date such as 2026-03-31, got '2026-1-5'"),
])
def test_mistakes_one_line_exit_code_ledger_unchanged(runs, tmp_path, args, code, message):
    led = tmp_path / "l.sqlite"
    assert invoke("ledger", "record", runs / "r1", "--ledger", led).exit_code == 0
    assert invoke("ledger", "resolve", "C1", "--outcome", "false", "--date", "2026-06-30", "--source", "q",
                  "--ledger", led).exit_code == 0
    before = _dump(led)
    r = invoke("ledger", *[a.format(r1=runs / "r1") for a in args], "--ledger", led)
    assert r.exit_code == code
    assert r.output == f"riskmc: error: {message.format(led=led)}\n"
    assert _dump(led) == before


def test_the_ledger_page_needs_a_folder_of_its_own_and_outcomes_ignore_case(runs, tmp_path):
    led = tmp_path / "l.sqlite"
    assert invoke("ledger", "record", runs / "r1", "--ledger", led).exit_code == 0
    r = invoke("ledger", "resolve", "C2", "--outcome", "False", "--date", "2026-06-30", "--source", "q", "--ledger", led)
    assert r.exit_code == 0 and r.output == f"C2: resolved false in {led}\n"
    before = sorted(p.name for p in (runs / "r1").iterdir())
    r = invoke("ledger", "report", "--out", runs / "r1", "--ledger", led)
    assert r.exit_code == 2
    assert r.output == (f"riskmc: error: {runs / 'r1'} holds a run: the ledger's page goes in a folder of its own "
                        "(give another --out, e.g. reports/ledger)\n")
    assert sorted(p.name for p in (runs / "r1").iterdir()) == before


def _dump(path) -> list:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_a_damaged_ledger_is_refused_unchanged(runs, tmp_path):
    led = tmp_path / "l.sqlite"
    led.write_bytes(b"this is not a database, but it is long enough to look like a header" * 20)
    before = led.read_bytes()
    r = invoke("ledger", "record", runs / "r1", "--ledger", led)
    assert r.exit_code == 6
    assert r.output == (f"riskmc: error: {led}: not a riskmc ledger (the file is damaged or something else); "
                        "nothing was changed (restore it from a backup, or record into a new --ledger PATH)\n")
    assert led.read_bytes() == before


def test_a_locked_ledger_is_refused_unchanged(runs, tmp_path, monkeypatch):
    led = tmp_path / "l.sqlite"
    assert invoke("ledger", "record", runs / "r1", "--ledger", led).exit_code == 0
    monkeypatch.setattr(L, "BUSY_MS", 200)
    holder = sqlite3.connect(led, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
    try:
        before = _dump(led)
        r = invoke("ledger", "record", runs / "r2", "--ledger", led)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.exit_code == 6
    assert r.output == (f"riskmc: error: {led}: the ledger is locked by another writer (waited 0.2 s); nothing was "
                        "changed (try again when it finishes)\n")
    assert _dump(led) == before


def test_no_ledger_yet(tmp_path):
    r = invoke("ledger", "show", "--ledger", tmp_path / "none.sqlite")
    assert r.exit_code == 2
    assert r.output == (f"riskmc: error: {tmp_path / 'none.sqlite'}: no ledger here yet (record a run first: "
                        "riskmc ledger record RUN_DIR)\n")


def test_every_run_has_a_role(runs, tmp_path):
    """forecast: the priors file as it stands; scratch: a number-changing setting on the
    command line (or --scratch); scenario: an overlay, or a file whose [run] says so."""
    def role(folder):
        return json.loads((folder / "summary.json").read_text())["role"]
    assert [role(runs / n) for n in ("r1", "scratch", "scenario")] == ["forecast", "scratch", "scenario"]
    for args, want in ((["--workers", "1"], "forecast"), (["--scratch"], "scratch"),
                       (["--sampler", "lhs"], "scratch")):
        out = tmp_path / want / "-".join(args)
        r = runner.invoke(app, ["run", str(runs / "priors" / "f1.toml"), *args, "--out", str(out), "-q"])
        assert r.exit_code == 0, r.output
        assert role(out) == want, args
    bull = tmp_path / "bull"
    r = runner.invoke(app, ["run", str(ROOT / "priors" / "bull.toml"), "--out", str(bull)])
    assert r.exit_code == 0 and role(bull) == "scenario"
    lines = r.output.splitlines()
    assert lines[lines.index("Bull case: custom silicon wins fast") + 1].startswith(
        "scenario · 100,000 draws (mc), seed 20251202")
    assert '<p class="sub"><strong>scenario</strong> &middot; riskmc' in (bull / "report.html").read_text()


def test_the_ledger_scores_forecasts_keeps_scenarios_as_context_and_refuses_scratch(runs, tmp_path):
    led = tmp_path / "l.sqlite"
    r = invoke("ledger", "record", runs / "scratch", "--ledger", led)
    assert r.exit_code == 2 and not led.exists()
    assert r.output == (f"riskmc: error: {runs / 'scratch'}: a scratch run (a setting that changes its numbers was "
                        "given on the command line, or --scratch): not recorded (run the priors file with its own "
                        "settings, or pass --as-forecast to score it anyway)\n")
    r = invoke("ledger", "record", runs / "scratch", runs / "scenario", runs / "r1", "--ledger", led,
               "--forecasts-only", "--date", "2026-01-15")
    assert r.exit_code == 0 and r.output.splitlines() == [
        f"{runs / 'scratch'}: skipped (a scratch run; the ledger scores forecasts)",
        f"{runs / 'scenario'}: skipped (a scenario run; the ledger scores forecasts)",
        f"{runs / 'r1'}: recorded (4 claims) in {led}"]
    # A scenario recorded later, nearer the outcome, is shown but never scored.
    assert invoke("ledger", "record", runs / "scenario", "--ledger", led, "--date", "2026-02-01").exit_code == 0
    assert invoke("ledger", "resolve", "C2", "--outcome", "false", "--date", "2026-03-01", "--source", "s",
                  "--ledger", led).exit_code == 0
    r = invoke("ledger", "show", "--ledger", led)
    assert f"forecast of 2026-01-15, {runs / 'r1'}" in r.output
    assert f"{runs / 'scenario'}  (scenario: context, not scored)" in r.output
    # --as-forecast records a scratch run as a forecast, and it is scored.
    led2 = tmp_path / "l2.sqlite"
    assert invoke("ledger", "record", runs / "scratch", "--ledger", led2, "--as-forecast").exit_code == 0
    assert invoke("ledger", "resolve", "C2", "--outcome", "false", "--date", today(), "--source", "s",
                  "--ledger", led2).exit_code == 0
    assert f"{runs / 'scratch'})" in invoke("ledger", "show", "--ledger", led2).output


def test_verify_says_when_a_whole_run_is_stale(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "priors").mkdir()
    f = tmp_path / "priors" / "f.toml"
    f.write_text(f'extends = "{ROOT / "priors" / "base.toml"}"\n[run]\nseed = 3\ndraws = 2048\n')
    assert invoke("run", "priors/f.toml", "--out", "r", "-q").exit_code == 0
    r = invoke("verify", "r")
    assert r.exit_code == 0 and r.output.startswith("r: complete:")
    f.write_text(f.read_text() + "# an edit\n")
    r = invoke("verify", "r")
    assert r.exit_code == 7
    assert r.output == "riskmc: error: r: stale: priors/f.toml changed since the run (run it again)\n"
    f.unlink()
    assert invoke("verify", "r").output == "riskmc: error: r: stale: priors/f.toml is gone since the run (run it again)\n"


def test_the_history_chart_is_by_date_one_point_a_day():
    """The x axis is time; runs of one day are one point (the day's last forecast); a
    scenario is drawn apart, grey, off the forecasts' line."""
    from riskmc.report import track
    pts = [("2026-01-15", 0.2, 0.01, "forecast"), ("2026-01-15", 0.3, 0.01, "forecast"),
           ("2026-03-01", 0.5, 0.01, "scenario"), ("2026-06-30", 0.4, 0.01, "forecast")]
    out = track.history(pts, None, "C1")
    assert out.count('width="6" height="6"') == 2
    assert out.count('width="5" height="5"') == 1
    assert "2026-01-15" in out and "2026-06-30" in out
    # Placed by date: March 1st lies 45 of the 166 days in, not half way.
    marks = {w: [float(x) + float(w) / 2 for x, ww in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="(\d)"', out)
                 if ww == w] for w in ("5", "6")}
    jan, jun = marks["6"]
    (mar,) = marks["5"]
    assert (mar - jan) / (jun - jan) == pytest.approx(45 / 166, abs=0.01)
