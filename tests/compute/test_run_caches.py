"""A run with the cache on keeps every unit it computes (channel checks, features, fits, scorings,
final models) and a later run of the same units reads them: the same study again computes nothing
but the report and writes the same files; a changed model computes only its own units."""

from __future__ import annotations

from collections import Counter
from importlib import import_module

import pandas as pd

from bmelearn.pipeline import SignalPipeline
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run

evaluate_module = import_module("bmelearn.evaluation.evaluate")  # the package exports a function of that name
experiment_module = import_module("bmelearn.runs.experiment")
quality_module = import_module("bmelearn.signals.quality")

BASE = ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.5", "protocols=[cross_session, loso]",
        "evaluation.n_boot=50", "execution.backend=sequential"]
MODELS = "models=[lda, {name: mlp, hidden: [8], max_epochs: 2}]"


def _counting(monkeypatch) -> Counter:
    calls: Counter = Counter()
    for module, name in ((evaluate_module, "fit_unit"), (evaluate_module, "score_unit"),
                         (quality_module, "inspect_channels"), (experiment_module, "save_model"),
                         (SignalPipeline, "features")):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls


def test_the_same_study_again_reads_every_unit_and_writes_the_same_files(tmp_path, monkeypatch):
    first = run(load_config(None, [*BASE, MODELS]), tmp_path / "first")
    calls = _counting(monkeypatch)
    second = run(load_config(None, [*BASE, MODELS]), tmp_path / "second")
    # a network's final model is fitted again: its training history is not kept with it
    assert calls == Counter({"save_model": 1})
    pd.testing.assert_frame_equal(first.results, second.results)
    for name in ("results.csv", "confusion.csv", "channel_quality.csv", "summary.json", "models/lda.skops", "models/lda.json"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes(), name
    assert {p.name for p in (tmp_path / ".cache").iterdir()} >= {"features", "fits", "models", "quality"}


def test_a_changed_model_computes_only_its_own_units(tmp_path, monkeypatch):
    run(load_config(None, [*BASE, "models=[lda]"]), tmp_path / "lda")
    calls = _counting(monkeypatch)
    both = run(load_config(None, [*BASE, "models=[lda, knn]"]), tmp_path / "both")
    fits = pd.read_csv(both.folder / "timings.csv")["pipeline"].value_counts()
    assert fits["lda"] == fits["knn"] >= 3
    assert calls["fit_unit"] == fits["knn"]  # the k-NN's; LDA's fits were read
    assert calls["score_unit"] == 2 * 2  # the k-NN's two subjects under each protocol
    assert calls["inspect_channels"] == calls["features"] == 0 and calls["save_model"] == 1
    assert set(both.results["pipeline"]) == {"lda", "knn"}
    alone = run(load_config(None, [*BASE, "models=[lda, knn]", "execution.cache=false"]), tmp_path / "uncached")
    pd.testing.assert_frame_equal(both.results, alone.results)


def test_unit_keys_follow_the_strings_of_label_arrays_not_their_dtype():
    """Object arrays of strings (labels, trial ids) are keyed by their text, as a fixed-width
    string array is; a change of one string, of the order, or of a value's type changes the key."""
    import numpy as np

    from bmelearn.compute.checkpoint import unit_key

    labels = np.array(["rest", "fist", "open"], dtype=object)
    key = unit_key("score", labels, [labels, 3])
    assert key == unit_key("score", np.array(["rest", "fist", "open"]), [np.array(["rest", "fist", "open"]), 3])
    assert key != unit_key("score", np.array(["rest", "fist", "fist"], dtype=object), [labels, 3])
    assert key != unit_key("score", labels, [labels[::-1].copy(), 3])
    assert unit_key(np.array([1, "1"], dtype=object)) != unit_key(np.array(["1", "1"], dtype=object))
    assert unit_key(np.array(["a", None], dtype=object)) != unit_key(np.array(["a", "None"], dtype=object))
