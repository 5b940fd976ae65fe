"""Padded row blocks, reused per-thread blocks and sub-block reductions: the same numbers as the plain way."""

import numpy as np

from riskmc.api import load, run
from riskmc.kernel.engine import Kernel, plan
from riskmc.kernel.streams import handle_seed
from riskmc.numeric import blocks
from tests.conftest import BASE


def test_rows_start_one_cache_line_apart_modulo_4k():
    for n in (16384, 1000, 8, 513):
        b = blocks.empty((5, n))
        assert b.shape == (5, n) and b.strides[1] == 8
        assert b.strides[0] >= 8 * n and b.strides[0] % 4096 == 64


def test_as_rows_views_only_equally_spaced_rows_of_one_block():
    y = blocks.empty((3, 2, 100))
    y[:] = np.arange(600).reshape(3, 2, 100)
    rows = blocks.as_rows([y[k] for k in range(3)])
    assert rows.shape == (6, 100) and np.shares_memory(rows, y)
    assert np.array_equal(rows, np.arange(600).reshape(6, 100))
    x = blocks.empty((4, 10))
    assert blocks.as_rows([x[j] for j in range(4)]).shape == (4, 10)
    assert blocks.as_rows([x[1], x[0]]) is None                 # out of order
    assert blocks.as_rows([x[0], x[1], x[3]]) is None           # unequal spacing
    assert blocks.as_rows([x[0], np.zeros(10)]) is None         # another buffer
    assert blocks.as_rows([np.zeros(10, dtype=np.float32)]) is None


def test_scratch_chunks_equal_fresh_ones_and_detached_ones_survive():
    ps = load(BASE)
    k = Kernel(ps, ps.model, handle_seed(3), plan(3 * 2 ** 14))
    fresh = k.chunk(1)
    kept = k.chunk(1, scratch=True).detached()
    k.chunk(2, scratch=True)  # overwrites this thread's scratch blocks
    for name in ps.model.output_names:
        assert np.array_equal(fresh.outputs[name], kept.outputs[name])
    for name in ps.model.input_names:
        assert np.array_equal(fresh.inputs[name], kept.inputs[name])


def test_kept_draws_equal_a_rerun_chunk():
    r = run(BASE, draws=3 * 2 ** 14, seed=4, workers=2, keep_draws=True)
    k = Kernel(r.priors, r.model, handle_seed(4), r.plan)
    c = k.chunk(2)
    assert np.array_equal(r.outputs["nvidia_share"][2 * 2 ** 14:], c.outputs["nvidia_share"])


def test_sub_block_reduction_equals_reducing_the_whole_chunk():
    from riskmc.analyze import ClaimCounter
    from riskmc.kernel.reduce import BINS, Binning, reduce_chunk
    ps = load(BASE)
    p = plan(2 * 2 ** 14 + 1000, "lhs", chunk_size=2 ** 14)  # a short last chunk too
    counter = ClaimCounter(list(ps.claims.values()), ps.model.output_names, ps.model.years)
    k = Kernel(ps, ps.model, handle_seed(8), p, counter)
    b = Binning.from_pilot(k.chunk(0).rows)
    for i in (1, 2):
        h1 = np.zeros((len(b.lo), BINS + 2), dtype=np.int64)
        h2 = np.zeros_like(h1)
        fast = k.reduce(i, b, h1, batch_means=True)
        rows = k.chunk(i).rows
        whole = reduce_chunk(rows, b, h2, counter(rows), batch_means=True)
        assert np.array_equal(h1, h2)
        for field in ("sums", "vmin", "vmax", "below", "hits", "atoms"):
            assert np.array_equal(getattr(fast, field), getattr(whole, field)), field


def test_compiled_claim_counts_equal_the_per_draw_events():
    from riskmc.analyze import ClaimCounter, hits
    r = run(BASE, draws=50_000, seed=6, keep_draws=True)
    claims = list(r.priors.claims.values())
    m = r.model
    rows = np.concatenate([r.outputs[o].T for o in m.output_names])
    counts = ClaimCounter(claims, m.output_names, m.years)(rows)
    assert list(counts) == [int(hits(c, r.outputs, m.years).sum()) for c in claims]
    assert all(0 < c < 50_000 for c in counts)


def test_weighted_claim_sums_add_the_holding_draws_in_order():
    """Each claim's (sum w, sum w2) over the draws where it holds equals adding those draws
    one by one in order, to the last bit, also with NaN outputs and negative weights
    (the tail's corrections); the counts equal the per-draw events."""
    from riskmc.analyze import ClaimCounter, hits
    ps = load(BASE)
    m = ps.model
    claims = list(ps.claims.values())
    rng = np.random.default_rng(11)
    r = run(ps, draws=3000, seed=2, keep_draws=True)
    rows = np.concatenate([r.outputs[o].T for o in m.output_names])
    rows[:, rng.random(rows.shape[1]) < 0.02] = np.nan
    w = rng.exponential(size=rows.shape[1]) - 0.2
    w2 = w * w
    counter = ClaimCounter(claims, m.output_names, m.years)
    got = counter.weighted(rows, w, w2, np.zeros((len(claims), 2)))
    outputs = {o: rows[k * len(m.years):(k + 1) * len(m.years)].T for k, o in enumerate(m.output_names)}
    for k, c in enumerate(claims):
        s = s2 = 0.0
        for i in np.flatnonzero(hits(c, outputs, m.years)):
            s += w[i]
            s2 += w2[i]
        assert (got[k, 0], got[k, 1]) == (s, s2), c.name
    assert list(counter(rows)) == [int(hits(c, outputs, m.years).sum()) for c in claims]
