"""The run folder: the names of its files, the keys of summary.json and run.json, and reading
and writing its tables (CSV or Parquet, by the file name) and JSON files.

Everything the report shows is read from here, so a run folder can be reported on again
without running anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

CONFIG = "config.yaml"
RUN = "run.json"
SUMMARY = "summary.json"
REPORT = "report.html"
MODELS = "models"  # folder of the saved models (NAME.skops and NAME.json)
RESULTS = "results.csv"
RESULTS_PARQUET = "results.parquet"
CONFUSION = "confusion.csv"
PREDICTIONS = "predictions.parquet"
COMPARISONS = "comparisons.csv"
TIMINGS = "timings.csv"
TRAINING_HISTORY = "training_history.csv"
ROBUSTNESS = "robustness.csv"
LEARNING_CURVE = "learning_curve.csv"
TRANSFER = "transfer.csv"
#: The fine-tuned networks against those trained from scratch at each k, paired over subjects
#: (bmelearn.evaluation.statistics.paired_against): protocol, pipeline, repetitions, training, metric,
#: n_subjects, mean, baseline (from scratch), difference, d_z, test, p_value, p_holm, min_p.
TRANSFER_COMPARISONS = "transfer_comparisons.csv"
#: The adaptation curve (bmelearn.evaluation.adaptation): the results columns and method,
#: repetitions (calibration repetitions per class), shift (electrodes the test session was rotated by).
ADAPTATION = "adaptation.csv"
#: Each adapted variant against the unadapted model (against: none) and against the model trained
#: from scratch on the same repetitions (against: scratch), paired over subjects: protocol,
#: pipeline, shift, method, repetitions, metric, n_subjects, mean, baseline (the baseline's mean),
#: difference, d_z, test, p_value, p_holm, min_p, against.
ADAPTATION_COMPARISONS = "adaptation_comparisons.csv"
#: The rotation (electrodes) each aligned variant undid: pipeline, protocol, subject, shift,
#: repetitions, method, rotation.
ROTATIONS = "rotations.csv"
CONTROL = "control.csv"
#: One row per recording: subject, session, repetition, label, trial, source, modality, fs (Hz),
#: n_channels, n_samples, duration (s).
RECORDINGS = "recordings.csv"
#: class, n_windows: the analysis windows of each class, in the task's class order.
WINDOWS = "windows.csv"
#: protocol, pooled (results pooled over subjects), description (what the protocol means).
PROTOCOLS = "protocols.csv"
#: Means over subjects (see bmelearn.evaluation.summaries): protocol, pipeline, the curve's
#: points, metric, class, n_subjects, mean, ci_low, ci_high, min, max, std.
ROBUSTNESS_SUMMARY = "robustness_summary.csv"
LEARNING_CURVE_SUMMARY = "learning_curve_summary.csv"
TRANSFER_SUMMARY = "transfer_summary.csv"
ADAPTATION_SUMMARY = "adaptation_summary.csv"
#: Binary tasks: pipeline, protocol, curve (roc or pr), x, y, low, high.
ROC_PR = "roc_pr.csv"
#: Pipelines with class probabilities: pipeline, protocol, predicted, observed, n, ece (the reliability
#: curve of all test windows together; binary tasks: of the positive class, else of the predicted class).
CALIBRATION = "calibration.csv"
#: The EMG channel checks of each subject's session (bmelearn.signals.quality.channel_quality):
#: subject, session, modality, channel, check (low_frequency, amplitude, powerline_50hz,
#: powerline_60hz), value (median over the recordings: a share of the channel's power, or its
#: RMS over the median channel's), others_low and others_high (the other channels' values),
#: threshold (for amplitude: flagged above it or below its inverse), files_flagged, files,
#: flagged (beyond the threshold in more than half of the files).
CHANNEL_QUALITY = "channel_quality.csv"
#: What was left out before the analysis, for the flow diagram: level (subject, session, trial,
#: window or channel), count, reason (in words a reader understands).
EXCLUSIONS = "exclusions.csv"
#: The reason of the trials left out because no rater rated them (labels:); they are not in
#: RECORDINGS, which lists what was analysed.
UNRATED = "no rating"
#: Agreement of the raters with each other and with each pipeline (bmelearn.evaluation.raters):
#: protocol and pipeline (empty for the raters among themselves), measure, raters, value,
#: ci_low, ci_high, items.
RATER_AGREEMENT = "rater_agreement.csv"
#: Each pipeline's out-of-fold predictions scored against every reference (each rater, the
#: consensus, the soft labels, the dataset's own labels): pipeline, protocol, reference,
#: metric, value, ci_low, ci_high, n_subjects.
RATER_SCORES = "rater_scores.csv"
#: Trials whose label the out-of-fold probabilities contradict, most suspect first
#: (bmelearn.evaluation.suspects).
SUSPECTS = "suspect_labels.csv"
#: Ordered classes (evaluation.ordinal): quadratic-weighted kappa and the mean absolute error on
#: the scale, per subject, rows as results.csv's (bmelearn.evaluation.ordinal).
ORDINAL = "ordinal.csv"
#: Their means over subjects: dataset, pipeline, protocol, metric, class, n_subjects, mean, ci_low,
#: ci_high, min, max, std.
ORDINAL_SUMMARY = "ordinal_summary.csv"
#: Regression: the Bland–Altman agreement of each pipeline's out-of-fold predictions with the
#: truth, per protocol, a trial's windows averaged (bmelearn.evaluation.regression.bland_altman):
#: pipeline, protocol, bias, sd, lower, upper and their intervals, n, unit.
BLAND_ALTMAN = "bland_altman.csv"

# keys of summary.json
SUMMARY_DATASET = "dataset"
SUMMARY_N_WINDOWS = "n_windows"
SUMMARY_POSITIVE = "positive_class"
SUMMARY_PROTOCOLS = "protocols"  # protocol → pipeline → metric → mean, ci_low, ci_high, std, min, max, per_subject
SUMMARY_COMPARISONS = "comparisons"
SUMMARY_RANKING = "ranking"
SUMMARY_CONTROL = "control"
SUMMARY_SCALE = "ordinal_scale"  # the classes lowest first when they are ordered (evaluation.ordinal), else []
SUMMARY_PRIMARY = "primary_protocol"  # the protocol the run is summed up by (evaluation.primary, else the hardest)

# keys of run.json
RUN_NAME = "name"
RUN_FINISHED = "finished"
RUN_FLAGGED_CHANNELS = "flagged_channels"  # the flagged rows of CHANNEL_QUALITY, one object per row
RUN_STAGES = "stages"  # wall time (s) and peak memory (MB, the run's processes together) of each stage

#: Columns read as text whatever they hold (subjects or classes named by numbers stay names).
TEXT_COLUMNS = ("dataset", "pipeline", "protocol", "subject", "session", "repetition", "label", "trial", "source",
                "modality", "channel", "check", "metric", "class", "true", "predicted", "perturbation", "training",
                "curve", "stage", "pipeline_a", "pipeline_b", "test", "description", "suggested", "reference", "raters",
                "reason")


def write_table(folder: Path, name: str, table: pd.DataFrame) -> None:
    """``table`` as the file ``name`` of ``folder``, without its index: Parquet for a ``.parquet`` name, else CSV."""
    if name.endswith(".parquet"):
        table.to_parquet(folder / name, index=False)
    else:
        table.to_csv(folder / name, index=False)


def read_table(folder: Path, name: str) -> pd.DataFrame | None:
    """The table ``name`` of ``folder``, None if the run did not write it. Numbers of a CSV file
    are read back exactly, its TEXT_COLUMNS as text (an empty cell as ``""``)."""
    path = Path(folder) / name
    if not path.is_file():
        return None
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    table = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str), float_precision="round_trip")
    text = [c for c in TEXT_COLUMNS if c in table.columns]
    return table.fillna(dict.fromkeys(text, ""))


def write_json(folder: Path, name: str, payload: dict[str, Any]) -> None:
    """``payload`` as the JSON file ``name`` of ``folder`` (values JSON does not know written as text)."""
    (folder / name).write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def write_yaml(folder: Path, name: str, payload: dict[str, Any]) -> None:
    """``payload`` as the YAML file ``name`` of ``folder``, keys in their order."""
    (folder / name).write_text(yaml.safe_dump(payload, sort_keys=False), encoding="utf-8")


def read_json(folder: Path, name: str) -> dict[str, Any]:
    """The JSON file ``name`` of ``folder``."""
    return json.loads((Path(folder) / name).read_text(encoding="utf-8"))


def write_data(folder: Path, recordings: pd.DataFrame, labels: Sequence[str], classes: Sequence[str]) -> None:
    """The description of the data: RECORDINGS (``recordings``, one row per recording) and
    WINDOWS (how many of the window ``labels`` are of each of the ``classes``)."""
    write_table(folder, RECORDINGS, recordings)
    counts = pd.Series(labels, dtype=str).value_counts()
    write_table(folder, WINDOWS, pd.DataFrame({"class": list(classes),
                                               "n_windows": [int(counts.get(str(c), 0)) for c in classes]}))
