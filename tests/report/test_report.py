"""Tests of the HTML report: numbers, ordering, escaping, self-containment and atomic writing; the
report shows what the run folder holds, and the run folder's summaries use the configured
bootstrap and seed streams; it says what was done (the methods), every caption says what its
numbers are, the texts agree with one another, and a clinician reads names, not code (issue 17)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmelearn import Recording
from bmelearn.errors import DataError
from bmelearn.evaluation import make_protocol, summarize
from bmelearn.evaluation.curves import roc_pr_bands
from bmelearn.evaluation.statistics import compare_pipelines, rank_pipelines
from bmelearn.evaluation.summaries import (
    LEARNING_POINTS,
    ROBUSTNESS_POINTS,
    curve_summary,
)
from bmelearn.models import MODELS
from bmelearn.report import tables, text, write_report
from bmelearn.report.cells import with_interval
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.runs.seeds import Stream
from bmelearn.signals.recording import session_label

CLASSES = ["rest", "fist", "open hand"]
PIPELINES = ["lda", "svm"]
PROTOCOLS = ["cross_session", "loso"]
SUBJECTS = ["S1", "S2", "S10"]

# Hand-chosen fold accuracies for lda / cross_session: subject means 0.85, 0.70, 0.95 -> 83.3 %, range 70.0-95.0.
LDA_CROSS_SESSION = {"S1": (0.80, 0.90), "S2": (0.70, 0.70), "S10": (0.90, 1.00)}
# svm / loso balanced accuracy: subject means 0.55, 0.65, 0.60 -> 60.0 %, range 55.0-65.0.
SVM_LOSO_BACC = {"S1": (0.50, 0.60), "S2": (0.60, 0.70), "S10": (0.60, 0.60)}
# svm / cross_session sensitivity of "fist": subject means 0.9, 0.6, 0.75 -> 75.0 %.
SVM_CROSS_SESSION_FIST_SENS = {"S1": (1.0, 0.8), "S2": (0.5, 0.7), "S10": (0.75, 0.75)}


def make_results() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for pipeline in PIPELINES:
        for protocol in PROTOCOLS:
            for subject in SUBJECTS:
                for fold in range(2):

                    def add(metric, value, cls="", key=(pipeline, protocol, fold, subject)):
                        rows.append(dict(dataset="toy", pipeline=key[0], protocol=key[1], fold=key[2],
                                         subject=key[3], metric=metric, **{"class": cls}, value=value))

                    acc = rng.uniform(0.4, 0.9)
                    bacc = rng.uniform(0.4, 0.9)
                    if (pipeline, protocol) == ("lda", "cross_session"):
                        acc = LDA_CROSS_SESSION[subject][fold]
                    if (pipeline, protocol) == ("svm", "loso"):
                        bacc = SVM_LOSO_BACC[subject][fold]
                    add("accuracy", acc)
                    add("balanced_accuracy", bacc)
                    for cls in CLASSES:
                        sens = rng.uniform(0.3, 1.0)
                        if (pipeline, protocol, cls) == ("svm", "cross_session", "fist"):
                            sens = SVM_CROSS_SESSION_FIST_SENS[subject][fold]
                        add("sensitivity", sens, cls)
                        add("specificity", rng.uniform(0.5, 1.0), cls)
    return pd.DataFrame(rows)


def make_confusion() -> pd.DataFrame:
    rows = []
    for pipeline in PIPELINES:
        for protocol in PROTOCOLS:
            for subject in SUBJECTS:
                for i, true in enumerate(CLASSES):
                    for j, pred in enumerate(CLASSES):
                        rows.append(dict(pipeline=pipeline, protocol=protocol, subject=subject, true=true,
                                         predicted=pred, count=8 if i == j else 1))
    return pd.DataFrame(rows)


def make_summary(subjects=SUBJECTS) -> pd.DataFrame:
    rows = []
    trial = 0
    for subject in subjects:
        for session in (1, 2):
            for label in CLASSES:
                for repetition in (1, 2):
                    trial += 1
                    rows.append(dict(subject=subject, session=session, repetition=repetition, label=label,
                                     trial=trial, modality="emg", fs=1000.0, n_channels=4, n_samples=3000,
                                     duration=3.0))
                    rows.append(dict(subject=subject, session=session, repetition=repetition, label=label,
                                     trial=trial, modality="imu", fs=100.0, n_channels=6, n_samples=300,
                                     duration=3.0))
    return pd.DataFrame(rows)


def make_windows_meta() -> pd.DataFrame:
    rows = []
    for trial, (subject, label) in enumerate([(s, c) for s in SUBJECTS for c in CLASSES]):
        n = 5 if label == "fist" else 4
        rows += [dict(subject=subject, session=1, repetition=1, label=label, trial=trial, start=0.05 * k)
                 for k in range(n)]
    return pd.DataFrame(rows)


def make_recording(noise: float) -> Recording:
    rng = np.random.default_rng(1)
    data = rng.normal(0, noise, size=(2, 2000)) + np.sin(np.arange(2000) / 50)
    return Recording(data, 500.0, ("EMG1", "EMG2"), ("emg", "emg"), ("mV", "mV"), "emg",
                     {"subject": "S1", "session": 1, "label": "fist", "trial": 7})


NOTES = ["Channel EMG3 of S2 excluded: flat signal.", "<script>alert('note')</script>"]
TITLE = "Grip study <script>alert(1)</script>"
CONFIG = load_config(None, ["seed=3", "windows={length: 0.2, step: 0.05}", f"models=[{', '.join(PIPELINES)}]",
                            f"protocols=[{', '.join(PROTOCOLS)}]", "evaluation.n_boot=0"]).model_dump(mode="json")
CONFIG["dataset"] = {"name": "toy", "path": "/data/toy"}


def write_run_folder(folder: Path, results: pd.DataFrame, confusion: pd.DataFrame, statistics: bool = False) -> None:
    """A run folder as a run writes it, from results with one row per fold: the folds of a subject
    pooled into one row, as evaluate scores them (with the intervals ``results`` has, else none);
    the summary with the configured bootstrap; with ``statistics``, the comparisons and ranking."""
    keys = ["dataset", "pipeline", "protocol", "subject", "metric", "class"]
    results = results.assign(**{c: results.get(c, np.nan) for c in ("ci_low", "ci_high")})
    subject_rows = results.groupby(keys, sort=False)[["value", "ci_low", "ci_high"]].mean().reset_index()
    run_folder.write_table(folder, run_folder.RESULTS_PARQUET, subject_rows)
    run_folder.write_table(folder, run_folder.CONFUSION, confusion)
    protocols = list(pd.unique(subject_rows["protocol"]))
    run_folder.write_table(folder, run_folder.PROTOCOLS, pd.DataFrame(
        {"protocol": protocols, "pooled": False, "description": [make_protocol(p).description for p in protocols]}))
    run_folder.write_data(folder, make_summary(subject_rows["subject"].unique()), make_windows_meta()["label"], CLASSES)
    scoring = CONFIG["evaluation"]
    comparisons = compare_pipelines(subject_rows) if statistics else None
    if comparisons is not None:
        run_folder.write_table(folder, run_folder.COMPARISONS, comparisons)
    run_folder.write_json(folder, run_folder.SUMMARY, {
        run_folder.SUMMARY_POSITIVE: None, run_folder.SUMMARY_CONTROL: None,
        run_folder.SUMMARY_RANKING: rank_pipelines(subject_rows).to_dict(orient="records") if statistics else [],
        run_folder.SUMMARY_PROTOCOLS: summarize(subject_rows, scoring["n_boot"], scoring["confidence"])})


def write(folder: Path, results: pd.DataFrame | None = None, confusion: pd.DataFrame | None = None,
          statistics: bool = False, **overrides) -> str:
    write_run_folder(folder, make_results() if results is None else results,
                     make_confusion() if confusion is None else confusion, statistics)
    kwargs = {"title": TITLE, "config": CONFIG, "notes": NOTES, "version": "9.8.7",
              "examples": [("raw", make_recording(1.0)), ("after preprocessing", make_recording(0.1))]}
    return write_report(folder, **(kwargs | overrides)).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report")
    return folder / run_folder.REPORT, write(folder)


class TableParser(HTMLParser):
    """Rows (lists of cell texts) of every table on the page, by table id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id", f"table{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def section_of(page: str, id: str) -> str:
    start = page.index(f'<section id="{id}">')
    return page[start:page.index("</section>", start)]


class TextParser(HTMLParser):
    """The text a reader sees (or opens): everything but the style and the configuration's YAML,
    which must name keys exactly as the experiment file does."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "pre")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "pre")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = TextParser()
    parser.feed(page)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def page_tables(page: str) -> dict[str, list[list[str]]]:
    parser = TableParser()
    parser.feed(page)
    return parser.tables


def row_of(table: list[list[str]], *keys: str) -> list[str]:
    matches = [row for row in table if all(k in row for k in keys)]
    assert len(matches) == 1, (keys, table)
    return matches[0]


def test_headline_means_average_folds_then_subjects(report):
    _, page = report
    headline = page_tables(page)["headline-table"]
    assert headline[0][:5] == ["Evaluation", "Model", "Participants", "Accuracy (%)", "Range (%)"]
    lda = row_of(headline, "Cross-session", "LDA")
    assert lda[2:5] == ["3", "83.3", "70.0–95.0"]
    svm = row_of(headline, "Leave-one-subject-out", "SVM")
    assert svm[5:7] == ["60.0", "55.0–65.0"]
    # protocol-major order, pipelines in the order of the results table
    assert [r[:2] for r in headline[1:]] == [
        ["Cross-session", "LDA"], ["Cross-session", "SVM"],
        ["Leave-one-subject-out", "LDA"], ["Leave-one-subject-out", "SVM"],
    ]


def test_unequal_folds_weigh_subjects_equally(tmp_path):
    rows = [dict(dataset="d", pipeline="lda", protocol="loso", fold=0, subject="A", metric="accuracy",
                 **{"class": ""}, value=0.5)]
    rows += [dict(dataset="d", pipeline="lda", protocol="loso", fold=f, subject="B", metric="accuracy",
                  **{"class": ""}, value=1.0) for f in range(3)]
    page = write(tmp_path, results=pd.DataFrame(rows), confusion=make_confusion().iloc[:0])
    row = row_of(page_tables(page)["headline-table"], "LDA")
    assert row[3:5] == ["75.0", "50.0–100.0"]  # pooling the folds would give 87.5


def test_per_subject_and_per_class_tables(report):
    _, page = report
    found = page_tables(page)
    subjects = found["subjects-cross_session"]
    assert [r[0] for r in subjects[1:]] == ["S1", "S2", "S10", "Mean"]  # natural order, mean last
    assert subjects[0][1] == "LDA accuracy (%)"
    assert [r[1] for r in subjects[1:]] == ["85.0", "70.0", "95.0", "83.3"]
    classes = found["classes-cross_session"]  # the models side by side
    assert classes[0] == ["Class", "LDA sensitivity (%)", "LDA specificity (%)", "SVM sensitivity (%)",
                          "SVM specificity (%)"]
    assert [r[0] for r in classes[1:]] == CLASSES
    assert row_of(classes, "fist")[3] == "75.0"  # no interval: this run drew no bootstrap resamples


def test_data_tables(report):
    _, page = report
    found = page_tables(page)
    trials = found["trials-table"]
    assert trials[0] == ["Class", "Session 1", "Session 2", "Total"]
    assert [r[0] for r in trials[1:4]] == CLASSES
    assert row_of(trials, "rest") == ["rest", "6", "6", "12"]  # 3 subjects × 2 repetitions, both modalities once
    assert trials[-1] == ["Total", "18", "18", "36"]
    windows = found["windows-table"]
    assert row_of(windows, "fist")[1:] == ["15", str(round(100 * 15 / 39, 1))]
    modalities = found["modalities-table"]
    emg = row_of(modalities, "EMG")
    assert emg[1:] == ["36", f"{36 * 3 / 60:.1f}", "1000", "4"]


def test_order_of_sections_and_plain_language(report):
    _, page = report
    ids = ["headline", "notes", "what-was-done", "methods", "metrics", "data", "examples", "per-subject", "per-class",
           "confusion", "configuration"]
    positions = [page.index(f'<section id="{i}">') for i in ids]
    assert positions == sorted(positions)
    for i in ids:
        assert f'href="#{i}"' in page
    assert "toy dataset" in page
    assert "200 ms" in page and "every 50 ms" in page
    assert "tested on a later one" in page
    assert "Sensitivity" in page and "Specificity" in page and "Balanced accuracy" in page


def test_names_and_classes_appear(report):
    _, page = report
    for name in [*CLASSES, "LDA", "SVM", "Cross-session", "Leave-one-subject-out", "S10", "after preprocessing"]:
        assert name in page


def test_self_contained_with_embedded_images(report):
    _, page = report
    # 2 per-subject plots + 2 examples (the confusion matrices are tables)
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)) == 4
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_user_text_is_escaped_and_notes_shown(report):
    _, page = report
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Channel EMG3 of S2 excluded: flat signal." in page
    notes = page[page.index('<section id="notes">'):page.index('<section id="metrics">')]
    assert "Channel EMG3" in notes and "&lt;script&gt;alert(" in notes


def test_config_footer_and_no_temporary_file(report):
    path, page = report
    config = section_of(page, "configuration")
    assert "windows:" in config and "step: 0.05" in config and "/data/toy" in config and "seed: 3" in config
    footer = page[page.index("<footer>"):]
    assert "9.8.7" in footer and re.search(r"\d{4}-\d{2}-\d{2}", footer)
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file


def test_no_notes_says_so_and_default_version(tmp_path):
    import bmelearn

    page = write(tmp_path, notes=[], examples=[], version="")
    assert "No warnings were raised" in page
    assert f"bmelearn {bmelearn.__version__}" in page


def test_failed_write_keeps_previous_report(tmp_path):
    write(tmp_path)
    path = tmp_path / run_folder.REPORT
    path.write_text("old report")
    files = sorted(p.name for p in tmp_path.iterdir())
    results = run_folder.read_table(tmp_path, run_folder.RESULTS_PARQUET)
    run_folder.write_table(tmp_path, run_folder.RESULTS_PARQUET, results.drop(columns="metric"))
    with pytest.raises(DataError, match="metric"):
        write_report(tmp_path, config=CONFIG, title=TITLE)
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_confusion_counts_follow_class_order():
    conf = make_confusion()
    matrices = tables.confusion_matrices(conf.iloc[::-1], CLASSES)
    counts = matrices[("cross_session", "lda")]
    assert list(counts.index) == CLASSES and list(counts.columns) == CLASSES
    assert counts.loc["fist", "fist"] == 24 and counts.loc["fist", "rest"] == 3  # summed over 3 subjects


CURVES = ["dataset.n_subjects=4", "dataset.n_repetitions=3", "dataset.duration=1.0", "dataset.seed=0",
          "dataset.classes=[rest, hand close]", "models=[lda, logreg]", "protocols=[cross_session]", "seed=5",
          "evaluation.n_boot=200", "evaluation.confidence=0.9", "evaluation.robustness={electrode_shift: [0, 1, 2]}",
          "evaluation.learning_curve=[1, 3]"]


@pytest.fixture(scope="module")
def curves_run(tmp_path_factory):
    result = run(load_config(None, CURVES), tmp_path_factory.mktemp("runs") / "curves")
    return result.folder, page_tables((result.folder / run_folder.REPORT).read_text(encoding="utf-8"))


def test_the_report_shows_the_summaries_of_the_run_folder(curves_run):
    folder, found = curves_run
    summary = run_folder.read_json(folder, run_folder.SUMMARY)[run_folder.SUMMARY_PROTOCOLS]
    for pipeline, name in (("lda", "LDA"), ("logreg", "logistic regression")):
        bacc = summary["cross_session"][pipeline]["balanced_accuracy"]
        cell = row_of(found["headline-table"], name)[5]
        assert cell.removesuffix("*") == with_interval(bacc["mean"], bacc["ci_low"], bacc["ci_high"])
    means = run_folder.read_table(folder, run_folder.ROBUSTNESS_SUMMARY).query(
        "metric == 'balanced_accuracy' and `class` == ''")
    shown = found["robustness-cross_session-electrode_shift"]
    assert shown[0] == ["Model", "0", "1", "2"]
    for r in means.itertuples(index=False):
        assert row_of(shown, text.model_label(r.pipeline))[1 + int(r.level)] == with_interval(r.mean, r.ci_low, r.ci_high)
    page = (folder / run_folder.REPORT).read_text(encoding="utf-8")
    ece = run_folder.read_table(folder, run_folder.CALIBRATION).groupby("pipeline", sort=False)["ece"].first()
    assert (f"Expected calibration error (%, over 10 bins): "
            f"{', '.join(f'{text.model_label(p)} {100 * e:.1f}' for p, e in ece.items())}." in page)
    assert "How much training data?" in page and "ROC curve" in page
    assert "Decision curve" in page and "on every case (treat all) and on none" in page
    calibrated = run_folder.read_table(folder, run_folder.CALIBRATION).groupby("pipeline", sort=False).first()
    assert (f"Calibration intercept (0 is ideal; above, predictions too low) and slope (1 is ideal; below, too extreme): "
            f"{', '.join(f'{text.model_label(p)} {r.intercept:.2f} and {r.slope:.2f}' for p, r in calibrated.iterrows())}."
            in page)
    bands = run_folder.read_table(folder, run_folder.ROC_PR)
    decision = bands[bands["curve"] == "net_benefit"]
    assert "treat all" in set(decision["pipeline"]) and decision["x"].between(0.01, 0.99).all()


def test_summaries_use_the_configured_bootstrap_and_seed_streams(curves_run):
    folder, _ = curves_run
    n_boot, confidence, seed = 200, 0.9, 5
    for table, points, summary, stream in (
            (run_folder.ROBUSTNESS, ROBUSTNESS_POINTS, run_folder.ROBUSTNESS_SUMMARY, Stream.ROBUSTNESS_SUMMARY),
            (run_folder.LEARNING_CURVE, LEARNING_POINTS, run_folder.LEARNING_CURVE_SUMMARY, Stream.LEARNING_SUMMARY)):
        curve = run_folder.read_table(folder, table)
        written = run_folder.read_table(folder, summary)
        pd.testing.assert_frame_equal(curve_summary(curve, points, n_boot, confidence, stream.seed(seed)), written,
                                      check_dtype=False)
        other = curve_summary(curve, points, n_boot, confidence, stream.seed(seed + 1))
        np.testing.assert_array_equal(other["mean"], written["mean"])  # another seed: the same means...
        assert not np.allclose(other["ci_low"], written["ci_low"], equal_nan=True)  # ...other intervals
        fewer = curve_summary(curve, points, 50, confidence, stream.seed(seed))
        assert not np.allclose(fewer["ci_high"], written["ci_high"], equal_nan=True)
    predictions = run_folder.read_table(folder, run_folder.PREDICTIONS)
    pd.testing.assert_frame_equal(roc_pr_bands(predictions, "hand close", n_boot, confidence, Stream.ROC_PR.seed(seed)),
                                  run_folder.read_table(folder, run_folder.ROC_PR), check_dtype=False)


# --- issue 17: the report says what was done, consistently --------------------------------------


def methods_of(page: str) -> str:
    return visible_text(section_of(page, "methods"))


def test_methods_name_the_features_intervals_and_seed(curves_run):
    folder, _ = curves_run
    methods = methods_of((folder / run_folder.REPORT).read_text(encoding="utf-8"))
    # the demo's features (HTD + RMS on the EMG, MAV on the accelerometer), by their full names
    assert ("from the EMG, the HTD set — mean absolute value (MAV), zero crossings (ZC), slope sign changes (SSC) and "
            "waveform length (WL) — and root mean square (RMS); from the ACC, mean absolute value (MAV).") in methods
    # the interval method of evaluation/bootstrap.py, with this run's n and confidence, and the unit resampled
    assert "90% confidence intervals are bias-corrected and accelerated (BCa) bootstrap intervals with 200 resamples" in methods
    assert "the participant's test trials were resampled with replacement within each class" in methods
    assert "for a mean over participants" in methods and "the participants were resampled" in methods
    assert "derived from the experiment seed, 5." in methods
    assert "band-pass filtered between 20 and 450 Hz (order = 4, zero-phase)" in methods
    assert "LDA (scikit-learn LinearDiscriminantAnalysis" in methods and "logistic regression (scikit-learn LogisticRegression" in methods
    assert "cross-session, trained on one recording session" in methods
    assert "exact permutation test" in methods and "Holm-corrected" in methods
    assert "Data were simulated by bmelearn's built-in simulator: " in methods and "from 4 participants" in methods


def test_methods_give_the_versions_run_json_records_and_no_others(tmp_path):
    versions = {"bmelearn": "1.2.3", "numpy": "2.0.1", "scikit-learn": "1.5.2", "scipy": "1.14.1", "python": "3.12.4"}
    run_folder.write_json(tmp_path, run_folder.RUN, {run_folder.RUN_NAME: "toy", **versions})
    methods = methods_of(write(tmp_path))
    assert "Software: bmelearn 1.2.3, NumPy 2.0.1, scikit-learn 1.5.2, SciPy 1.14.1 and Python 3.12.4." in methods
    (tmp_path / run_folder.RUN).unlink()  # an old run folder without them: nothing read from this environment
    assert "Software" not in methods_of(write(tmp_path)) and np.__version__ not in methods_of(write(tmp_path))
    assert "No confidence intervals were computed" in methods  # this run drew no bootstrap resamples


def test_per_class_cells_show_the_interval_of_the_results(tmp_path):
    # one participant: the mean over participants is that participant's row of results.csv, interval included
    results = make_results().query("subject == 'S1' and fold == 0").assign(
        ci_low=lambda r: r["value"] - 0.05, ci_high=lambda r: r["value"] + 0.02)
    found = page_tables(write(tmp_path, results=results))
    written = run_folder.read_table(tmp_path, run_folder.RESULTS_PARQUET).set_index(["protocol", "pipeline", "metric", "class"])
    for protocol in PROTOCOLS:
        shown = found[f"classes-{protocol}"]
        for c in CLASSES:
            row = row_of(shown, c)
            for i, (pipeline, metric) in enumerate((p, m) for p in PIPELINES for m in ("sensitivity", "specificity")):
                r = written.loc[(protocol, pipeline, metric, c)]
                assert row[1 + i] == with_interval(r["value"], r["ci_low"], r["ci_high"])
                assert row[1 + i] == f"{100 * r['value']:.1f} ({100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f})"


def test_per_class_means_over_participants_with_their_interval(curves_run):
    folder, found = curves_run
    summary = run_folder.read_json(folder, run_folder.SUMMARY)[run_folder.SUMMARY_PROTOCOLS]["cross_session"]
    results = run_folder.read_table(folder, run_folder.RESULTS).query("protocol == 'cross_session'")
    shown = found["classes-cross_session"]
    for c in ("rest", "hand close"):
        cells = row_of(shown, c)[1:]
        for cell, (pipeline, metric) in zip(cells, [(p, m) for p in ("lda", "logreg") for m in ("sensitivity", "specificity")],
                                            strict=True):
            stats = summary[pipeline][f"{metric}:{c}"]
            rows = results.query("pipeline == @pipeline and metric == @metric and `class` == @c")
            assert stats["mean"] == pytest.approx(rows["value"].mean())  # the mean of the participants' results
            assert cell.removesuffix("*") == with_interval(stats["mean"], stats["ci_low"], stats["ci_high"])
            assert re.fullmatch(r"\d+\.\d \(\d+\.\d–\d+\.\d\)\*?", cell)


def test_captions_say_what_the_numbers_are(demo_runs):
    page = (demo_runs / "demo" / run_folder.REPORT).read_text(encoding="utf-8")
    headline = section_of(page, "headline")
    caption = re.search(r"<caption>(.*?)</caption>", headline).group(1)
    # the table caption names both the interval (of the mean) and the range (of the participants)
    assert "95% confidence interval in brackets (BCa bootstrap, 1000 resamples of the participants" in caption
    assert "Range: from the lowest to the highest participant&#39;s own score" in caption
    assert "The range shows" not in page
    # 3 participants: every interval of a mean is their range, and the caption says so
    cells = [cell for row in page_tables(page)["headline-table"][1:] for cell in row[3::2]]
    assert cells and all(cell.endswith("*") for cell in cells)
    assert "*: the 95% interval is the range from the lowest to the highest participant: with only 3 participants" in caption


def test_the_ranking_agrees_with_the_paired_tests(tmp_path):
    # 5 participants: random forest beats SVM beats LDA in every participant under cross-session (Friedman
    # p < 0.05, LDA behind the best by more than the critical difference) but no paired test can reach p < 0.05
    rng = np.random.default_rng(4)
    rows = []
    for subject in ["P1", "P2", "P3", "P4", "P5"]:
        for protocol in PROTOCOLS:
            base = rng.uniform(0.5, 0.7)
            for i, pipeline in enumerate(["lda", "svm", "rf"]):
                value = base + 0.1 * i if protocol == "cross_session" else rng.uniform(0.5, 0.9)
                rows.append(dict(dataset="toy", pipeline=pipeline, protocol=protocol, fold=0, subject=subject,
                                 metric="balanced_accuracy", **{"class": ""}, value=value))
    page = write(tmp_path, results=pd.DataFrame(rows), confusion=make_confusion().iloc[:0], statistics=True)
    comparisons = run_folder.read_table(tmp_path, run_folder.COMPARISONS)
    assert (comparisons["p_holm"] >= 0.05).all()
    ranking = page_tables(page)["ranking-table"]
    assert ranking[0] == ["Evaluation", "Model", "Mean rank", "Critical difference", "Friedman p", "Behind the best",
                          "Paired p against the best"]
    lda = row_of(ranking, "Cross-session", "LDA")
    pair = comparisons.query("protocol == 'cross_session' and pipeline_a == 'lda' and pipeline_b == 'rf'")
    assert lda[5] == "yes" and lda[6] == f"{pair['p_holm'].iloc[0]:.3f}"
    assert row_of(ranking, "Cross-session", "random forest")[6] == "(best)"
    words = visible_text(section_of(page, "comparison"))
    assert "no comparison can reach" not in words
    assert "With 5 participants, a paired test of two models cannot give a p-value below 0.062" in words
    friedman = float(lda[4])
    assert (f"Under cross-session (Friedman p = {friedman:.3f}), the ranking marks LDA as behind the best although the "
            "paired test against the best does not reach p < 0.05") in words
    assert "Under leave-one-subject-out" not in words  # where the ranking marks no model, nothing to reconcile
    assert all(row[5] == "no" for row in ranking[1:] if row[0] == "Leave-one-subject-out")


def test_every_section_folds_and_long_ones_fold_per_protocol(report):
    _, page = report
    sections = re.findall(r'<section id="([^"]+)">\s*<details( open)?>\s*<summary><h2>', page)
    assert len(sections) == page.count("<section ") >= 10
    opened = {id for id, is_open in sections if is_open}
    assert {"headline", "notes", "what-was-done", "per-subject", "per-class", "confusion"} <= opened
    assert not opened & {"methods", "configuration", "examples", "metrics"}  # reference material starts closed
    assert section_of(page, "confusion").count('<details class="fold">') == len(PROTOCOLS) * len(PIPELINES)
    assert section_of(page, "per-class").count('<details class="fold">') == len(PROTOCOLS)
    assert "<script" not in page
    style = page[page.index("<style>"):page.index("</style>")]
    assert "@media print" in style and "details::details-content" in style  # closed sections print too
    assert page.count('<div class="scroll">') == page.count("<table")  # tables scroll in their own box


def test_a_clinician_reads_names_not_code(demo_runs):
    page = (demo_runs / "demo" / run_folder.REPORT).read_text(encoding="utf-8")
    words = re.sub(r"bads: \{\w+: \[\w+\]\}", "", visible_text(page))  # the config key that leaves a channel out
    for code in (r"\blda\b", r"\bsvm\b", r"\brf\b", "within_session", "cross_session", r"\bloso\b", r"\[", r"\]"):
        assert not re.search(code, words), code
    assert "LDA" in words and "random forest" in words and "Leave-one-subject-out" in words


def test_a_simulated_run_says_so_on_its_first_screen(demo_runs, report):
    page = (demo_runs / "demo" / run_folder.REPORT).read_text(encoding="utf-8")
    first = visible_text(page[:page.index('id="headline-table"')])
    assert page.index('<section id="headline">') < page.index("<section ", page.index('<section id="headline">') + 1)
    assert first.index("Simulated data: these results come from bmelearn's built-in simulator") < 500
    assert "highest mean balanced accuracy" in first.lower() and "Leave-one-subject-out (a new patient): " in first
    assert "Simulated data" not in report[1] and "simulated" not in methods_of(report[1])  # the toy dataset is not


def test_one_participant_is_singular(tmp_path):
    page = write(tmp_path, results=make_results().query("subject == 'S1'"))
    words = visible_text(page)
    assert "1 participants" not in words
    assert "from 1 participant in 2 recording sessions" in words and "from 1 participant in 2 sessions" in methods_of(page)


def test_every_model_has_a_name_for_readers():
    assert set(MODELS) <= set(text.MODEL_LABELS)
    assert text.model_label("lda") == "LDA" and text.model_label("rf") == "random forest"
    assert text.model_label("my-lda") == "my-lda"  # a label of the user's own, as it is
    assert session_label("session1") == "session 1" and session_label("train") == "session train"


def test_multiclass_calibration_is_drawn_with_its_error(demo_runs):
    folder = demo_runs / "demo"
    page = (folder / run_folder.REPORT).read_text(encoding="utf-8")
    reliability = pd.read_csv(folder / run_folder.CALIBRATION)
    assert "Calibration: can the confidence be trusted?" in page
    for protocol, block in reliability.groupby("protocol", sort=False):
        errors = ", ".join(f"{text.model_label(p)} {100 * c['ece'].iloc[0]:.1f}" for p, c in block.groupby("pipeline", sort=False))
        assert f"Calibration — {text.protocol_label(protocol)}: all test windows together. Expected calibration error " \
               f"(%, over 10 bins): {errors}." in page


def test_confusion_matrices_are_tables_of_row_shares_shaded_by_them(report):
    from bmelearn.report.sections.confusion import matrix_table

    counts = pd.DataFrame([[8, 2], [0, 0]], index=["a", "b"], columns=["a", "b"])
    table = matrix_table(counts, "caption")
    assert table.rows == [["a", "80 % (8)", "20 % (2)"], ["b", "0 % (0)", "0 % (0)"]]
    assert table.shade(0, 0) == "background: rgba(31, 95, 160, 0.80); color: #fff"
    assert table.shade(0, 1) == "background: rgba(31, 95, 160, 0.20); color: inherit"
    _, page = report
    confusion = page[page.index('<section id="confusion"'):]
    confusion = confusion[:confusion.index("</section>")]
    assert confusion.count("<table") == 4 and "<img" not in confusion  # 2 protocols x 2 models
    assert 'style="background: rgba(31, 95, 160, ' in confusion

