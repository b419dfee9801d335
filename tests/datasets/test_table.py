"""The ``table`` dataset: a CSV file of one row per patient, read as one-sample recordings; what
its header and label column tell before it is read, and errors that name the file, the line
and the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bmelearn.cli import app
from bmelearn.datasets import check_dataset, load_dataset
from bmelearn.errors import ConfigError, DataError
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import validate_config
from bmelearn.runs.experiment import run

#: Six patients: a text column, two numeric ones, a 0/1 label; Q2 has two rows (two visits).
CSV = """patient,sex,sbp,bmi,mi
Q1,f,121,24.5,0
Q2,m,152,31.25,1
Q3,f,133,27,0
Q2,m,149,30.5,1
Q4,m,118,22.75,0
Q5,f,161,35.5,1
"""


def _write(tmp_path, text: str = CSV):
    path = tmp_path / "cohort.csv"
    path.write_text(text)
    return path


def test_each_row_is_a_recording_of_its_values(tmp_path):
    path = _write(tmp_path)
    with pytest.warns(UserWarning, match=r"columns \['sex'\] hold no numbers; they are left out"):
        data = load_dataset("table", path=str(path), label="mi", id="patient")
    table = pd.read_csv(path)
    assert [r.ch_names for r in data] == [("sbp", "bmi")] * 6 and data.modalities == ["clinical"]
    np.testing.assert_array_equal(np.stack([r.data[:, 0] for r in data]), table[["sbp", "bmi"]].to_numpy(float))
    meta = data.meta
    assert list(meta["subject"]) == ["Q1", "Q2", "Q3", "Q2", "Q4", "Q5"]
    assert list(meta["label"]) == ["0", "1", "0", "1", "0", "1"] and data.classes == ["0", "1"]
    assert list(meta["repetition"]) == [0, 0, 0, 1, 0, 0] and meta["trial"].is_unique  # Q2's second visit


def test_chosen_columns_and_class_names(tmp_path):
    path = _write(tmp_path)
    data = load_dataset("table", path=str(path), label="mi", columns=["bmi"], classes={1: "infarction", 0: "none"})
    assert [r.data[0, 0] for r in data] == [24.5, 31.25, 27.0, 30.5, 22.75, 35.5] and data[0].ch_names == ("bmi",)
    assert data.classes == ["infarction", "none"] and [r.meta["label"] for r in data][:2] == ["none", "infarction"]
    assert list(data.meta["subject"]) == ["0001", "0002", "0003", "0004", "0005", "0006"]  # the row numbers
    by_sex = load_dataset("table", path=str(path), label="sex", columns=["sbp"], classes=["m"] + ["f"])
    assert by_sex.classes == ["m", "f"]


def test_the_description_is_known_from_the_label_and_id_columns(tmp_path):
    path = _write(tmp_path)
    described = check_dataset("table", {"path": str(path), "label": "mi", "id": "patient"})
    assert dict(described.rates) == {"clinical": 1.0} and described.sessions == ["visit"]
    assert described.classes == ["0", "1"] and described.subjects == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    numbers = _write(tmp_path, "x,stage\n1,10\n2,2\n3,2\n")
    assert check_dataset("table", {"path": str(numbers), "label": "stage"}).classes == ["2", "10"]  # by value


@pytest.mark.parametrize("text, options, message", [
    (CSV, {"label": "outcome"}, r"dataset.label: .*cohort.csv has no column 'outcome'; its columns are "
                                r"\['patient', 'sex', 'sbp', 'bmi', 'mi'\]\.$"),
    (CSV, {"label": "mi", "id": "name"}, r"dataset.id: .*cohort.csv has no column 'name'"),
    (CSV, {"label": "mi", "columns": ["sbp", "dbp"]}, r"dataset.columns: .*cohort.csv has no column 'dbp'"),
    (CSV, {"label": "mi", "columns": ["sbp", "mi"]}, r"dataset.columns: 'mi' is the label column"),
    (CSV, {"label": "mi", "id": "patient", "columns": ["sbp", "patient"]}, r"dataset.columns: 'patient' is the id column"),
    (CSV, {"label": "mi", "id": "mi"}, r"dataset.id: 'mi' is the label column \(dataset.label\); name the column"),
    (CSV, {"label": "mi", "columns": ["sex"]}, r"cohort.csv, line 2, column 'sex': 'f' is not a number"),
    ("sbp,mi\n120,0\n\n130,1\n13O,1\n", {"label": "mi"}, r"cohort.csv, line 5, column 'sbp': '13O' is not a number"),
    ("sbp,bmi,mi\n120,25,0\n130,,1\n", {"label": "mi"}, r"cohort.csv, line 3, column 'bmi': no value"),
    ("sbp,mi\n120,0\n130,\n140,1\n", {"label": "mi"}, r"cohort.csv, line 3, column 'mi': no label"),
    ("sbp,mi\n120,0\n130,0\n", {"label": "mi"}, r"cohort.csv: column 'mi' holds 1 class\(es\) \['0'\]; a classifier "
                                               r"needs at least 2"),
    (CSV, {"label": "mi", "classes": {0: "none", 2: "stroke"}}, r"dataset.classes: \['2'\] are not labels in column "
                                                                r"'mi' of .*cohort.csv; its labels are \['0', '1'\]"),
    ("", {"label": "mi"}, r"cohort.csv: not a CSV table with a header line"),
    ("age,sbp,age,mi\n60,120,61,0\n70,130,71,1\n", {"label": "mi"},
     r"cohort.csv, line 1: columns \['age'\] are named more than once"),
    ("age;sbp;mi\n60;120;0\n70;130;1\n", {"label": "mi"}, r"cohort.csv: its header 'age;sbp;mi' is one column: "
                                                          r"the values are separated by ';', not commas"),
    ("sbp,mi\n120,0\n130,1\nNA,1\n", {"label": "mi"}, r"cohort.csv, line 4, column 'sbp': 'NA' is not a number"),
])
def test_a_bad_table_is_named_with_its_line_and_column(tmp_path, text, options, message):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        load_dataset("table", path=str(path), **options)


def test_labels_that_pandas_would_read_as_missing_are_labels(tmp_path):
    path = _write(tmp_path, "sbp,severity\n120,None\n130,NA\n140,null\n150,None\n")
    recordings = load_dataset("table", path=str(path), label="severity")
    assert recordings.classes == ["NA", "None", "null"]
    assert [r.meta["label"] for r in recordings] == ["None", "NA", "null", "None"]


def test_a_row_counter_and_rows_of_other_classes_are_said(tmp_path):
    path = _write(tmp_path, "number,sbp,mi\n1,120,0\n2,130,1\n3,125,2\n4,140,1\n")
    with pytest.warns(UserWarning) as said:
        load_dataset("table", path=str(path), label="mi", classes=["0", "1"])
    assert "column 'number' counts the rows (1, 2, 3, ...)" in str(said[0].message)
    assert "1 row(s) whose label is not in dataset.classes are left out" in str(said[1].message)
    with pytest.warns(UserWarning, match=r"1 row\(s\) whose label is not in dataset.classes are left out"):
        recordings = load_dataset("table", path=str(path), label="mi", id="number", classes=["0", "1"])
    assert len(recordings) == 3


def test_a_missing_file_is_refused_when_the_experiment_is_checked(tmp_path):
    raw = {"dataset": {"name": "table", "path": str(tmp_path / "none.csv"), "label": "mi"}, "windows": "whole",
           "features": {"clinical": ["MEAN"]}, "protocols": ["subject_kfold"]}
    with pytest.raises(ConfigError, match=r"dataset.path: .*none.csv is not a file; give the path of the CSV table"):
        validate_config(raw)
    path = _write(tmp_path)
    with pytest.raises(ConfigError, match=r"n_splits: 6 is not a number of folds here; 'table' has 5 subjects"):
        validate_config(raw | {"dataset": {"name": "table", "path": str(path), "label": "mi", "id": "patient"},
                               "protocols": [{"subject_kfold": {"n_splits": 6}}]})


def test_a_bad_table_is_a_message_without_a_traceback(tmp_path):
    path = _write(tmp_path, "sbp,mi\n120,0\n1 30,1\n")
    config = tmp_path / "table.yaml"
    config.write_text(f"dataset: {{name: table, path: {path}, label: mi}}\nwindows: whole\n"
                      "features: {clinical: [MEAN]}\nprotocols: [subject_kfold]\n")
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "line 3, column 'sbp': '1 30' is not a number" in " ".join(result.output.split())


def test_a_table_runs_end_to_end_with_its_patients_held_out(tmp_path):
    """A risk that grows with sbp, learnt by logistic regression: patients are held out whole, and
    a model given the variable that decides the class ranks the patients far better than chance."""
    rng = np.random.default_rng(0)
    n = 120
    sbp = rng.normal(135, 15, n).round(1)
    noise = rng.normal(0, 1, n).round(3)
    mi = (rng.random(n) < 1 / (1 + np.exp(-(sbp - 135) / 4))).astype(int)
    patients = [f"P{i // 2:03d}" for i in range(n)]  # two rows of each patient
    path = tmp_path / "cohort.csv"
    pd.DataFrame({"patient": patients, "sbp": sbp, "noise": noise, "mi": mi}).to_csv(path, index=False)
    config = validate_config({
        "dataset": {"name": "table", "path": str(path), "label": "mi", "id": "patient", "classes": {0: "no", 1: "yes"}},
        "windows": "whole", "features": {"clinical": ["MEAN"]}, "models": ["logreg"],
        "protocols": [{"subject_kfold": {"n_splits": 3}}], "evaluation": {"positive": "yes", "n_boot": 50},
        "execution": {"backend": "sequential", "cache": False}})
    folder = run(config, tmp_path / "run").folder
    predictions = pd.read_parquet(folder / run_folder.PREDICTIONS)
    assert len(predictions) == n and set(predictions["subject"]) == set(patients)
    assert (predictions.groupby("subject")["fold"].nunique() == 1).all()  # both rows of a patient in one fold
    truth = dict(zip(predictions["trial"], predictions["true"], strict=True))
    assert [truth[f"{i + 1:04d}"] for i in range(n)] == ["yes" if m else "no" for m in mi]
    results = run_folder.read_table(folder, run_folder.RESULTS)
    auc = results[(results["metric"] == "roc_auc") & (results["class"] == "yes")]["value"].item()
    assert auc > 0.85
