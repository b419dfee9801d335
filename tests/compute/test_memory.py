"""Memory of freed arrays handed back to the system (glibc's malloc_trim)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bmelearn.compute import memory

# In a fresh process: a freed 1 MB array raises glibc's threshold for mappings, so that the
# 400 kB arrays made next come from its heap; a small array made after each keeps the heap's top
# in use, so freeing them alone gives nothing back. Prints the resident MB freed by each step.
PROBE = """
import numpy as np, psutil
from bmelearn.compute.memory import release_freed_memory
rss = lambda: psutil.Process().memory_info().rss / 2**20
del_ = np.ones(2**17); del del_
arrays, pins = [], []
for _ in range(300):
    arrays.append(np.ones(50_000))
    pins.append(bytes(2000))  # past pymalloc: from the C heap
before = rss()
del arrays
freed = rss()
release_freed_memory()
print(round(before - freed), round(freed - rss()))
"""


@pytest.mark.skipif(memory._malloc_trim() is None, reason="no glibc malloc_trim on this system")
def test_freed_arrays_go_back_to_the_system():
    # glibc's own settings: Dask's distributed sets MALLOC_TRIM_THRESHOLD_ in os.environ when imported
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, env=env)
    by_free, by_release = map(int, done.stdout.split())
    assert by_free < 20  # 120 MB freed by Python, kept by the C heap
    assert by_release > 100  # and handed back


def test_nothing_to_release_is_not_an_error(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)  # another C library
    memory.release_freed_memory()
