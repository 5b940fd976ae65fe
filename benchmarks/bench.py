"""`make bench`: riskmc's speed and memory on this machine, measured in one run.

Each figure is the median of several whole runs in fresh processes (peak RSS from the
kernel's own accounting via getrusage), so one noisy moment does not decide it.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "priors" / "base.toml"
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))

CHILD = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import riskmc
from riskmc.engine import CHUNK_SIZE
from riskmc.model import market
from riskmc.rng import chunk_stream, handle_seed
mode, draws, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
priors = riskmc.load(sys.argv[4])  # parsing and fitting are start-up, not sampling
t0 = time.perf_counter()
if mode == "riskmc":
    riskmc.run(priors, draws=draws, seed=1, workers=workers)
else:
    # The RNG floor: the same uniforms, chunked, on the same workers, and nothing else.
    root, d = handle_seed(1), len(market.INPUTS)
    n_chunks = -(-draws // CHUNK_SIZE)
    def one(i):
        return float(chunk_stream(root, i).random((min(CHUNK_SIZE, draws - i * CHUNK_SIZE), d)).sum())
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n_chunks)))
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def measure(mode: str, draws: int, workers: int) -> dict:
    secs, rss = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out = subprocess.run([sys.executable, "-c", CHILD, mode, str(draws), str(workers), str(BASE)],
                             capture_output=True, text=True, check=True)
        secs.append(json.loads(out.stdout)["seconds"])
        rss.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return {"seconds": statistics.median(secs), "peak_rss_mib": max(rss) / 1024}


def main() -> None:
    print(f"riskmc benchmark: {os.cpu_count()} cores, median of {REPEATS} runs each, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'draws':>12} {'workers':>7} {'riskmc s':>9} {'draws/s':>12} {'RNG floor s':>11} {'ratio':>6}")
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
    for n in sizes:
        r = measure("riskmc", n, 2)
        f = measure("floor", n, 2)
        print(f"{n:>12,} {2:>7} {r['seconds']:>9.2f} {n / r['seconds']:>12,.0f} {f['seconds']:>11.2f} "
              f"{r['seconds'] / f['seconds']:>6.1f}")
    n = sizes[-1]
    one, two = measure("riskmc", n, 1), measure("riskmc", n, 2)
    print(f"speed-up 1 -> 2 workers at {n:,} draws: {one['seconds'] / two['seconds']:.2f}x")
    print(f"peak RSS at {n:,} draws: {two['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
