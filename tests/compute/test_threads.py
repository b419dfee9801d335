"""One thread per unit of work, set without scanning the native libraries at every unit."""

import sys
import types

from threadpoolctl import threadpool_info

from bmelearn.compute import backends
from bmelearn.compute.backends import single_threaded


def test_a_unit_runs_blas_and_openmp_on_one_thread_and_restores_them():
    before = {i["filepath"]: i["num_threads"] for i in threadpool_info()}
    with single_threaded():
        assert all(i["num_threads"] == 1 for i in threadpool_info())
    assert {i["filepath"]: i["num_threads"] for i in threadpool_info()} == before


def test_the_thread_pools_are_found_again_only_after_an_import(monkeypatch):
    first = backends._threadpools()
    assert backends._threadpools() is first  # no import since: the same scan
    monkeypatch.setitem(sys.modules, "bmelearn_test_new_module", types.ModuleType("bmelearn_test_new_module"))
    assert backends._threadpools() is not first  # a module came in: scanned again (it may bring a native library)


def test_final_models_grow_a_forest_on_a_thread_per_worker(tmp_path, monkeypatch):
    """Under ``auto`` joblib runs in turn in this process (units are timed here); the final
    models are fit outside units, so a random forest's trees there use every worker, as threads."""
    from joblib.parallel import ThreadingBackend, get_active_backend
    from sklearn.ensemble import RandomForestClassifier

    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    seen = []
    real = RandomForestClassifier.fit

    def fit(self, *args, **kwargs):
        seen.append(get_active_backend())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RandomForestClassifier, "fit", fit)
    run(load_config(None, ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.0",
                           "protocols=[cross_session]", "evaluation.n_boot=20", "models=[rf]",
                           "execution.backend=auto", "execution.workers=2", "execution.cache=false"]), tmp_path / "run")
    final = seen[-1]  # the units' fits come first
    assert isinstance(final[0], ThreadingBackend) and final[1] == 2
    assert all(not isinstance(backend, ThreadingBackend) for backend, _ in seen[:-1])
