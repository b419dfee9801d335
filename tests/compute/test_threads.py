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
