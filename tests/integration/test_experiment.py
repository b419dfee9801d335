import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bmelearn.cli import app
from bmelearn.errors import ConfigError, DataError
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.serving import load_model

SMALL = [
    "dataset.n_subjects=3",
    "dataset.n_repetitions=2",
    "dataset.duration=1.5",
    "models=[lda, knn]",
    "protocols=[cross_session, loso]",
]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    return run(load_config(None, SMALL), out)


def test_run_folder_holds_every_artifact(small_run):
    folder = small_run.folder
    for name in ("config.yaml", "results.csv", "results.parquet", "confusion.csv", "predictions.parquet", "comparisons.csv",
                 "summary.json", "report.html", "run.json"):
        assert (folder / name).is_file(), name
    assert sorted(p.name for p in (folder / "models").iterdir()) == ["knn.json", "knn.skops", "lda.json", "lda.skops"]
    assert not list(folder.parent.glob(".*partial"))


def test_results_table_is_tidy_and_consistent(small_run):
    results = pd.read_csv(small_run.folder / "results.csv")
    assert list(results.columns) == ["dataset", "pipeline", "protocol", "subject", "metric", "class", "value", "ci_low",
                                     "ci_high"]
    assert set(results["pipeline"]) == {"lda", "knn"} and set(results["protocol"]) == {"cross_session", "loso"}
    parquet = pd.read_parquet(small_run.folder / "results.parquet")
    np.testing.assert_allclose(parquet["value"], results["value"])
    summary = json.loads((small_run.folder / "summary.json").read_text())
    loso = results[(results.protocol == "loso") & (results.pipeline == "lda") & (results.metric == "accuracy")]
    assert summary["protocols"]["loso"]["lda"]["accuracy"]["mean"] == pytest.approx(loso["value"].mean())
    report = (small_run.folder / "report.html").read_text()
    assert "hand close" in report and "Cross-session" in report and "data:image/png;base64," in report
    assert "band-pass filtered between 20 and 450 Hz and cleaned of 50 Hz mains interference" in report


def test_same_seed_same_numbers(small_run, tmp_path):
    again = run(load_config(None, SMALL), tmp_path / "again")
    pd.testing.assert_frame_equal(again.results, small_run.results)
    other = run(load_config(None, [*SMALL, "seed=1"]), tmp_path / "other")
    accuracy = [r[r.metric == "accuracy"]["value"].to_numpy() for r in (other.results, small_run.results)]
    assert not np.allclose(*accuracy)


def test_saved_model_predicts_like_the_run(small_run):
    model = load_model(small_run.folder / "models" / "lda.skops")
    card = model.card()
    assert card["classes"][0] == "rest"
    assert card["signals"]["emg"]["fs"] == 1000.0 and len(card["signals"]["emg"]["channels"]) == 8
    assert card["features"] == {"emg": ["MAV", "ZC", "SSC", "WL", "RMS"], "acc": ["MAV"]}
    assert model.estimator.n_features_in_ == len(card["feature_names"]) == 8 * 5 + 3
    assert 0 < card["validated"]["loso"]["accuracy"] < 1


def _is_fit(path) -> bool:
    """Whether a unit file holds a fit (not a subject's scoring)."""
    with np.load(path) as unit:
        return "fit_seconds" in unit.files


