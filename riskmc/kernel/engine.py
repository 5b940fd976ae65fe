"""The Monte Carlo kernel's loop: batches of chunks on the workers, merged in chunk order,
a State after each for the caller's loop (riskmc.kernel.chunks makes each chunk).

Workers reduce batches of chunks and the main thread merges them in chunk order, so a
run's numbers are bit-identical for any worker count. Memory holds a bounded window of
batches, never every draw. map_chunks is the one way to map work over a run's chunks.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import interrupt
from ..errors import SamplingError
from ..settings import (  # noqa: F401 (the plan's names, where the kernel's users look for them)
    BACKENDS,
    BATCH_DRAWS,
    CHUNK_SIZE,
    MIN_CHUNK,
    MIN_REPLICATES,
    SMALL_RUN,
    Plan,
    check_workers,
    default_workers,
    plan,
)
from .chunks import _SCRATCH, Chunk, Kernel, check_chunk_finite, draw_inputs, pilot  # noqa: F401 (their users look here)
from .reduce import BINS, Binning, ChunkReduction, Totals, merge
from .weighted import WeightedSums


@dataclass
class Batch:
    """A worker's result for chunks [first, first + len(reductions))."""

    first: int
    reductions: list[ChunkReduction]
    hist: np.ndarray
    chunks: list[Chunk] | None  # the draws themselves, when someone asked to keep them
    whist: np.ndarray | None = None  # weighted histograms (w, w^2), with evidence


def reduce_batch(kernel: Kernel, b: Binning, first: int, last: int, keep_below: int,
                 pilot_chunks: dict[int, Chunk] | None = None) -> Batch:
    """Simulate and reduce chunks [first, last); keep the draws of chunks below `keep_below`."""
    # A batch holds about BATCH_DRAWS draws, far below 2^31: int32 counts halve the memory
    # the histogram's scattered increments touch (the run's totals are int64).
    hist = np.zeros((len(b.lo), BINS + 2), dtype=np.int32)
    whist = np.zeros((len(b.lo), b.weighted.bins + 2, 2)) if kernel.likelihood is not None else None
    reds, kept = [], []
    batch_means = kernel.plan.batch_means
    pilot_chunks = pilot_chunks or {}
    for i in range(first, last):
        interrupt.check()
        if i < keep_below or i in pilot_chunks:
            c = pilot_chunks.get(i) or kernel.chunk(i, scratch=True)
            reds.append(kernel.reduce(i, b, hist, batch_means, whist, chunk=c))
            if i < keep_below:
                kept.append(c if i in pilot_chunks else c.detached())
        else:
            reds.append(kernel.reduce(i, b, hist, batch_means, whist))
    return Batch(first, reds, hist, kept or None, whist)


def batches(kernel: Kernel, b: Binning, start: int, stop: int, workers: int, keep_below: int,
            pilot_chunks: dict[int, Chunk] | None = None, pool=None) -> Iterator[Batch]:
    """Reduce chunks [start, stop) in batches, yielded in order.

    Locally on `workers` threads: numpy and the compiled reduction release the GIL (a
    spawned process pool measured slower here: start-up and pickling cost more than
    the GIL). With `pool`, a dask.distributed Client, the same batches with the same
    streams run on its cluster and only their reductions come back. Either way a
    bounded window of batches in flight bounds memory.
    """
    step = kernel.plan.batch_chunks
    bounds = ((i, min(i + step, stop)) for i in range(start, stop, step))
    if pool is not None:
        kernel_f, binning_f = pool.scatter([kernel, b], broadcast=True)
        window = 2 * max(workers, len(pool.scheduler_info(n_workers=-1).get("workers", {})) or 1)

        def submit(bd):
            return pool.submit(reduce_batch, kernel_f, binning_f, bd[0], bd[1], keep_below,
                               key=f"riskmc-batch-{bd[0]}-{kernel.root.entropy}", pure=False)
        yield from _windowed(bounds, submit, window)
        return
    if workers == 1:
        for bd in bounds:
            yield reduce_batch(kernel, b, bd[0], bd[1], keep_below, pilot_chunks)
        return
    with ThreadPoolExecutor(max_workers=workers) as threads:
        yield from _windowed(bounds, lambda bd: threads.submit(
            reduce_batch, kernel, b, bd[0], bd[1], keep_below, pilot_chunks), 2 * workers)


