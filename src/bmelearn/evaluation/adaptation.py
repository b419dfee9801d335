"""Winning back accuracy on a new day: a model trained on earlier sessions (or other people),
adapted to each test session with its first k repetitions per class (calibration), tested on
the rest.

For every fold of a protocol that tests other sessions or other subjects than it trains on
(``cross_session``, ``loso``), each test session of the fold gives its first k repetitions of each class for calibration, for
each k of ``repetitions`` (0 included), and is tested on its repetitions after the largest k:
the same test windows for every k and method, so that the curve compares like with like. The
leakage guard checks the training and calibration windows against the test windows.

The methods (:data:`METHODS`):

- ``none``: the model trained on the training sessions, unchanged (k = 0);
- ``recentre``: adapted without labels (k = 0) to the windows of the test session recorded
  before its test windows, those of the largest k with their labels unread
  (:func:`bmelearn.models.adaptation.recentred`: a mean shift of the features, AdaBN for a
  network); never to the test windows themselves;
- ``self_train`` (models on features other than networks, every k): ``recentre``, then the model trained again on
  the training windows and those same windows of the test session, each labelled by its own
  prediction, except the calibration windows, which bring their labels and count
  :data:`CALIBRATION_WEIGHT` times (:func:`bmelearn.models.adaptation.self_trained`); never the
  test windows themselves;
- ``adversarial`` (networks, k = 0): trained again with a domain-adversarial head that learns to
  tell the training windows from those same unlabelled windows of the test session, through a
  gradient reversal layer (DANN: Ganin et al., JMLR 17(59), 2016), with the network's
  ``adversarial`` weight or :data:`ADVERSARIAL_WEIGHT`;
- ``retrain``: trained again on the training windows and the calibration windows, each of
  these counted :data:`CALIBRATION_WEIGHT` times (the new day weighs more than its few windows);
- ``scratch``: trained on the calibration windows alone (the baseline of transfer: what k
  repetitions give without the training sessions);
- ``adaptive``: the trained model moved toward the calibration windows: adaptive LDA
  (:func:`~bmelearn.models.adaptation.adaptive_lda`), a network fine-tuned on them; other
  models have no such update and are left out of this method;
- ``align``: the armband's rotation estimated from the calibration windows
  (:func:`~bmelearn.models.adaptation.best_rotation`, in whole electrodes: half steps, which
  interpolate neighbouring channels, cannot undo a rotation and were chosen wrongly for two
  MyoDisCo subjects whose armband had not turned) and undone on the test windows, then the
  trained model;
- ``align_adaptive``: ``align``, then ``adaptive`` on the un-rotated calibration windows.

With ``electrode_shift`` levels, the whole test session (calibration and test windows) is first
rotated by that many electrodes (:func:`bmelearn.evaluation.robustness.electrode_shift`), as if
the armband had been put back rotated. Each (protocol, pipeline, fold) is one unit of parallel
work (one fit on the training windows, then every level, k and method), kept in the run's
checkpoint. Results have the columns of :func:`bmelearn.evaluation.evaluate` plus ``method``,
``repetitions`` and ``shift``, with intervals over the subject's test trials; the rotations
chosen are in :func:`adaptation_curve`'s second table.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline

from bmelearn.compute.backends import single_threaded
from bmelearn.compute.checkpoint import Checkpoint, UnitResult, run_kept, unit_key
from bmelearn.errors import ConfigError
from bmelearn.evaluation.bootstrap import CONFIDENCE, N_BOOT, keyed_seed
from bmelearn.evaluation.evaluate import RESULT_COLUMNS, class_scores, score_rows, trial_ids
from bmelearn.evaluation.leakage import LeakageGuard
from bmelearn.evaluation.protocols import MetadataSplitter, first_repetitions
from bmelearn.evaluation.robustness import electrode_shift
from bmelearn.evaluation.statistics import paired_against
from bmelearn.models.adaptation import adaptive_lda, best_rotation, fine_tuned, is_lda, recentred, self_trained
from bmelearn.models.capabilities import capabilities
from bmelearn.registry import Entry, Registry

ADAPTATION_COLUMNS = [*RESULT_COLUMNS, "method", "repetitions", "shift"]
#: How many times ``retrain`` counts each calibration window: on MyoDisCo cross-day, 5 beat
#: 1 by 1.6–2.0 points at k = 1, 2 and 4; 20 over-fits the calibration repetitions.
CALIBRATION_WEIGHT = 5
#: The weight of the domain loss of ``adversarial`` for a network whose own is 0.
ADVERSARIAL_WEIGHT = 0.3
ROTATION_COLUMNS = ["pipeline", "protocol", "subject", "session", "shift", "repetitions", "rotation"]
SESSION = ("subject", "session")  # calibration by repetition number in each session, whatever the class
SUPERVISED = ("retrain", "scratch", "adaptive", "align", "align_adaptive")
#: Methods that run at every k: without labels at k = 0, with the calibration windows' labels after.
EVERY_K = ("self_train",)

#: The adaptation methods by name (see the module text): ``label`` in the report, ``labelled``
#: whether it reads the calibration windows' labels (then k >= 1), ``description``.
METHODS: Registry[Entry] = Registry("adaptation method", [
    Entry(name, description, {}, {"label": label, "labelled": name in SUPERVISED, "every_k": name in EVERY_K})
    for name, label, description in (
        ("none", "not adapted", "the model trained on the training sessions, unchanged"),
        ("recentre", "recentred (no labels)", "the features moved to the training data's mean from the new session's "
                                              "first windows, unlabelled; a network's batch-norm statistics re-estimated"),
        ("self_train", "self-trained", "recentred, then trained again on the training windows and the new session's "
                                       "first windows, labelled by its own predictions but for the k calibration "
                                       f"repetitions (each counted {CALIBRATION_WEIGHT} times)"),
        ("adversarial", "domain-adversarial (no labels)", "a network trained again so that its features cannot tell the "
                                                          "training windows from the new session's first windows, "
                                                          "unlabelled (DANN)"),
        ("retrain", "retrained", "trained again on the training windows and the k calibration repetitions (each "
                                 f"counted {CALIBRATION_WEIGHT} times)"),
        ("scratch", "from scratch", "trained on the k calibration repetitions alone"),
        ("adaptive", "adaptive", "LDA's class means and covariance moved toward the calibration windows (Vidovic 2016); "
                                 "a network fine-tuned on them"),
        ("align", "rotation aligned", "the armband's rotation found from the calibration windows and undone"),
        ("align_adaptive", "aligned, then adaptive", "the rotation undone, then the adaptive update"),
    )
])


def applies(method: str, model: BaseEstimator) -> bool:
    """Whether ``method`` can adapt ``model``: ``adaptive`` needs LDA or a network that can be
    fine-tuned, ``adversarial`` a network (a pipeline ending in one), ``recentre`` features or
    such a network."""
    if method in ("adaptive", "align_adaptive"):
        return is_lda(model) or capabilities(model).fine_tunable
    if method == "adversarial":
        return isinstance(model, Pipeline) and "adversarial" in model.steps[-1][1].get_params()
    if method == "recentre":  # a network inside a calibration or operating-point wrapper has no AdaBN here
        return capabilities(model).input == "features" or (isinstance(model, Pipeline)
                                                           and hasattr(model.steps[-1][1], "adapt_to"))
    if method == "self_train":  # a network would be trained again from the start for each session
        return capabilities(model).input == "features" and not capabilities(model).fine_tunable
    return True


def rotations(n_channels: int) -> list[float]:
    """The candidate un-rotations of an armband of ``n_channels`` electrodes, in whole electrodes
    (see the module text): every one from −⌊n/2⌋ to n − ⌊n/2⌋ − 1, 0 included, for any n."""
    return [float(r) for r in range(-(n_channels // 2), n_channels - n_channels // 2)]


@dataclass(frozen=True)
class Session:
    """The windows of one fold's test sessions: ``pool`` (rows of the data: the calibration
    windows of the largest k and the test windows), and as positions in ``pool`` the
    ``calibration`` windows for each k and the ``test`` windows; ``sessions`` numbers the test
    session (subject and session) of each pool window: each is adapted on its own."""

    pool: np.ndarray
    calibration: dict[int, np.ndarray]
    test: np.ndarray
    sessions: np.ndarray


def split_sessions(meta: pd.DataFrame, train: np.ndarray, test: np.ndarray, repetitions: Sequence[int],
                   protocol: str) -> Session:
    """The calibration and test windows of a fold's ``test`` rows (see the module text): in each
    test session, the windows of its first k repetitions calibrate and those after the largest
    k test; checked by the leakage guard and for windows left to test in every session."""
    tested = np.zeros(len(meta), dtype=bool)
    tested[test] = True
    largest = max(repetitions)
    held = first_repetitions(meta, tested, largest, SESSION)
    rest = tested & ~held
    if meta[rest].groupby(["subject", "session"]).ngroups < meta[tested].groupby(["subject", "session"]).ngroups:
        counts = meta[tested].groupby(["subject", "session"])["repetition"].nunique()
        raise ConfigError(f"evaluation.adaptation.repetitions: {largest} calibration repetitions leave nothing to test in "
                          f"protocol {protocol!r} (test sessions with as few as {int(counts.min())} repetitions); "
                          "use fewer.")
    pool = np.flatnonzero(held | rest)
    position = np.full(len(meta), -1)
    position[pool] = np.arange(len(pool))
    calibration = {k: position[first_repetitions(meta, tested, k, SESSION)] for k in repetitions}
    guard = LeakageGuard(meta)
    for k, rows in calibration.items():
        guard.check(np.concatenate([train, pool[rows]]), np.flatnonzero(rest), f"{protocol} calibrated with {k}")
    sessions = meta.iloc[pool].groupby(["subject", "session"], sort=False).ngroup().to_numpy()
    return Session(pool, calibration, position[rest], sessions)


def plan(methods: Sequence[str], repetitions: Sequence[int], shifts: Sequence[float],
         model: BaseEstimator) -> list[tuple[float, int, str]]:
    """The (shift, k, method) variants a unit predicts, in order: the unlabelled methods at k = 0,
    the labelled ones at every k >= 1, those of :data:`EVERY_K` at every k, the methods that do
    not apply to ``model`` left out."""
    return [(shift, k, method) for shift in shifts for k in repetitions for method in methods
            if applies(method, model) and ((k >= 1) == METHODS[method].metadata["labelled"]
                                           or METHODS[method].metadata["every_k"])]


def adaptation_unit(pipeline: BaseEstimator, X: np.ndarray, y: np.ndarray, train: np.ndarray, session: Session,
                    views: Mapping[tuple[float, float], np.ndarray] | None, variants: list[tuple[float, int, str]],
                    candidates: list[float], classes: list[str]) -> UnitResult:
    """One fold, on one thread: ``pipeline`` fitted on the training windows, then every variant
    (shift, k, method) of :func:`plan`, adapted to each test session on its own, predicted on
    the sessions' test windows (in the order of ``session.test``). ``views[(shift, rotation)]``
    holds the model's input for the ``pool`` windows rotated by ``shift`` and then un-rotated by
    ``rotation`` (features need the signal pipeline, so they are computed before); without
    ``views``, ``X`` holds raw windows and they are rotated here. The result's last ``predicted``
    array holds the rotation chosen for each variant and session, variant by variant (0 where
    none is)."""
    with single_threaded():
        started = time.perf_counter()
        source = clone(pipeline).fit(X[train], y[train])
        seconds = time.perf_counter() - started
        pooled = X[session.pool] if views is None else None
        labels = y[session.pool]

        def view(shift: float, rotation: float, rows: np.ndarray) -> np.ndarray:
            if views is not None:
                return views[(shift, rotation)][rows]
            return electrode_shift(electrode_shift(pooled[rows], shift), rotation)

        @functools.cache
        def undone(shift: float, k: int, number: int) -> float:
            """The rotation the alignment finds in test session ``number`` (align and
            align_adaptive share it)."""
            calibration = np.intersect1d(session.calibration[k], np.flatnonzero(session.sessions == number))
            return best_rotation(source, {r: view(shift, r, calibration) for r in candidates}, labels[calibration])

        def adapted_to(shift: float, k: int, method: str, number: int) -> tuple[BaseEstimator, float]:
            """The model of ``method`` for test session ``number``, and the rotation it undoes."""
            mine = np.flatnonzero(session.sessions == number)
            calibration = np.intersect1d(session.calibration[k], mine)
            unlabelled = np.intersect1d(session.calibration[max(session.calibration)], mine)  # before the test windows
            rotation = undone(shift, k, number) if method.startswith("align") else 0.0
            X_cal, y_cal = view(shift, rotation, calibration), labels[calibration]
            if method == "recentre":
                return recentred(source, X[train], view(shift, 0.0, unlabelled)), rotation
            if method == "self_train":  # the calibration windows are the first of the unlabelled ones
                return self_trained(source, pipeline, X[train], y[train], view(shift, 0.0, unlabelled),
                                    np.isin(unlabelled, calibration), y_cal, CALIBRATION_WEIGHT), rotation
            if method == "adversarial":
                return adversarial(pipeline, X[train], y[train], view(shift, 0.0, unlabelled)), rotation
            if method == "retrain":  # the new session first: a network's validation windows stay the training ones
                weighted = np.tile(np.arange(len(calibration)), CALIBRATION_WEIGHT)
                return clone(pipeline).fit(np.concatenate([X_cal[weighted], X[train]]),
                                           np.concatenate([y_cal[weighted], y[train]])), rotation
            if method == "scratch":
                return clone(pipeline).fit(X_cal, y_cal), rotation
            if method in ("adaptive", "align_adaptive"):
                return adapted(source, X[train], y[train], X_cal, y_cal), rotation
            return source, rotation

        predicted, scores, chosen = [], [], []
        for shift, k, method in variants:
            labels_out = np.empty(len(session.test), dtype=object)
            scores_out: np.ndarray | None = np.zeros((len(session.test), len(classes)))
            for number in np.unique(session.sessions).tolist():
                model, rotation = adapted_to(shift, k, method, number)
                tested = session.sessions[session.test] == number
                X_test = view(shift, rotation, session.test[tested])
                labels_out[tested] = model.predict(X_test).astype(str)
                part = class_scores(model, X_test, classes)
                if part is None:
                    scores_out = None
                elif scores_out is not None:
                    scores_out[tested] = part
                chosen.append(rotation)
            predicted.append(labels_out.astype(str))
            scores.append(scores_out)
        return UnitResult(seconds, float("nan"), [*predicted, np.array(chosen)], [*scores, None])


def adversarial(pipeline: Pipeline, X_train: np.ndarray, y_train: np.ndarray, X_new: np.ndarray) -> Pipeline:
    """The network of ``pipeline`` trained domain-adversarially on the training windows and the
    unlabelled windows ``X_new`` of the new session (its ``adversarial`` weight, or
    :data:`ADVERSARIAL_WEIGHT` when that is 0); the steps before it are fitted on the training
    windows and transform both."""
    model = clone(pipeline)
    network = model.steps[-1][1]
    network.set_params(adversarial=network.adversarial or ADVERSARIAL_WEIGHT)
    if len(model.steps) > 1:
        X_train, X_new = model[:-1].fit_transform(X_train, y_train), model[:-1].transform(X_new)
    network.fit(X_train, y_train, unlabelled=X_new)
    return model


def adapted(source: BaseEstimator, X_train: np.ndarray, y_train: np.ndarray, X_cal: np.ndarray,
            y_cal: np.ndarray) -> BaseEstimator:
    """The ``adaptive`` update of a fitted model: adaptive LDA, or a copy of a network fine-tuned."""
    if is_lda(source):
        return adaptive_lda(source, X_train, y_train, X_cal, y_cal)
    return fine_tuned(source, X_cal, y_cal)


ViewsOf = Callable[[np.ndarray, list[tuple[float, float]]], Mapping[tuple[float, float], np.ndarray] | None]


def adaptation_curve(X: np.ndarray, meta: pd.DataFrame, pipelines: Mapping[str, BaseEstimator],
                     protocols: Mapping[str, MetadataSplitter], repetitions: Sequence[int], methods: Sequence[str],
                     shifts: Sequence[float], classes: Sequence[str], views_of: ViewsOf, n_channels: int,
                     dataset: str = "dataset", on_fit: Callable[[str], None] | None = None, n_boot: int = N_BOOT,
                     confidence: float = CONFIDENCE, seed: int = 0,
                     checkpoint: Checkpoint | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The results of every (shift, k, method) for every pipeline and protocol (see the module
    text), and the rotation each ``align`` variant chose per subject. ``views_of(pool, keys)``
    gives the model input of the ``pool`` rows for each (shift, rotation) of ``keys``, or None
    when ``X`` holds the raw windows (rotated in the units); ``n_channels``: the armband's
    electrodes, for the candidate rotations."""
    meta = meta.reset_index(drop=True)
    y = meta["label"].astype(str).to_numpy()
    subjects = meta["subject"].astype(str).to_numpy()
    trials = trial_ids(meta)
    classes = [str(c) for c in classes]
    repetitions = sorted(set(repetitions) | {0})
    shifts = [float(s) for s in shifts] or [0.0]
    candidates = rotations(n_channels) if any(m.startswith("align") for m in methods) else [0.0]
    rows, chosen = [], []
    data = unit_key(X, y, classes) if checkpoint is not None else None
    for protocol_name, protocol in protocols.items():
        folds = [(train, split_sessions(meta, train, test, repetitions, protocol_name))
                 for train, test in protocol.split(X, y, groups=meta)]
        keys = sorted({(s, r) for s in shifts for r in candidates})
        views = [views_of(session.pool, keys) for _, session in folds]
        units, described, names = [], [], []
        for name, pipeline in pipelines.items():
            variants = plan(methods, repetitions, shifts, pipeline)
            for fold, ((train, session), view) in enumerate(zip(folds, views, strict=True)):
                units.append((pipeline, X, y, train, session, view, variants, candidates, classes))
                described.append(f"adaptation: {protocol_name} fold {fold} {name}")
                names.append(name)
        done = _run(units, described, data, checkpoint, on_fit)
        for name, unit, result in zip(names, units, done, strict=True):
            session, variants = unit[4], unit[6]
            test = session.pool[session.test]
            mine = subjects[test]
            tested_in = meta.iloc[session.pool].groupby(session.sessions, sort=True)[["subject", "session"]].first()
            rotations_of = np.asarray(result.predicted[-1], dtype=float).reshape(len(variants), len(tested_in))
            for (shift, k, method), predicted, scores, undone in zip(variants, result.predicted[:-1], result.scores[:-1],
                                                                     rotations_of, strict=True):
                for subject in pd.unique(mine):
                    at = mine == subject
                    seed_of = keyed_seed(seed, (protocol_name, name, shift, k, method, subject))
                    for row in score_rows(y[test][at], predicted[at], None if scores is None else scores[at],
                                          trials[test][at], y[test][at], classes, n_boot, confidence,
                                          np.random.default_rng(seed_of)):
                        rows.append((dataset, name, protocol_name, subject, *row, method, k, shift))
                if method == "align":
                    chosen += [(name, protocol_name, str(who.subject), str(who.session), shift, k, float(rotation))
                               for who, rotation in zip(tested_in.itertuples(), undone, strict=True)]
    return pd.DataFrame(rows, columns=ADAPTATION_COLUMNS), pd.DataFrame(chosen, columns=ROTATION_COLUMNS)


