"""From recordings to the feature matrix, one trial at a time.

Each trial's preprocessing, windows and features are one unit of parallel work, run on the
execution backend (:mod:`bmelearn.execution`), and its features are cached on disk
(:mod:`bmelearn.features.cache`), so a run that changes only the models reads them back. A
recording on disk (a ``.npy`` file) is opened inside its unit, by the worker, and the
features of its windows are computed a block at a time: memory holds one trial's signal (only while
preprocessing needs it whole) and one block of windows, never the dataset. The samples of
the windows are gathered only when asked for (networks on raw windows, robustness
perturbations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmelearn.errors import DataError
from bmelearn.execution import run_units, single_threaded
from bmelearn.features import FeatureExtractor
from bmelearn.features.cache import load_entry, store_entry, trial_key
from bmelearn.features.extractor import modality_extractors
from bmelearn.preprocessing import Step, apply_steps
from bmelearn.quality import without_channels
from bmelearn.recording import Recording, RecordingSet
from bmelearn.windowing import (
    Windows,
    check_window,
    trial_windows,
    warn_short,
    whole_length,
    whole_trial,
    window_rows,
    window_samples,
)

#: Bytes of float64 windows whose features are computed at once.
BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Recipe:
    """How a trial becomes features: checked preprocessing ``steps``, the window (``length`` and
    ``step`` in s, or ``whole`` trials), the channels excluded per modality (``dead``), the
    fitted extractors of each modality (their features, parameters and column names), and what
    a preprocessed trial looks like: per modality, the samples per window (or per whole trial),
    the sampling rate (Hz) and the channels' names and types."""

    steps: Sequence[Step]
    length: float
    step: float
    whole: bool
    dead: Mapping[str, set[str]]
    extractors: Mapping[str, FeatureExtractor]
    samples: Mapping[str, int]
    fs: Mapping[str, float]
    ch_names: Mapping[str, tuple[str, ...]]
    ch_types: Mapping[str, tuple[str, ...]]

    def key(self) -> tuple:
        """What of the recipe shapes the features, for the cache key."""
        steps = [(func.__name__, params) for func, params in self.steps]
        features = {m: (e.features_, e.params, list(e.get_feature_names_out())) for m, e in self.extractors.items()}
        return steps, self.length, self.step, self.whole, {m: sorted(d) for m, d in self.dead.items()}, features


@dataclass
class TrialFeatures:
    """One trial's feature rows, its windows' start times (s) and, when kept, its windows."""

    features: np.ndarray
    starts: np.ndarray
    windows: dict[str, np.ndarray] | None
    cached: bool


@dataclass
class Featurized:
    """The feature matrix, its column names, the fitted extractors, the windows (their samples
    only when kept) and how many trials came from the cache."""

    X: np.ndarray
    names: list[str]
    extractors: dict[str, FeatureExtractor]
    windows: Windows
    cached: int


def prepare(streams: Mapping[str, Recording], steps: Sequence[Step], dead: Mapping[str, set[str]]) -> dict[str, Recording]:
    """A trial's recordings without the excluded channels, preprocessed; a memory-mapped signal
    that no step changes stays mapped (read later, a block of windows at a time)."""
    return {m: apply_steps(without_channels(rec.opened(), dead), steps) for m, rec in streams.items()}


def make_recipe(recordings: RecordingSet, steps: Sequence[Step], dead: Mapping[str, set[str]], per_modality: Mapping,
                params: Mapping | None, length: float, step: float, whole: bool) -> Recipe:
    """The recipe, with extractors fitted to the shape of the first trial, which is
    preprocessed here (so that bad steps fail before any unit runs)."""
    if not whole:
        check_window(length, step)
    recordings.check_consistent_channels()
    probe = prepare(next(iter(recordings.trials().values())), steps, dead)
    fs = {m: r.fs for m, r in probe.items()}
    if whole:
        samples = {m: r.n_samples for m, r in probe.items()}
        length = step = whole_length(probe)
    else:
        samples = window_samples(fs, length)
    ch_names = {m: r.ch_names for m, r in probe.items()}
    extractors = modality_extractors(fs, ch_names, per_modality, params)
    for m, extractor in extractors.items():
        extractor.fit(np.zeros((1, len(ch_names[m]), samples[m])))  # fitting needs only the shape
    return Recipe(steps, length, step, whole, dead, extractors, samples, fs, ch_names,
                  {m: r.ch_types for m, r in probe.items()})


