"""A whole dataset through the signal pipeline, one trial at a time.

Each trial's preprocessing, windows and features are one unit of parallel work, run on the
execution backend (:mod:`bmelearn.compute.backends`), and its features are cached on disk
(:mod:`bmelearn.compute.cache`), so a run that changes only the models reads them back. A
recording on disk (a ``.npy`` file) is opened inside its unit, by the worker, and the
features of its windows are computed a block at a time: memory holds one trial's signal (only while
preprocessing needs it whole) and one block of windows, never the dataset. The samples of
the windows are gathered only when asked for (networks on raw windows, robustness
perturbations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmelearn.compute.backends import run_units, single_threaded
from bmelearn.compute.cache import content_digest, load_entry, recipe_digest, store_entry, trial_key
from bmelearn.errors import DataError
from bmelearn.pipeline.signal import SignalPipeline
from bmelearn.signals.recording import Recording, RecordingSet
from bmelearn.signals.windowing import Windows, warn_short, window_meta


@dataclass
class TrialFeatures:
    """One trial's feature rows, its windows' start times (s) and, when kept, its windows."""

    features: np.ndarray
    starts: np.ndarray
    windows: dict[str, np.ndarray] | None
    cached: bool


@dataclass
class Featurized:
    """The feature matrix, the windows (their samples only when kept) and how many trials came
    from the cache."""

    X: np.ndarray
    windows: Windows
    cached: int


def fit_pipeline(recordings: RecordingSet, steps: Sequence[Mapping[str, Mapping[str, Any]]],
                 bads: Mapping[str, Sequence[str]], features: Mapping[str, Sequence[str]],
                 params: Mapping | None, length: float, step: float, whole: bool) -> SignalPipeline:
    """The signal pipeline of ``recordings`` (every trial with the same channels and rates),
    fitted on its first trial."""
    recordings.check_consistent_channels()
    return SignalPipeline.fit(next(iter(recordings.trials().values())), steps, bads, length, step, whole, features, params)


def trial_features(trial: Any, streams: Mapping[str, Recording], pipeline: SignalPipeline, cache: Path | None,
                   keep: bool, recipe: str | None = None, digests: Sequence[str] | None = None) -> TrialFeatures:
    """Preprocessing, windows and features of one trial (from ``cache`` when it holds them),
    on one thread; with ``keep``, its windows too. One unit of parallel work. ``recipe`` is the
    pipeline's :func:`~bmelearn.compute.cache.recipe_digest` and ``digests`` the streams'
    :func:`~bmelearn.compute.cache.content_digest` (computed here when not given)."""
    with single_threaded():
        key = None
        if cache is not None:
            key = trial_key(digests or [content_digest(r) for r in streams.values()], recipe or recipe_digest(pipeline.key()))
        entry = load_entry(cache, key) if key is not None else None
        if entry is not None and not keep:
            return TrialFeatures(entry["features"], entry["starts"], None, True)
        arrays, starts = pipeline.windows(trial, pipeline.prepare(streams))
        if entry is None:
            features = pipeline.features(arrays, len(starts))
            if key is not None:
                store_entry(cache, key, features=features, starts=starts)
        else:
            features = entry["features"]
        windows = {m: np.array(a, dtype=np.float64) for m, a in arrays.items()} if keep and len(starts) else None
        return TrialFeatures(features, starts, windows, entry is not None)


def featurize(recordings: RecordingSet, pipeline: SignalPipeline, cache: Path | None = None, keep: bool = False,
              progress: Callable[[int, int], None] | None = None, digests: Mapping[int, str] | None = None) -> Featurized:
    """The features of every trial, each trial a unit on the current execution backend, row-
    aligned with the windows' metadata; ``keep`` also gathers the windows' samples.
    ``progress(done, total)`` counts the trials as they finish. ``digests``: the recordings'
    :func:`~bmelearn.compute.cache.content_digest` by ``id``, when already computed."""
    trials = recordings.trials()
    count = 0

    def finished(i: int, part: TrialFeatures) -> None:
        nonlocal count
        count += 1
        if progress is not None:
            progress(count, len(trials))

    recipe = recipe_digest(pipeline.key()) if cache is not None else None
    known = digests or {}
    whole = _whole_set_key(recipe, trials, known) if cache is not None and not keep else None
    parts = _read_whole_set(cache, whole, len(trials))
    if parts is not None and progress is not None:
        progress(len(trials), len(trials))
    if parts is None:
        parts = run_units(trial_features, [(trial, streams, pipeline, cache, keep, recipe,
                                            [known[id(r)] for r in streams.values()] if known else None)
                                           for trial, streams in trials.items()], finished)
        if whole is not None:
            store_entry(cache, whole, features=np.concatenate([part.features for part in parts]),
                        starts=np.concatenate([part.starts for part in parts]),
                        counts=np.array([len(part.starts) for part in parts], dtype=np.int64))
    skipped = [f"{trial} ({min(r.duration for r in streams.values()):.3f} s)"
               for (trial, streams), part in zip(trials.items(), parts, strict=True) if len(part.starts) == 0]
    warn_short(skipped, pipeline.length)
    kept = [(streams, part) for streams, part in zip(trials.values(), parts, strict=True) if len(part.starts)]
    if not kept:
        raise DataError(f"{recordings.name}: no trial is longer than one window of {pipeline.length} s; use a shorter window.")
    windows = Windows(
        arrays={m: np.concatenate([part.windows[m] for _, part in kept]) for m in pipeline.fs} if keep else {},
        fs=dict(pipeline.fs),
        ch_names={m: pipeline.channels(m) for m in pipeline.fs},
        ch_types={m: pipeline.channel_types(m) for m in pipeline.fs},
        meta=window_meta([(streams, part.starts) for streams, part in kept]),
        classes=recordings.classes,
        length=pipeline.length,
        step=pipeline.step,
    )
    return Featurized(np.concatenate([part.features for _, part in kept]), windows, sum(part.cached for part in parts))


def _whole_set_key(recipe: str | None, trials: Mapping[Any, Mapping[str, Recording]], digests: Mapping[int, str]) -> str | None:
    """The cache key of every trial's features together, read in one go by a run of the same
    recordings and pipeline (1,936 trial entries take 0.5 s to open one by one): a hash of the
    trials' keys; None without the recordings' digests."""
    if recipe is None or not digests:
        return None
    keys = [trial_key([digests[id(r)] for r in streams.values()], recipe) for streams in trials.values()]
    return f"set-{hashlib.sha256(''.join(keys).encode()).hexdigest()}"


def _read_whole_set(cache: Path | None, key: str | None, n_trials: int) -> list[TrialFeatures] | None:
    """The trials' features cached together under :func:`_whole_set_key`, or None."""
    stored = load_entry(cache, key) if cache is not None and key is not None else None
    if stored is None or len(stored["counts"]) != n_trials:
        return None
    ends = np.cumsum(stored["counts"])
    return [TrialFeatures(stored["features"][end - n:end], stored["starts"][end - n:end], None, True)
            for end, n in zip(ends, stored["counts"], strict=True)]


__all__ = ["Featurized", "featurize", "fit_pipeline", "trial_features"]