def check_calibration(meta: pd.DataFrame, protocols: Mapping[str, MetadataSplitter], repetitions: Sequence[int]) -> None:
    """Every fold's calibration and test windows (:func:`split_sessions`), from the metadata
    alone: a number of repetitions that leaves nothing to test stops a run before any fit."""
    for name, protocol in protocols.items():
        for train, test in protocol.split(None, None, groups=meta):
            split_sessions(meta.reset_index(drop=True), train, test, sorted(set(repetitions) | {0}), name)


def count_adaptation_fits(meta: pd.DataFrame, pipelines: Mapping, protocols: Mapping[str, MetadataSplitter]) -> int:
    """How many units :func:`adaptation_curve` runs: one per pipeline and fold."""
    return len(pipelines) * sum(p.get_n_splits(groups=meta) for p in protocols.values())


def _run(units: list[tuple], described: list[str], data: str | None, checkpoint: Checkpoint | None,
         on_fit: Callable[[str], None] | None) -> list[UnitResult]:
    """Every unit: from the checkpoint when it holds it, else on the current execution backend."""
    keys = [unit_key(data, "adaptation", u[0], u[3], u[4].pool, u[4].test, sorted(u[4].calibration.items()),
                     u[4].sessions, None if u[5] is None else sorted(u[5].items()), u[6], u[7])
            for u in units] if checkpoint is not None else [None] * len(units)
    return run_kept(adaptation_unit, units, keys, described, checkpoint, on_fit, [len(u[3]) for u in units])


def compare_adaptations(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Every adapted variant against the unadapted model (``none``) at the same shift and, where
    the curve has ``scratch``, every other labelled variant against the model trained from
    scratch on the same k repetitions (does the training data help?), paired over subjects
    (:func:`~bmelearn.evaluation.statistics.paired_against`); the column ``against`` names the
    baseline, Holm's correction runs over the variants compared with one baseline."""
    unadapted = paired_against(results, metric, ["protocol", "pipeline", "shift"], ["method", "repetitions"],
                               ("none", 0)).assign(against="none")
    labelled = results[results["repetitions"] > 0]
    scratch = paired_against(labelled, metric, ["protocol", "pipeline", "shift", "repetitions"], ["method"],
                             ("scratch",)).assign(against="scratch")
    return pd.concat([unadapted, scratch[unadapted.columns]], ignore_index=True)