def trial_features(trial: Any, streams: Mapping[str, Recording], recipe: Recipe, cache: Path | None,
                   keep: bool) -> TrialFeatures:
    """Preprocessing, windows and features of one trial (from ``cache`` when it holds them),
    on one thread; with ``keep``, its windows too. One unit of parallel work."""
    with single_threaded():
        key = trial_key(streams, recipe.key()) if cache is not None else None
        entry = load_entry(cache, key) if key is not None else None
        if entry is not None and not keep:
            return TrialFeatures(entry["features"], entry["starts"], None, True)
        processed = prepare(streams, recipe.steps, recipe.dead)
        if recipe.whole:
            arrays, starts = whole_trial(trial, processed, recipe.samples), np.zeros(1)
        else:
            arrays, starts = trial_windows(trial, processed, recipe.length, recipe.step, recipe.samples)
        if entry is None:
            features = _block_features(arrays, recipe.extractors, len(starts))
            if key is not None:
                store_entry(cache, key, features=features, starts=starts)
        else:
            features = entry["features"]
        windows = {m: np.array(a, dtype=np.float64) for m, a in arrays.items()} if keep and len(starts) else None
        return TrialFeatures(features, starts, windows, entry is not None)


def featurize(recordings: RecordingSet, recipe: Recipe, cache: Path | None = None, keep: bool = False,
              progress: Callable[[int, int], None] | None = None) -> Featurized:
    """The features of every trial, each trial a unit on the current execution backend, row-
    aligned with the windows' metadata; ``keep`` also gathers the windows' samples.
    ``progress(done, total)`` counts the trials as they finish."""
    trials = recordings.trials()
    count = 0

    def finished(i: int, part: TrialFeatures) -> None:
        nonlocal count
        count += 1
        if progress is not None:
            progress(count, len(trials))

    parts = run_units(trial_features, [(trial, streams, recipe, cache, keep) for trial, streams in trials.items()], finished)
    skipped = [f"{trial} ({min(r.duration for r in streams.values()):.3f} s)"
               for (trial, streams), part in zip(trials.items(), parts, strict=True) if len(part.starts) == 0]
    warn_short(skipped, recipe.length)
    kept = [(streams, part) for streams, part in zip(trials.values(), parts, strict=True) if len(part.starts)]
    if not kept:
        raise DataError(f"{recordings.name}: no trial is longer than one window of {recipe.length} s; use a shorter window.")
    extractors = dict(recipe.extractors)
    windows = Windows(
        arrays={m: np.concatenate([part.windows[m] for _, part in kept]) for m in recipe.fs} if keep else {},
        fs=dict(recipe.fs),
        ch_names=dict(recipe.ch_names),
        ch_types=dict(recipe.ch_types),
        meta=pd.concat([window_rows(streams, part.starts) for streams, part in kept], ignore_index=True),
        classes=recordings.classes,
        length=recipe.length,
        step=recipe.step,
    )
    names = [str(n) for e in extractors.values() for n in e.get_feature_names_out()]
    return Featurized(np.concatenate([part.features for _, part in kept]), names, extractors, windows,
                      sum(part.cached for part in parts))


def _block_features(arrays: Mapping[str, np.ndarray], extractors: Mapping[str, FeatureExtractor], n: int) -> np.ndarray:
    """Features of ``n`` windows side by side over the modalities, a block of windows at a time."""
    if n == 0:
        return np.empty((0, sum(len(e.get_feature_names_out()) for e in extractors.values())))
    per_block = max(1, BLOCK_BYTES // (8 * max(arrays[m][0].size for m in extractors)))
    return np.concatenate([np.hstack([e.transform(arrays[m][i:i + per_block]) for m, e in extractors.items()])
                           for i in range(0, n, per_block)])


__all__ = ["Featurized", "Recipe", "featurize", "make_recipe", "trial_features"]