@pytest.mark.parametrize("cached", [True, False])
def test_failed_run_leaves_no_complete_looking_folder(tmp_path, monkeypatch, cached):
    import bmelearn.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    config = [*SMALL, f"execution.cache={str(cached).lower()}"]
    monkeypatch.setattr(report, "write_report", broken)  # the run imports it when it writes the report
    with pytest.raises(RuntimeError, match="disk full"):
        run(load_config(None, config), tmp_path / "broken")
    # only the completed units remain: 2 models x (3 cross-session + 3 loso folds) fits, in the
    # cache (with the features, for any later run) or, without it, in the hidden unfinished folder
    left = sorted(p.name for p in tmp_path.iterdir())
    if cached:
        assert left == [".cache"]
        units = tmp_path / ".cache" / "fits"
    else:
        assert left == [".broken.partial"]
        assert [p.name for p in (tmp_path / ".broken.partial").iterdir()] == ["units"]
        units = tmp_path / ".broken.partial" / "units"
    assert sum(_is_fit(f) for f in units.glob("*.npz")) == 2 * (3 + 3)
    monkeypatch.undo()
    stages = []
    resumed = run(load_config(None, config), tmp_path / "broken", lambda stage, done, total: stages.append(stage))
    assert sum("(done before)" in s for s in stages) == 2 * (3 + 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([".cache"] if cached else []) + ["broken"]
    assert not (tmp_path / "broken" / "units").exists()
    fresh = run(load_config(None, [*SMALL, "execution.cache=false"]), tmp_path / "fresh")
    pd.testing.assert_frame_equal(resumed.results, fresh.results)


def test_existing_run_folder_is_not_overwritten_silently(small_run):
    with pytest.raises(ConfigError, match="--overwrite"):
        run(load_config(None, SMALL), small_run.folder)


def test_missing_modality_is_a_clear_error(tmp_path, shared_data):
    cfg = load_config("examples/3dc.yaml", [f"dataset.path={shared_data / '3dc'}", "features={emg: [HTD], acc: [MAV]}"])
    with pytest.raises(ConfigError, match=r"modalities \['acc'\] are not in dataset '3dc'"):
        run(cfg, tmp_path / "x")


LIBEMG_SHOWCASE = {  # published LDA cross-session accuracy on 3DC participants 1-4 (LibEMG feature showcase)
    "HTD": (90.3, 81.3, 78.6, 88.7),
    "LS9": (92.1, 86.8, 79.9, 89.8),
    "TDPSD": (90.8, 83.9, 78.1, 91.2),
    "TDAR": (90.8, 84.5, 80.0, 91.5),
}


@pytest.mark.parametrize("group", sorted(LIBEMG_SHOWCASE))
def test_3dc_example_reproduces_libemg_within_two_points(group, tmp_path, shared_data):
    cfg = load_config("examples/3dc.yaml", [f"dataset.path={shared_data / '3dc'}", f"features=[{group}]"])
    result = run(cfg, tmp_path / "3dc")
    per_subject = result.summary["cross_session"]["lda"]["accuracy"]["per_subject"]
    published = dict(zip("1234", LIBEMG_SHOWCASE[group], strict=True))
    for subject, reference in published.items():
        assert 100 * per_subject[subject]["value"] == pytest.approx(reference, abs=2.0)


def test_cli_run_and_datasets(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["run", "--out", str(out), *[a for s in SMALL for a in ("--set", s)], "--set", "models=[lda]",
                                 "--profile"])
    assert result.exit_code == 0, result.output
    assert "Cross-session" in result.output and "LDA" in result.output and (out / "report.html").is_file()
    # output to a file, not a terminal: one line per stage as it ends, with its count and time
    stages = [line.split(":")[0] for line in result.output.splitlines() if re.fullmatch(r"[a-z ]+: (\d+ done, )?\d+\.\d s", line)]
    assert stages == ["loading dataset", "checking signal quality", "features", "evaluating", "scoring", "summarizing",
                      "final models", "writing the report"]
    assert re.search(r"^features: 84 done, \d+\.\d s$", result.output, re.MULTILINE)  # 3 subjects, 2 sessions, 14 trials
    assert re.search(r"^evaluating: 6 done, ", result.output, re.MULTILINE)  # a fold per subject in each protocol
    timed = json.loads((out / "run.json").read_text())["stages"]  # --profile prints them too
    assert [s["stage"] for s in timed] == stages and all(s["seconds"] >= 0 and s["peak_mb"] > 0 for s in timed)
    assert "Where the time went" in result.output
    listing = runner.invoke(app, ["datasets"])
    assert listing.exit_code == 0 and "3dc" in listing.output and "simulator" in listing.output


def test_cli_bad_input_is_a_message_not_a_traceback(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("windows: {lenght: 0.2}\n")
    result = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "windows.lenght: unknown key" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["run", "examples/3dc.yaml", "--set", "dataset.path=/nonexistent", "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "/nonexistent: folder not found" in result.output
    assert not (tmp_path / "p").exists()


def test_flat_channel_is_excluded_and_reported(tmp_path):
    cfg = load_config(None, [*SMALL, "dataset.dead_channels=[2]", "models=[lda]", "protocols=[cross_session]"])
    # the simulator's dead channel carries a noise floor; make one truly flat to exercise the exclusion
    import bmelearn.runs.plan as plan
    from bmelearn.datasets import load_dataset as real_load

    def with_flat(name, **options):
        rs = real_load(name, **options)
        return rs.like(r.with_data(np.where(np.arange(r.n_channels)[:, None] == 2, 0.0, r.data)) if r.modality == "emg" else r for r in rs)

    original = plan.load_dataset
    plan.load_dataset = with_flat
    try:
        result = run(cfg, tmp_path / "flat")
    finally:
        plan.load_dataset = original
    info = json.loads((result.folder / "run.json").read_text())
    assert any("channel EMG3 (emg) is flat" in n for n in info["notes"])
    card = load_model(result.folder / "models" / "lda.skops").card()
    assert "EMG3" not in card["signals"]["emg"]["channels"] and len(card["signals"]["emg"]["channels"]) == 7
    assert "EMG3" in (result.folder / "report.html").read_text()


def test_unreadable_dataset_file_names_it(tmp_path):
    root = tmp_path / "data" / "trial_1"
    root.mkdir(parents=True)
    (root / "R_0_C_0.csv").write_text("1,2,3,4,5,6,7,8\n1,2,3,4,oops,6,7,8\n")
    cfg = load_config("examples/one-subject-myo.yaml", [f"dataset.path={tmp_path / 'data'}", "protocols=[loso]"])
    with pytest.raises(DataError, match=r"R_0_C_0.csv, line 2: .*'oops' is not a number"):
        run(cfg, tmp_path / "out")
