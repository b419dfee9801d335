"""The dashboard and the API on a regression run (simulated proportional control): its own
metrics, no prediction of classes."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.web import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    config = load_config("examples/regression.yaml", ["dataset.n_subjects=2", "dataset.n_repetitions=4",
                                                      "dataset.duration=1.0", "models=[ridge]", "protocols=[cross_session]",
                                                      "evaluation.n_boot=20", "execution.cache=false"])
    run(config, runs / "effort")
    with TestClient(create_app(runs)) as c:
        yield c


def test_a_regression_run_is_summed_up_by_r2(client):
    (listed,) = client.get("/api/v1/runs").json()
    assert listed["headline"]["metric"] == "r2" and np.isfinite(listed["headline"]["mean"])
    assert "R² <strong>" in client.get("/runs").text


def test_the_run_page_shows_the_regression_metrics_and_offers_no_class_prediction(client):
    page = client.get("/runs/effort").text
    assert all(f"<th>{name}</th>" in page for name in ("R²", "RMSE", "MAE", "Pearson r"))
    assert "<th>accuracy" not in page and "predict with it" not in page


def test_the_prediction_api_refuses_a_regressor_with_a_message(client):
    signal = {"data": np.zeros((8, 1000)).tolist(), "fs": 1000.0, "channels": [f"EMG{i}" for i in range(1, 9)]}
    answer = client.post("/api/v1/models/effort/ridge/predict-array", json={"signals": {"emg": signal}})
    assert answer.status_code == 422
    assert "predicts a continuous value" in answer.json()["detail"]


def test_the_model_pages_show_its_validation_in_its_own_metrics(client):
    card = client.get("/models/effort/ridge").text
    assert "<th>R²</th>" in card and "A continuous value for each window" in card and "Predict with this model" not in card
    listed = client.get("/models").text
    assert "r2" not in listed and "R² " in listed
