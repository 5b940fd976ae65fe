"""The Dask backend: the same chunks with the same seeds give bit-identical results."""

import pytest

import riskmc
from tests.conftest import BASE

distributed = pytest.importorskip("distributed")


def test_dask_local_cluster_matches_local_threads(tmp_path):
    local = riskmc.run(BASE, draws=200_000, seed=8, workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = riskmc.run(BASE, draws=200_000, seed=8, workers=2, backend="dask",
                            scheduler=cluster.scheduler_address)
    assert remote.summary == local.summary


def test_unknown_backend():
    with pytest.raises(riskmc.SamplingError) as exc:
        riskmc.run(BASE, draws=1000, backend="spark")
    assert str(exc.value) == "unknown backend 'spark' (use one of local, dask)"
