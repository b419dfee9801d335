"""A whole dataset through the signal pipeline, a few trials at a time.

The preprocessing, windows and features of a few consecutive trials of one session are one
unit of parallel work, run on the execution backend (:mod:`bmelearn.compute.backends`), and
their features are cached on disk together (:mod:`bmelearn.compute.cache`), so a run that
changes only the models reads them back, and one that adds a subject computes only its own. A
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
                 params: Mapping | None, length: float, step: float, whole: bool,
                 log: Sequence[str] = ()) -> SignalPipeline:
    """The signal pipeline of ``recordings`` (every trial with the same channels and rates),
    fitted on its first trial; ``log``: the features whose natural log is taken."""
    recordings.check_consistent_channels()
    return SignalPipeline.fit(next(iter(recordings.trials().values())), steps, bads, length, step, whole, features, params,
                              log)


#: Trials whose features are one unit of work and one cache entry: consecutive trials of one
#: subject's session, this many at most. 22 3DC participants' 1,936 trials make 132 entries
#: (writing 1,936 took 1.1 s), and the units stay small enough to share among workers.
TRIALS_PER_UNIT = 16


def trials_features(trials: Sequence[tuple[Any, Mapping[str, Recording], Sequence[str] | None]], pipeline: SignalPipeline,
                    cache: Path | None, keep: bool, recipe: str | None = None) -> list[TrialFeatures]:
    """Preprocessing, windows and features of some trials, each ``(trial, streams, digests)``
    (``digests``: the streams' :func:`~bmelearn.compute.cache.content_digest`, computed here
    when None), on one thread; from ``cache`` when it holds them, else computed and kept there
    together. With ``keep``, their windows too. One unit of parallel work; ``recipe`` is the
    pipeline's :func:`~bmelearn.compute.cache.recipe_digest`."""
    with single_threaded():
        key = None
        if cache is not None:
            recipe = recipe or recipe_digest(pipeline.key())
            keys = [trial_key(digests or [content_digest(r) for r in streams.values()], recipe)
                    for _, streams, digests in trials]
            key = hashlib.sha256("".join(keys).encode()).hexdigest()
        entry = load_entry(cache, key) if key is not None else None
        if entry is not None and len(entry["counts"]) != len(trials):
            entry = None
        if entry is not None and not keep:
            return _split(entry)
        parts = []
        for (trial, streams, _), stored in zip(trials, _split(entry) if entry is not None else [None] * len(trials),
                                               strict=True):
            arrays, starts = pipeline.windows(trial, pipeline.prepare(streams))
            features = pipeline.features(arrays, len(starts)) if stored is None else stored.features
            windows = {m: np.array(a, dtype=np.float64) for m, a in arrays.items()} if keep and len(starts) else None
            parts.append(TrialFeatures(features, starts, windows, stored is not None))
        if key is not None and entry is None:
            store_entry(cache, key, features=np.concatenate([p.features for p in parts]),
                        starts=np.concatenate([p.starts for p in parts]),
                        counts=np.array([len(p.starts) for p in parts], dtype=np.int64))
        return parts


def _split(entry: Mapping[str, np.ndarray]) -> list[TrialFeatures]:
    """The trials of a cache entry of :func:`trials_features`."""
    ends = np.cumsum(entry["counts"])
    return [TrialFeatures(entry["features"][end - n:end], entry["starts"][end - n:end], None, True)
            for end, n in zip(ends, entry["counts"], strict=True)]


def _units(trials: Mapping[Any, Mapping[str, Recording]]) -> list[list[Any]]:
    """The trials in units of :data:`TRIALS_PER_UNIT` consecutive trials of one subject's session."""
    units: list[list[Any]] = []
    last = None
    for trial, streams in trials.items():
        meta = next(iter(streams.values())).meta
        session = (meta.get("subject"), meta.get("session"))
        if session != last or len(units[-1]) == TRIALS_PER_UNIT:
            units.append([])
        units[-1].append(trial)
        last = session
    return units


def featurize(recordings: RecordingSet, pipeline: SignalPipeline, cache: Path | None = None, keep: bool = False,
              progress: Callable[[int, int], None] | None = None, digests: Mapping[int, str] | None = None) -> Featurized:
    """The features of every trial, row-aligned with the windows' metadata, computed in units of
    a few trials (:func:`trials_features`) on the current execution backend; ``keep`` also
    gathers the windows' samples. ``progress(done, total)`` counts the trials as they finish.
    ``digests``: the recordings' :func:`~bmelearn.compute.cache.content_digest` by ``id``, when
    already computed."""
    trials = recordings.trials()
    units = _units(trials)
    count = 0

    def finished(i: int, parts: list[TrialFeatures]) -> None:
        nonlocal count
        count += len(parts)
        if progress is not None:
            progress(count, len(trials))

    recipe = recipe_digest(pipeline.key()) if cache is not None else None
    done = run_units(trials_features, [([(trial, trials[trial], [digests[id(r)] for r in trials[trial].values()]
                                          if digests else None) for trial in unit], pipeline, cache, keep, recipe)
                                       for unit in units], finished, cost=[len(unit) for unit in units])
    parts = [part for unit in done for part in unit]
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


__all__ = ["Featurized", "featurize", "fit_pipeline", "trials_features"]
