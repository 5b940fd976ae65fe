"""A run's settings, resolved once: what the command line (or a keyword) says, else the
priors file's [run] table, else the default.

Every setting has one default and one validator, in SETTINGS (arviz's rcParams pattern);
the [run] table is checked by the same validators (its mistakes name the file and line)
as the command line (exit 2). What follows from the settings is derived here too, once:
the chunk plans, the seed's SeedSequence, and the draws file's size and whether it is
written. Every verb takes a RunSettings; none reads `[run]` or a default itself.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SamplingError

# Limits riskmc holds everywhere: beyond them a request is a mistake, refused with one line.
# The most draws one run takes: about five days of sampling on a 2-core machine.
MAX_DRAWS = 10 ** 12
# Draws a run takes when neither the command line nor the priors file's [run] says.
DEFAULT_DRAWS = 100_000
# draws.parquet is saved by default only while it stays small: ~1 KB a draw.
SAVE_DRAWS_BYTES = 32 * 2 ** 20
# The samplers (riskmc.numeric.samplers: each knows its chunks and draws); the chunk size
# and the fewest replicates of a stratified sampler are theirs.
from .numeric.samplers import CHUNK_SIZE, MIN_CHUNK, MIN_REPLICATES, SAMPLERS, SMALL_RUN, sampler  # noqa: E402,F401

# Draws a worker reduces per task: fewer, larger hand-overs to the main thread.
BATCH_DRAWS = 4 * CHUNK_SIZE
BACKENDS = ("local", "dask")
# --target-mcse's ceiling when no --max-draws is given: this many times --draws.
TARGET_GROWTH = 100


@dataclass(frozen=True)
class Plan:
    """How many draws, in which chunks, from which sampler."""

    draws: int
    chunk_size: int
    sampler: str
    notes: tuple[str, ...] = ()

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.draws / self.chunk_size)

    @property
    def batch_chunks(self) -> int:
        """Chunks a worker simulates per task: about BATCH_DRAWS draws, fewer in a small run
        so that it still hands over (and the convergence trace sees) eight or more batches."""
        return max(1, min(BATCH_DRAWS // self.chunk_size, self.n_chunks // 8))

    @property
    def pilot_chunks(self) -> int:
        """The first chunks, about CHUNK_SIZE draws, whose outputs fix the histogram ranges."""
        return min(self.n_chunks, max(1, CHUNK_SIZE // self.chunk_size))

    def size(self, chunk: int) -> int:
        return min(self.chunk_size, self.draws - chunk * self.chunk_size)

    @property
    def batch_means(self) -> bool:
        """Whether figures' errors come from the spread between whole chunks (a stratified
        sampler), not from the draws themselves."""
        return not sampler(self.sampler).iid


def plan(draws: int, sampler_name: str = "mc", chunk_size: int | None = None) -> Plan:
    """Validate the run's size and sampler: chunks as the sampler sizes them, Sobol rounded
    up to whole chunks (and saying so)."""
    s = sampler(check_sampler(sampler_name))
    draws = check_draws(draws)
    if draws < s.least:
        raise SamplingError(f"{s.name} needs at least {s.least:,} draws, got {draws:,}: its Monte Carlo error "
                            f"comes from the spread between {MIN_REPLICATES} independent blocks",
                            hint=f"use --draws {s.least} or more, or --sampler mc")
    chunk_size = chunk_size or s.chunk_size(draws)
    draws, note = s.rounded(draws, chunk_size)
    return Plan(draws, chunk_size, s.name, (note,) if note else ())


# ------------------------------------------------------------------ one validator a setting
class SettingError(SamplingError):
    """A setting that is not usable: exit 2 from the command line; the priors loader
    turns one from the [run] table into its file and line (exit 3)."""

    def __init__(self, message: str, *, hint: str | None = None, file_message: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.file_message = file_message or message


def _whole(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_draws(v):
    if not _whole(v) or v < 1:
        raise SettingError(f"draws must be a positive whole number, got {v!r}",
                           file_message="draws must be a positive integer")
    if v > MAX_DRAWS:
        raise SettingError(f"draws must be at most {MAX_DRAWS:,} (days of sampling here), got {v:,}",
                           file_message=f"draws must be at most {MAX_DRAWS:,}, got {v:,}",
                           hint="run fewer draws; --target-mcse adds draws until the answer is precise enough")
    return int(v)


def check_sampler(v):
    name = v.lower() if isinstance(v, str) else v
    if name not in SAMPLERS:
        raise SettingError(f"unknown sampler '{v}'", hint=f"use one of {', '.join(SAMPLERS)}",
                           file_message=f"sampler must be mc, lhs or sobol, got '{v}'")
    return name


def check_seed(v):
    if v is None:
        return None
    if type(v).__name__ == "SeedSequence":  # numpy's: one that an int made replays as that int
        if v.spawn_key or not _whole(v.entropy):
            raise SettingError("seed must be a root SeedSequence made from an integer (no spawn key), or that "
                               "integer: a run records its seed to be replayed")
        return int(v.entropy)
    if not _whole(v) or v < 0:
        raise SettingError(f"seed must be a non-negative integer, got {v!r}",
                           file_message="seed must be a non-negative integer")
    return int(v)


def check_workers(v):
    if v is None:
        return default_workers()
    if not _whole(v) or v < 1:
        raise SettingError(f"workers must be a positive whole number, got {v!r}")
    return int(v)


def check_target(v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise SettingError(f"target MCSE must be a positive, finite number, got {v!r}")
    return float(v)


def check_max_draws(v):
    return None if v is None else check_draws(v)


def check_backend(v):
    if v not in BACKENDS:
        raise SettingError(f"unknown backend '{v}'", hint=f"use one of {', '.join(BACKENDS)}")
    return v


def check_optional_text(v):
    if v is not None and not isinstance(v, str):
        raise SettingError(f"expected text, got {v!r}")
    return v


ROLES = ("forecast", "scenario", "scratch")


def check_role(v):
    if v not in ROLES:
        raise SettingError(f"unknown role '{v}'", hint="use forecast, scenario or scratch",
                           file_message=f"role must be forecast, scenario or scratch, got '{v}'")
    return v


def check_optional_bool(v):
    if v is not None and not isinstance(v, bool):
        raise SettingError(f"expected true or false, got {v!r}")
    return v


@dataclass(frozen=True)
class Setting:
    default: Any
    check: Callable[[Any], Any]
    in_file: bool = False   # may the priors file's [run] table give it


SETTINGS: dict[str, Setting] = {
    "draws": Setting(DEFAULT_DRAWS, check_draws, in_file=True),
    "seed": Setting(None, check_seed, in_file=True),
    "sampler": Setting("mc", check_sampler, in_file=True),
    "workers": Setting(None, check_workers),
    "target_mcse": Setting(None, check_target),
    "max_draws": Setting(None, check_max_draws),
    "backend": Setting("local", check_backend),
    "scheduler": Setting(None, check_optional_text),
    "save_draws": Setting(None, check_optional_bool),
    # What the run is for: a priors file's own forecast, a scenario, or a scratch run.
    "role": Setting("forecast", check_role, in_file=True),
}
# Settings that change a run's numbers: one given on the command line makes it scratch.
NUMBERS = ("draws", "seed", "sampler", "target_mcse", "max_draws")
FILE_KEYS = tuple(k for k, s in SETTINGS.items() if s.in_file)


def default_workers() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# ------------------------------------------------------------------ the resolved settings
@dataclass(frozen=True)
class RunSettings:
    """Every setting of one run, resolved and checked, and what follows from them."""

    draws: int                    # asked for (with --target-mcse: the first checkpoint)
    seed: int                     # the entropy that replays the run (drawn fresh if none was given)
    sampler: str
    workers: int
    target_mcse: float | None
    max_draws: int | None         # with --target-mcse: the ceiling (given, or TARGET_GROWTH x draws)
    backend: str
    scheduler: str | None
    save_draws: bool | None       # None: written while under SAVE_DRAWS_BYTES
    role: str                     # as stated: forecast (default), scenario (the file), scratch (--scratch)
    given: frozenset[str] = field(default_factory=frozenset)  # set on the command line, not by the file
    first: Plan = field(init=False, repr=False, compare=False)
    plan: Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        first = plan(self.draws, self.sampler)
        most = first if self.target_mcse is None else plan(self.max_draws, self.sampler,
                                                              chunk_size=first.chunk_size)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "plan", most)

    @property
    def root(self):
        """The run's SeedSequence: every chunk's stream is spawned from it."""
        import numpy as np
        return np.random.SeedSequence(self.seed)

    def draws_file_bytes(self, model) -> int:
        """Rough size of draws.parquet at the most draws the run may take: float64 draws
        barely compress."""
        return self.plan.draws * 8 * (2 + len(model.inputs) + len(model.outputs) * model.width)

    def writes_draws(self, model) -> bool:
        """Whether draws.parquet is written: as asked, else while it stays small."""
        return self.save_draws if self.save_draws is not None else self.draws_file_bytes(model) <= SAVE_DRAWS_BYTES

    def role_of(self, scenario: str | None) -> str:
        """What the run is for: `scratch` when a setting that changes its numbers was given
        on the command line (or --scratch), else `scenario` for a --scenario overlay or a
        file whose [run] says so, else `forecast` (the priors file run as it stands)."""
        if self.role == "scratch" or any(k in self.given for k in NUMBERS):
            return "scratch"
        return "scenario" if scenario or self.role == "scenario" else "forecast"

    def with_(self, **changes) -> RunSettings:
        """The same settings with some replaced (and checked again)."""
        values = {k: getattr(self, k) for k in SETTINGS}
        values.update(changes)
        return _build(values, self.given)


def resolve(file: Mapping[str, Any] | None = None, *, evidence: bool = False, **given) -> RunSettings:
    """The settings of a run: `given` (None means not given) over the priors file's [run]
    table `file` over the defaults, each checked once. `evidence`: the priors weigh
    evidence, which plain Monte Carlo draws only."""
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(unknown)}")
    values = {k: s.default for k, s in SETTINGS.items()}
    for k, v in (file or {}).items():
        if k in FILE_KEYS:
            values[k] = v
    told = {k for k, v in given.items() if v is not None}
    values.update({k: given[k] for k in told})
    if values["seed"] is not None and (file or {}).get("seed") is None:
        # A file that fixes no seed leaves it to each run: a seed given is as much the
        # file's as a fresh one, and replaying a forecast by its seed keeps it a forecast.
        told.discard("seed")
    if evidence and check_sampler(values["sampler"]) != "mc":
        raise SamplingError(f"evidence is weighed over plain Monte Carlo draws, not {values['sampler']}",
                            hint="use --sampler mc (or drop the evidence)")
    return _build(values, frozenset(told))


def _build(values: dict, given: frozenset) -> RunSettings:
    v = {k: SETTINGS[k].check(values[k]) for k in SETTINGS}
    if v["scheduler"] is not None and v["backend"] != "dask":
        raise SettingError("--scheduler goes with --backend dask")
    if v["target_mcse"] is None and v["max_draws"] is not None:
        raise SettingError("--max-draws goes with --target-mcse")
    if v["target_mcse"] is not None:
        if v["max_draws"] is None:
            v["max_draws"] = min(TARGET_GROWTH * v["draws"], MAX_DRAWS)
        if v["max_draws"] < v["draws"]:
            raise SettingError(f"--max-draws ({v['max_draws']}) is below --draws ({v['draws']})")
    if v["seed"] is None:
        import numpy as np
        v["seed"] = int(np.random.SeedSequence().entropy)  # fresh, and recorded so it can be replayed
    from .store.timestamp import created
    created()  # SOURCE_DATE_EPOCH is checked now, not after the run
    return RunSettings(**v, given=given)