def _windowed(bounds, submit, window) -> Iterator[Batch]:
    """Results in order, with at most `window` batches submitted and not yet taken."""
    bounds = iter(bounds)
    futures = collections.deque(submit(bd) for bd in itertools.islice(bounds, window))
    while futures:
        res = futures.popleft().result()
        nxt = next(bounds, None)
        if nxt is not None:
            futures.append(submit(nxt))
        yield res


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A dask.distributed Client: to `scheduler`, or to a LocalCluster on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise SamplingError("the dask backend needs dask.distributed",
                            hint="pip install 'riskmc[dask]'") from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SamplingError(f"cannot reach the Dask scheduler at {scheduler}: {why}",
                                hint="give an address such as tcp://127.0.0.1:8786") from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, processes=True) as cluster, Client(cluster) as client:
        yield client


def _geometric(m: int) -> bool:
    """1, 2, 3, 4, 6, 8, 11, 16, 23, 32, ...: about two points per doubling of the draws."""
    k = round(2 * math.log2(m))
    return round(2 ** (k / 2)) == m


@dataclass
class State:
    """Where a run stands after a batch: everything merged so far, and what the caller
    asked to see of the batch. The caller owns the loop (emcee's `sample()` yields its
    states the same way): progress, writing kept draws, the convergence picture and
    stopping at a checkpoint are the caller's code, not callbacks."""

    totals: Totals
    binning: Binning
    chunks: list[Chunk]   # the batch's kept draws (chunks below `keep_below`), in chunk order
    draws: int            # the batch's draws
    checkpoint: bool      # the merged chunks reach one of `stops`: the caller may end the run here
    snapshot: bool        # after 1, 2, 3, 4, 6, 8, 11, 16, ... batches: a point of the convergence picture


def sample(kernel: Kernel, workers: int, *, stops: list[int] | None = None, keep_below: int = 0,
           backend: str = "local", scheduler: str | None = None) -> Iterator[State]:
    """Run the kernel: the pilot, then batches merged in chunk order, a State after each.

    `stops` are chunk counts at which the caller may stop (for --target-mcse), by leaving
    the loop; the last is the plan's end. `backend` "dask" runs the batches on a Dask
    cluster (`scheduler`, or a LocalCluster on loopback); the numbers are the same as
    "local". Snapshot points are the same for any worker count.
    """
    if backend not in BACKENDS:
        raise SamplingError(f"unknown backend '{backend}'", hint=f"use one of {', '.join(BACKENDS)}")
    b, first = pilot(kernel)
    totals = Totals(len(b.lo), c=kernel.claims, batch_means=kernel.plan.batch_means)
    if kernel.likelihood is not None:
        totals.weighted = WeightedSums(len(b.lo), kernel.claims, len(b.atom_var), kernel.tail_size,
                                       len(kernel.model.inputs))
        totals.weighted.hist = np.zeros((len(b.lo), b.weighted.bins + 2, 2))
    done = 0
    stops = stops or [kernel.plan.n_chunks]
    with contextlib.ExitStack() as stack:
        # One worker runs in this thread: let its scratch blocks go with the run.
        stack.callback(_SCRATCH.__dict__.pop, "store", None)
        pool = stack.enter_context(dask_client(scheduler, workers)) if backend == "dask" else None
        for stop in stops:
            for batch in batches(kernel, b, done, stop, workers, keep_below, pilot_chunks=first, pool=pool):
                interrupt.check()
                totals.hist += batch.hist
                if batch.whist is not None:
                    totals.weighted.hist += batch.whist
                for k, red in enumerate(batch.reductions):
                    if not np.isfinite(red.sums).all():
                        check_chunk_finite(kernel, batch.first + k)
                    merge(totals, red)
                step = kernel.plan.batch_chunks
                yield State(totals, b, batch.chunks or [], sum(r.n for r in batch.reductions),
                            checkpoint=totals.chunks == stop,
                            snapshot=totals.chunks % step == 0 and _geometric(totals.chunks // step))
            done = stop


def execute(kernel: Kernel, workers: int, **options) -> tuple[Binning, Totals]:
    """The whole run at once (sample's options): its binning and totals."""
    last = collections.deque(sample(kernel, workers, **options), maxlen=1)[0]
    return last.binning, last.totals


def map_chunks(fn: Callable[[int], object], chunks, workers: int) -> Iterator:
    """fn(i) for each chunk index, in order, on `workers` threads with a bounded window of
    chunks in flight: the one way riskmc maps work over a run's chunks (ask, seek,
    sensitivity, SMC). fn must depend on i alone, so the results do not depend on the
    workers."""
    if workers <= 1:
        for i in chunks:
            interrupt.check()
            yield fn(i)
        return
    with ThreadPoolExecutor(max_workers=workers) as threads:
        for r in _windowed(iter(chunks), lambda i: threads.submit(fn, i), 2 * workers):
            interrupt.check()
            yield r
